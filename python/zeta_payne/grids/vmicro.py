"""The v_micro response: microturbulence as a fourth label, from grids at other v_micro values.

A node grid is synthesized at one microturbulence (the v3 grid at 2 km/s, its manifest's
``fixed_labels.v_micro``: the *reference*). Grids at other values (v3: 1 and 4 km/s on a
coarse sub-lattice below 11 kK, 3 km/s at four nodes) give the *response*: the node spectrum
at v_micro v minus the reference grid's spectrum at the same (teff, logg, [M/H]).
:class:`VMicroResponse` interpolates it, so that::

    spectrum(teff, logg, m_h, v_micro) = reference(teff, logg, m_h) + response(teff, logg, m_h, v_micro)

* in (teff, logg, [M/H]): multilinearly on each grid's complete lattice (the coarse
  sub-lattice; nodes between its values are *check nodes*: not used, they measure the
  interpolation, :func:`check_node_errors`);
* in v_micro: piecewise-linearly through the values that can serve the query — the
  reference (response 0 by definition) and every grid with a complete cell around it (a grid
  of a few scattered nodes, like v3's 3 km/s, serves only at its nodes); beyond the outermost
  value the outermost response is kept (a bundle's v_micro box is the values' range);
* outside the lattices' box in log g and [M/H], and below it in teff: at the nearest point
  of the box (constant; the v3 lattice spans the whole v3 box in log g and [M/H]);
* above the lattices' highest teff ``t_hi``: tapered linearly from the response at ``t_hi``
  to 0 at ``t_hi + taper`` (by default the reference grid's next teff value, 11 kK for v3:
  the multilinear interpolation towards a zero response there) and 0 beyond. There the
  spectra do not depend on v_micro: v_micro is not constrained by the training data and a fit
  must hold it fixed. :attr:`VMicroResponse.teff_range` is the range where it is meaningful.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import GridError
from .nodes import NodeGrid, complete_lattice, label_keys, load_node_grid

__all__ = [
    "VMicroResponse",
    "build_vmicro_response",
    "check_node_errors",
    "grid_v_micro",
    "load_vmicro_response",
    "summarize_check_errors",
]

log = logging.getLogger(__name__)


def grid_v_micro(grid: NodeGrid) -> float:
    """The microturbulence [km/s] a node grid was synthesized at (``fixed_labels.v_micro``).

    Raises
    ------
    GridError
        If the grid's manifest does not state it.
    """
    fixed = (grid.manifest or {}).get("fixed_labels") or {}
    if "v_micro" not in fixed:
        raise GridError(f"grid {grid.manifest.get('name', '?')!r}: no fixed_labels.v_micro in its manifest")
    return float(fixed["v_micro"])


@dataclass
class VMicroResponse:
    """The interpolated v_micro response of a reference node grid (see the module docstring).

    Attributes
    ----------
    reference : float
        v_micro of the reference grid [km/s] (response 0).
    lattices : dict of float to NodeGrid
        Response (Δflux) on the complete lattice of each grid that has one, by v_micro
        [km/s]; the lattice is the grid's only level.
    points : dict of float to NodeGrid
        Response at the nodes of grids without a complete lattice (served only at their
        nodes), by v_micro.
    nodes : dict of float to NodeGrid
        Every response node of every grid (lattice and check nodes), by v_micro.
    lower, upper : numpy.ndarray, shape (3,)
        The box of (teff [K], logg, m_h) that every lattice covers.
    taper : float
        Width [K] over which the response falls to 0 above ``upper[0]``.
    wavelength : numpy.ndarray, shape (P,)
        Pixel wavelengths [Å], those of the reference grid.
    grid_names : dict of float to str
        Name of the grid of each v_micro value.
    """

    reference: float
    lattices: dict[float, NodeGrid]
    points: dict[float, NodeGrid]
    nodes: dict[float, NodeGrid]
    lower: np.ndarray
    upper: np.ndarray
    taper: float
    wavelength: np.ndarray
    grid_names: dict[float, str] = field(default_factory=dict)

    @property
    def values(self) -> tuple[float, ...]:
        """Every v_micro knot [km/s], the reference's included, sorted."""
        return tuple(sorted({self.reference, *self.lattices, *self.points}))

    @property
    def v_micro_range(self) -> tuple[float, float]:
        """Lowest and highest v_micro [km/s] with a response lattice (or the reference)."""
        vals = [self.reference, *self.lattices]
        return float(min(vals)), float(max(vals))

    @property
    def teff_range(self) -> tuple[float, float]:
        """teff range [K] where v_micro changes the spectra fully (the lattices' teff span)."""
        return float(self.lower[0]), float(self.upper[0])

    def lattice_axes(self, v_micro: float) -> dict[str, list[float]]:
        """The (teff, logg, m_h) axes of the response lattice at ``v_micro`` (JSON-ready)."""
        axes = self.lattices[v_micro].levels[-1]
        return {name: [float(x) for x in a] for name, a in zip(("teff", "logg", "m_h"), axes, strict=True)}

    def check_labels(self, v_micro: float) -> np.ndarray:
        """Labels (teff, logg, m_h) of the check nodes at ``v_micro``: nodes off its lattice, (n, 3)."""
        on = {tuple(k) for k in label_keys(self.lattices[v_micro].labels)}
        labels = self.nodes[v_micro].labels
        return labels[[tuple(k) not in on for k in label_keys(labels)]]

    def __call__(self, labels: np.ndarray) -> np.ndarray:
        """The response at (teff, logg, m_h, v_micro).

        Parameters
        ----------
        labels : numpy.ndarray, shape (M, 4) or (4,)
            teff [K], logg [dex], m_h [dex], v_micro [km/s].

        Returns
        -------
        numpy.ndarray, shape (M, P), float32
            Δflux to add to the reference grid's interpolated spectrum (continuum = 1).
        """
        lab = np.atleast_2d(np.asarray(labels, dtype=np.float64))
        if lab.shape[1] != 4:
            raise GridError(f"labels must have shape (M, 4), got {lab.shape}")
        q = np.clip(lab[:, :3], self.lower, self.upper)
        v = lab[:, 3]
        knots = np.array(self.values)
        m = lab.shape[0]
        resp = np.zeros((knots.size, m, self.wavelength.size), dtype=np.float32)
        avail = np.zeros((knots.size, m), dtype=bool)
        for k, value in enumerate(knots):
            if value == self.reference:
                avail[k] = True
                continue
            grid = self.lattices[value] if value in self.lattices else self.points[value]
            r = grid.interpolate(q, missing="nan")
            ok = np.all(np.isfinite(r), axis=1)
            resp[k, ok] = r[ok]
            avail[k] = ok
        below = avail & (knots[:, None] <= v[None, :] + 1e-9)
        above = avail & (knots[:, None] >= v[None, :] - 1e-9)
        last_below = knots.size - 1 - np.argmax(below[::-1], axis=0)
        first_above = np.argmax(above, axis=0)
        lo = np.where(below.any(axis=0), last_below, first_above)
        hi = np.where(above.any(axis=0), first_above, lo)
        v_lo, v_hi = knots[lo], knots[hi]
        span = np.where(v_hi > v_lo, v_hi - v_lo, 1.0)
        w = np.where(v_hi > v_lo, (v - v_lo) / span, 0.0)
        rows = np.arange(m)
        out = (1.0 - w)[:, None] * resp[lo, rows] + w[:, None] * resp[hi, rows]
        t_hi = self.upper[0]
        if self.taper > 0:
            scale = np.clip(1.0 - (lab[:, 0] - t_hi) / self.taper, 0.0, 1.0)
        else:
            scale = (lab[:, 0] <= t_hi + 1e-6).astype(float)
        return (out * scale[:, None]).astype(np.float32)


