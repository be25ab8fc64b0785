"""Synthesis truth: stored syntheses at random label points as the true spectra of a study.

A synthesis-truth folder is a node grid in the project's format (``manifest.json`` +
``<instrument>/chunk_*.npz``) whose "nodes" are random points, not a lattice: each test
case takes one stored spectrum *as synthesized* (no interpolation), rotates it with the
case's v sin i and leaves the rest to the observation model. The points file the campaign
synthesized from (``truth-points-<version>.txt``) marks each point ``in`` (inside the
shipped bundles' box) or ``out:<group>`` (outside it, for scoring flags).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zeta_payne.grids.nodes import NodeGrid, label_keys

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle

__all__ = ["SynthesisGenerator", "default_points_file", "point_kinds", "read_truth_points", "synthesis_cases"]


def read_truth_points(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """Label points and their kinds from a truth-points file.

    Each non-comment line is ``teff logg m_h  # kind`` (kind ``in`` or ``out:<group>``;
    ``in`` when absent).

    Returns
    -------
    labels : numpy.ndarray, shape (M, 3)
        teff [K], logg [dex], m_h [dex].
    kinds : list of str, length M
    """
    labels, kinds = [], []
    for line in Path(path).read_text().splitlines():
        body, _, comment = line.partition("#")
        if not body.strip():
            continue
        labels.append([float(v) for v in body.split()[:3]])
        kinds.append(comment.strip().split()[0] if comment.strip() else "in")
    return np.asarray(labels, dtype=float).reshape(-1, 3), kinds


def default_points_file(truth: str | Path) -> Path | None:
    """The points file of a truth folder ``…/synth-truth-<v>``: ``…/truth-points-<v>.txt``, if present."""
    truth = Path(truth)
    name = truth.name.replace("synth-truth", "truth-points") + ".txt"
    for candidate in (truth / name, truth.parent / name):
        if candidate.is_file():
            return candidate
    return None


def point_kinds(
    stored: np.ndarray,
    points: tuple[np.ndarray, Sequence[str]] | None = None,
    box: Sequence[tuple[float, float]] | None = None,
) -> list[str]:
    """The kind of each stored point: from the points file, else by the box.

    Parameters
    ----------
    stored : numpy.ndarray, shape (M, 3)
        teff, logg, m_h of the stored syntheses.
    points : (labels, kinds), optional
        A points file's contents (:func:`read_truth_points`); stored points it does not list
        are classified by ``box``.
    box : sequence of (lower, upper), optional
        teff, logg, m_h bounds (the bundle's box). A point the points file calls inside
        (``in``, or ``in:<version>-<group>``: inside that version's wider box only) is ``in``
        inside these bounds and ``out:<group>`` outside them (``out:box`` for plain ``in``).
        Without ``box`` every ``in…`` point is ``in``.

    Returns
    -------
    list of str, length M
        ``in`` or ``out:<group>``.

    Examples
    --------
    A v3 points file's ``in:v3-metal-poor`` point is ``out:metal-poor`` for a bundle whose box
    stops at [M/H] −0.8 and ``in`` for one that reaches −2.
    """
    known: dict[tuple, str] = {}
    if points is not None:
        known = {tuple(k): kind for k, kind in zip(label_keys(points[0]), points[1], strict=True)}
    out = []
    for row, key in zip(np.atleast_2d(stored), label_keys(stored), strict=True):
        kind = known.get(tuple(key), "in")
        if kind != "in" and not kind.startswith("in:"):
            out.append(kind)
            continue
        inside = box is None or all(lo <= v <= hi for v, (lo, hi) in zip(row, box, strict=True))
        group = kind.partition(":")[2].partition("-")[2] or "box"
        out.append("in" if inside else f"out:{group}")
    return out


def synthesis_cases(
    stored: np.ndarray,
    bundle: Bundle,
    n: int,
    seed: int,
    rv_range: tuple[float, float] = (-50.0, 50.0),
    v_sini_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test cases on stored truth points: teff, logg, m_h from the point, v sin i and RV drawn.

    Case ``i`` uses point ``i mod M``, so with ``n > M`` every point serves several cases,
    each with its own v sin i, RV (a 2-D Sobol sequence over the bundle's v sin i range and
    ``rv_range``) and noise; labels the bundle fixes take their fixed values.

    Parameters
    ----------
    stored : numpy.ndarray, shape (M, 3)
        teff, logg, m_h of the truth points to use.
    bundle : zeta_payne.bundles.bundle.Bundle
        The bundle under test (its label order, v sin i range and fixed labels).
    n : int
        Number of cases.
    seed : int
    rv_range : (float, float)
        RV range of the cases [km/s].
    v_sini_range : (float, float), optional
        v sin i range of the cases [km/s]; None (default) means the bundle's whole range.
        It must lie inside the bundle's range.

    Returns
    -------
    labels : numpy.ndarray, shape (n, L)
        In the bundle's label order.
    rv : numpy.ndarray, shape (n,)
        [km/s]
    point : numpy.ndarray of int, shape (n,)
        Row of ``stored`` each case uses.
    """
    from zeta_payne.fitting.presearch import sobol_unit

    stored = np.atleast_2d(np.asarray(stored, dtype=float))
    if len(stored) == 0:
        raise ValueError("no truth points to draw test cases from")
    specs = bundle.labels
    names = [s.name for s in specs]
    point = np.arange(n) % len(stored)
    unit = sobol_unit(2, n, 20_000 + seed)
    labels = np.array(
        [[s.value if s.value is not None else 0.5 * (s.lower + s.upper) for s in specs]] * n, dtype=float
    ).reshape(n, len(specs))
    for j, name in enumerate(("teff", "logg", "m_h")):
        labels[:, names.index(name)] = stored[point, j]
    if "v_sini" in names:
        vs = specs[names.index("v_sini")]
        if vs.free:
            lo, hi = (vs.lower, vs.upper) if v_sini_range is None else map(float, v_sini_range)
            if not vs.lower <= lo <= hi <= vs.upper:
                raise ValueError(
                    f"v sin i range {lo}–{hi} km/s is not inside the bundle's "
                    f"{vs.lower}–{vs.upper} km/s"
                )
            labels[:, names.index("v_sini")] = lo + unit[:, 0] * (hi - lo)
    rv = rv_range[0] + unit[:, 1] * (rv_range[1] - rv_range[0])
    return labels, rv, point


class SynthesisGenerator:
    """Stored syntheses, looked up by their exact labels, rotated with the case's v sin i.

    Parameters
    ----------
    grid : zeta_payne.grids.nodes.NodeGrid
        The truth folder of one instrument (vacuum, uniform ln λ, at its R_model).
    label_names : sequence of str
        Columns of the labels passed in (must contain teff, logg, m_h; v_sini if rotating).
    resolution : float or None
        R_model (default: the manifest's).
    epsilon : float
        Linear limb-darkening coefficient of the rotation profile.
    continuum : zeta_payne.grids.nodes.NodeGrid, optional
        The truth set's own continuum jump factors (``zeta-payne grid continuum TRUTH``: the
        same points, the same wavelengths): the rotated syntheses are multiplied by them, so
        the true spectra carry the Balmer and Paschen jumps of a flux-calibrated spectrum.
    """

    def __init__(
        self,
        grid: NodeGrid,
        label_names: Sequence[str],
        resolution: float | None = None,
        epsilon: float = 0.6,
        continuum: NodeGrid | None = None,
    ) -> None:
        self.grid = grid
        self.continuum = continuum
        self.label_names = tuple(label_names)
        self.wavelength = np.asarray(grid.wavelength, dtype=float)
        if resolution is None:
            instruments = (grid.manifest or {}).get("instruments", {})
            values = [
                v.get("R_model")
                for v in instruments.values()
                if v.get("npix") == grid.npix and v.get("R_model")
            ]
            resolution = float(values[0]) if values else None
        self.resolution = resolution
        self.epsilon = epsilon
        self._cols = [self.label_names.index(n) for n in ("teff", "logg", "m_h")]
        self._vsini = self.label_names.index("v_sini") if "v_sini" in self.label_names else None
        self._row = {tuple(k): i for i, k in enumerate(label_keys(grid.labels))}
        if continuum is not None:
            if continuum.wavelength.shape != self.wavelength.shape or not np.allclose(
                continuum.wavelength, self.wavelength, rtol=1e-9
            ):
                raise ValueError("the truth's continuum grid is on other wavelengths than the truth")
            self._cont_row = {tuple(k): i for i, k in enumerate(label_keys(continuum.labels))}

    def rows(self, labels: np.ndarray) -> np.ndarray:
        """Row of the stored synthesis of each label row, shape (M,) (KeyError if not stored)."""
        lab = np.atleast_2d(np.asarray(labels, dtype=float))
        keys = label_keys(lab[:, self._cols])
        missing = [tuple(k) for k in keys if tuple(k) not in self._row]
        if missing:
            raise KeyError(f"no stored synthesis at {len(missing)} label point(s), e.g. {missing[0]}")
        return np.array([self._row[tuple(k)] for k in keys])

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        """Spectra ``(M, P)`` for labels ``(M, L)``: stored syntheses, rotated."""
        from zeta_payne.grids.rotation import rotate

        lab = np.atleast_2d(np.asarray(labels, dtype=float))
        flux = self.grid.flux[self.rows(lab)].astype(np.float64)
        if self._vsini is not None:
            flux = rotate(self.wavelength, flux, np.clip(lab[:, self._vsini], 0.0, None), self.epsilon)
        if self.continuum is not None:
            keys = [tuple(k) for k in label_keys(lab[:, self._cols])]
            absent = [k for k in keys if k not in self._cont_row]
            if absent:
                raise KeyError(f"no continuum at {len(absent)} truth point(s), e.g. {absent[0]}")
            flux = flux * self.continuum.flux[[self._cont_row[k] for k in keys]]
        return flux