def build_vmicro_response(
    reference: NodeGrid, grids: Sequence[NodeGrid], taper: float | None = None
) -> VMicroResponse:
    """The v_micro response of ``reference`` from grids synthesized at other v_micro values.

    Parameters
    ----------
    reference : NodeGrid
        The main grid (its manifest's ``fixed_labels.v_micro`` is the reference value).
    grids : sequence of NodeGrid
        Grids at other v_micro values (each states its own), on the reference's wavelength
        grid. Their nodes without a reference node at the same labels are left out.
    taper : float, optional
        Width [K] of the fall to 0 above the lattices' highest teff; default: the distance to
        the reference grid's next teff value (0 if there is none).

    Returns
    -------
    VMicroResponse

    Raises
    ------
    GridError
        A grid on another wavelength grid, two grids at one v_micro, one at the reference
        value, or no grid with a complete lattice.
    """
    ref_v = grid_v_micro(reference)
    ref_rows = {tuple(k): i for i, k in enumerate(label_keys(reference.labels))}
    lattices: dict[float, NodeGrid] = {}
    points: dict[float, NodeGrid] = {}
    nodes: dict[float, NodeGrid] = {}
    names: dict[float, str] = {}
    for grid in grids:
        v = grid_v_micro(grid)
        name = str((grid.manifest or {}).get("name", f"v_micro {v:g}"))
        if v == ref_v:
            raise GridError(f"grid {name!r} is at the reference v_micro {v:g} km/s")
        if v in nodes:
            raise GridError(f"two grids at v_micro {v:g} km/s ({names[v]!r}, {name!r})")
        if grid.wavelength.shape != reference.wavelength.shape or not np.allclose(
            grid.wavelength, reference.wavelength, rtol=1e-9
        ):
            raise GridError(f"grid {name!r} is on another wavelength grid than the reference")
        rows = np.array([ref_rows.get(tuple(k), -1) for k in label_keys(grid.labels)])
        have = rows >= 0
        if not have.all():
            log.warning("%s: %d of %d nodes have no reference node yet; left out",
                        name, int((~have).sum()), len(rows))
        if not have.any():
            raise GridError(f"grid {name!r}: none of its nodes is a node of the reference grid")
        diff = NodeGrid(
            labels=grid.labels[have],
            wavelength=reference.wavelength,
            flux=grid.flux[have] - reference.flux[rows[have]],
            manifest=grid.manifest,
            medium=reference.medium,
        )
        nodes[v], names[v] = diff, name
        try:
            lattice = complete_lattice(diff)
        except GridError:
            lattice = None
        if lattice is not None and all(a.size >= 2 for a in lattice.levels[-1]):
            lattices[v] = lattice
        else:
            points[v] = diff  # a few scattered nodes: served only at those nodes
    if not lattices:
        raise GridError("no v_micro grid has a complete lattice of at least 2 values per axis")
    lower = np.max([[a[0] for a in g.levels[-1]] for g in lattices.values()], axis=0)
    upper = np.min([[a[-1] for a in g.levels[-1]] for g in lattices.values()], axis=0)
    if np.any(upper <= lower):
        raise GridError("the v_micro grids' lattices do not overlap")
    if taper is None:
        teff_axis = np.asarray(reference.levels[-1][0], dtype=float)
        higher = teff_axis[teff_axis > upper[0] + 1e-6]
        taper = float(higher[0] - upper[0]) if higher.size else 0.0
    return VMicroResponse(
        reference=ref_v,
        lattices=lattices,
        points=points,
        nodes=nodes,
        lower=lower,
        upper=upper,
        taper=float(taper),
        wavelength=reference.wavelength,
        grid_names=names,
    )


def load_vmicro_response(
    reference: NodeGrid,
    paths: Sequence[str | Path],
    instrument: str,
    taper: float | None = None,
) -> VMicroResponse:
    """:func:`build_vmicro_response` from grid folders (one instrument of each).

    Parameters
    ----------
    reference : NodeGrid
        The main grid, loaded (all its nodes: the response needs the node under each
        v_micro node).
    paths : sequence of path-like
        Folders of the v_micro grids (``data/grids/obaf-sme-v3-vmic1`` ...).
    instrument : str
    taper : float, optional
        See :func:`build_vmicro_response`.
    """
    return build_vmicro_response(reference, [load_node_grid(p, instrument) for p in paths], taper)


def _errors(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    e = np.abs(pred - true)
    scale = float(np.max(np.abs(true)))
    return {
        "median": float(np.median(e)),
        "p95": float(np.percentile(e, 95)),
        "max": float(e.max()),
        "response_max": scale,
        "relative_max": float(e.max() / scale) if scale > 0 else float("nan"),
    }


def check_node_errors(response: VMicroResponse, pixels: slice | None = None) -> list[dict]:
    """How well the response interpolates, at nodes it does not use.

    Two kinds of check, each against the synthesized response (v_micro node − reference
    node):

    * ``"lattice"``: each check node of a lattice grid (e.g. 7,000 K between the 6 and 8 kK
      lattice values) predicted by multilinear interpolation on that grid's lattice;
    * ``"v_micro"``: each node of a grid without a lattice (e.g. 3 km/s) predicted linearly
      in v_micro between the neighbouring knots' responses at the same node (their
      synthesized nodes where they have one, else their lattice interpolation): the
      curvature of the v_micro axis.

    Parameters
    ----------
    response : VMicroResponse
    pixels : slice, optional
        Pixels to measure over (a bundle's kept range); default all.

    Returns
    -------
    list of dict
        One row per node: ``kind``, ``v_micro`` [km/s], ``teff``, ``logg``, ``m_h``, and the
        |Δflux| ``median``, ``p95`` and ``max`` over the pixels, the node's largest
        |response| ``response_max`` and ``relative_max`` = max / response_max.
    """
    pixels = pixels if pixels is not None else slice(None)
    rows: list[dict] = []
    for v in sorted(response.lattices):
        labels = response.check_labels(v)
        if not len(labels):
            continue
        true = response.nodes[v].interpolate(labels)
        pred = response.lattices[v].interpolate(labels, missing="nan")
        for lab, p, t in zip(labels, pred, true, strict=True):
            if not np.all(np.isfinite(p)):
                continue  # outside the lattice: not an interpolation
            rows.append({"kind": "lattice", "v_micro": v, "teff": float(lab[0]), "logg": float(lab[1]),
                         "m_h": float(lab[2]), **_errors(p[pixels], t[pixels])})
    knots = [response.reference, *sorted(response.lattices)]
    for v in sorted(response.points):
        lower = [k for k in knots if k < v]
        upper = [k for k in knots if k > v]
        if not lower or not upper:
            continue  # outside the lattice values: not an interpolation
        v_lo, v_hi = max(lower), min(upper)
        grid = response.points[v]
        for lab, t in zip(grid.labels, grid.flux, strict=True):
            ends = [_node_response(response, k, lab) for k in (v_lo, v_hi)]
            if any(e is None for e in ends):
                continue
            w = (v - v_lo) / (v_hi - v_lo)
            p = (1.0 - w) * ends[0] + w * ends[1]
            rows.append({"kind": "v_micro", "v_micro": v, "teff": float(lab[0]), "logg": float(lab[1]),
                         "m_h": float(lab[2]), **_errors(p[pixels], t[pixels])})
    return rows


def _node_response(response: VMicroResponse, v: float, labels: np.ndarray) -> np.ndarray | None:
    """The response at ``v`` at one node: synthesized if it is a node, else interpolated."""
    if v == response.reference:
        return np.zeros(response.wavelength.size, dtype=np.float32)
    nodes = response.nodes[v]
    key = tuple(label_keys(labels)[0])
    for i, k in enumerate(label_keys(nodes.labels)):
        if tuple(k) == key:
            return nodes.flux[i]
    r = response.lattices[v].interpolate(labels[None, :], missing="nan")[0]
    return r if np.all(np.isfinite(r)) else None


def summarize_check_errors(rows: Sequence[dict]) -> dict[str, dict]:
    """Per kind of check: number of nodes, the median of the nodes' median |Δflux|, the
    largest p95, max and relative max (see :func:`check_node_errors`)."""
    out: dict[str, dict] = {}
    for kind in sorted({r["kind"] for r in rows}):
        sel = [r for r in rows if r["kind"] == kind]
        out[kind] = {
            "n_nodes": len(sel),
            "median": float(np.median([r["median"] for r in sel])),
            "p95": float(max(r["p95"] for r in sel)),
            "max": float(max(r["max"] for r in sel)),
            "relative_max": float(np.nanmax([r["relative_max"] for r in sel])),
        }
    return out
