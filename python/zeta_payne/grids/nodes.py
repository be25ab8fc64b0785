"""Node grids: the lattice of synthesized (teff, logg, [M/H]) spectra and its interpolation.

A node grid on disk is described in :mod:`zeta_payne.grids.format`. :func:`load_node_grid`
reads one instrument of it into a :class:`NodeGrid`, whose :meth:`NodeGrid.interpolate`
is multilinear on the node lattice. A campaign fills the lattice coarse-to-fine
(:func:`lattice_levels`), so a partially synthesized grid is still usable: a query is
answered from the finest refinement level whose cell around it is complete. A *patch*
(:mod:`~zeta_payne.grids.patch`) refines one level over a sub-box for some instruments only;
inside its box it is tried before every level.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import GridError
from .format import LABEL_NAMES, SCHEMA, decode_flux, read_chunk
from .stencil import lagrange_stencils, parse_points, stencil_shifts

__all__ = [
    "label_keys",
    "NodeGrid",
    "complete_lattice",
    "load_node_grid",
    "read_node_chunks",
    "refine_axis",
    "lattice_levels",
    "ordered_nodes",
    "default_levels",
]

log = logging.getLogger(__name__)

_CHUNK = 256  # queries per weight matrix in NodeGrid.interpolate


def label_keys(values: np.ndarray) -> np.ndarray:
    """Integer keys of label rows (teff to 0.1 K, logg and m_h to 1e-4 dex), shape (n, 3).

    Two label rows denote the same node exactly when their keys are equal.
    """
    values = np.atleast_2d(values)
    return np.stack(
        [np.rint(values[:, 0] * 10), np.rint(values[:, 1] * 1e4), np.rint(values[:, 2] * 1e4)],
        axis=1,
    ).astype(np.int64)


@dataclass
class NodeGrid:
    """Node spectra of one instrument on a (possibly incomplete) rectilinear lattice.

    Attributes
    ----------
    labels : numpy.ndarray, shape (N, 3)
        teff [K], logg [dex], m_h [dex] of each node (order: :data:`label_names`).
    wavelength : numpy.ndarray, shape (npix,)
        Pixel wavelengths [Å] in ``medium``.
    flux : numpy.ndarray, shape (N, npix), float32
        Continuum-normalised flux.
    manifest : dict
        The grid manifest (for imported grids: a minimal one).
    medium : str
        ``"vacuum"`` or ``"air"``.
    label_names : tuple of str
    levels : list of tuple of numpy.ndarray
        Refinement levels, coarse to fine; each a (teff, logg, m_h) tuple of sorted axes.
        The last is the full lattice. Defaults to the unique label values.
    seconds : numpy.ndarray, shape (N,)
        Synthesis cost per node [s] (zeros when unknown).
    points : tuple of int
        Interpolation stencil per axis (teff, logg, m_h): 2 is linear, 4 cubic Lagrange (see
        :mod:`~zeta_payne.grids.stencil`); default ``(2, 2, 2)``, multilinear.
    patches : list of tuple of numpy.ndarray
        Local refinements (:mod:`~zeta_payne.grids.patch`), each a (teff, logg, m_h) tuple
        of sorted axes over a sub-box of the lattice; tried before the levels, the last
        first. Default none.
    """

    labels: np.ndarray
    wavelength: np.ndarray
    flux: np.ndarray
    manifest: dict = field(default_factory=dict)
    medium: str = "vacuum"
    label_names: tuple[str, ...] = LABEL_NAMES
    levels: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    seconds: np.ndarray | None = None
    points: tuple[int, int, int] = (2, 2, 2)
    patches: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.points = parse_points(self.points)
        self.labels = np.asarray(self.labels, dtype=np.float64).reshape(-1, 3)
        self.flux = np.asarray(self.flux, dtype=np.float32)
        self.wavelength = np.asarray(self.wavelength, dtype=np.float64)
        if self.flux.shape != (self.labels.shape[0], self.wavelength.size):
            raise GridError(
                f"flux shape {self.flux.shape} != ({self.labels.shape[0]}, {self.wavelength.size})"
            )
        if not self.levels:
            self.levels = [tuple(np.unique(self.labels[:, i]) for i in range(3))]
        self.levels = [tuple(np.asarray(a, dtype=float) for a in lvl) for lvl in self.levels]
        self.patches = [tuple(np.asarray(a, dtype=float) for a in p) for p in self.patches]
        if self.seconds is None:
            self.seconds = np.zeros(len(self.labels))
        self._row = {tuple(k): i for i, k in enumerate(label_keys(self.labels))}

    def __len__(self) -> int:
        return self.labels.shape[0]

    @property
    def npix(self) -> int:
        """Number of pixels."""
        return self.wavelength.size

    def _level_lookup(self, axes: tuple[np.ndarray, ...]) -> np.ndarray:
        """Row of each lattice point of ``axes`` (shape (nt, ng, nm)); −1 where missing."""
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        rows = np.array([self._row.get(tuple(k), -1) for k in label_keys(grid)], dtype=np.int64)
        return rows.reshape(tuple(a.size for a in axes))

    def interpolate(self, labels: np.ndarray, missing: str = "raise") -> np.ndarray:
        """Interpolation of the node spectra (multilinear, or the stencils of :attr:`points`).

        Parameters
        ----------
        labels : numpy.ndarray, shape (M, 3) or (3,)
            teff [K], logg, m_h. Must lie inside the lattice's bounding box.
        missing : {"raise", "nan"}
            What to do when no refinement level has a complete cell around a query (a
            partial campaign): raise :class:`~zeta_payne.exceptions.GridError`, or return a
            row of NaN.

        Returns
        -------
        numpy.ndarray, shape (M, npix), float32

        Notes
        -----
        Each query uses the first patch holding it (see :attr:`patches`), else the finest
        level (see :attr:`levels`), whose 2×2×2 cell around it has all nodes with non-zero
        weight on disk; queries on a node reproduce it exactly.
        Outside the bounding box a GridError is raised (no extrapolation). With larger
        stencils (:attr:`points`) a query whose central stencil misses a node on a level (a
        hole where no atmosphere exists, a partial campaign) is answered on that level by
        the same stencils shifted by a node along one or more axes (still holding the
        query's cell: a one-sided cubic keeps its order), else with a linear teff axis and
        the other axes' stencils, else multilinearly (:meth:`stencil_on_disk` says which
        queries get a stencil of the full size).
        """
        q = np.atleast_2d(np.asarray(labels, dtype=np.float64))
        if q.shape[1] != 3:
            raise GridError(f"labels must have shape (M, 3), got {q.shape}")
        out = np.full((q.shape[0], self.npix), np.nan, dtype=np.float32)
        todo = np.ones(q.shape[0], bool)
        for idx, rows, weights, _ in self._stencils(q):
            # each chunk as a (queries × nodes) weight matrix times the node fluxes: one
            # BLAS product instead of gathering k spectra per query (≈ 20× faster per chunk)
            for start in range(0, idx.size, _CHUNK):
                sel = slice(start, start + _CHUNK)
                use = weights[sel] != 0.0
                matrix = np.zeros((use.shape[0], len(self)), dtype=np.float32)
                np.add.at(matrix, (np.nonzero(use)[0], rows[sel][use]), weights[sel][use])
                out[idx[sel]] = matrix @ self.flux
            todo[idx] = False
        if todo.any() and missing == "raise":
            bad = q[np.flatnonzero(todo)[0]]
            raise GridError(
                f"{int(todo.sum())} label rows cannot be interpolated (first: {bad}); outside "
                "the lattice or no complete cell on disk yet"
            )
        return out

    def covers(self, labels: np.ndarray) -> np.ndarray:
        """Whether :meth:`interpolate` answers each of the queries ``labels`` (shape (M, 3) or
        (3,): teff [K], log g, [M/H]) — shape (M,) bool, False outside the lattice and where
        every level's cell misses a node (a hole where no atmosphere exists, a partial
        campaign)."""
        return self._answered(labels)[0]

    def _answered(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query: answered at all, and answered with the full stencil (both (M,) bool)."""
        q = np.atleast_2d(np.asarray(labels, dtype=np.float64))
        answered = np.zeros(q.shape[0], bool)
        full = np.zeros(q.shape[0], bool)
        for idx, _, _, points in self._stencils(q):
            answered[idx] = True
            full[idx] = points == self.points
        return answered, full

    def _stencils(self, q: np.ndarray):
        """The stencil each query is answered with, in groups.

        Patches (the last first), then levels finest first; on each, :attr:`points`, then
        linear in teff, then multilinear, each central first and then shifted by a node
        along one or more axes
        (:func:`_shift_combinations`), the first with every node on disk.
        Yields ``(idx, rows, weights, points)``: query rows (into ``q``, shape (M, 3)) whose
        stencil of ``points`` has every weighted node on disk, their node rows and weights
        (shape (len(idx), k)). A query is yielded at most once; one never yielded cannot be
        interpolated.
        """
        tries: list[tuple[int, int, int]] = []
        for points in (self.points, (2, *self.points[1:]), (2, 2, 2)):
            if points not in tries:
                tries.append(points)
        todo = np.ones(q.shape[0], bool)
        for axes in [*reversed(self.patches), *reversed(self.levels)]:
            lo_box = np.array([a[0] for a in axes])
            hi_box = np.array([a[-1] for a in axes])
            tol = np.array([1e-6, 1e-9, 1e-9]) * np.maximum(1.0, np.abs(hi_box))
            inside = np.all((q >= lo_box - tol) & (q <= hi_box + tol), axis=1)
            lookup = self._level_lookup(axes)
            for points in tries:
                for shifts in _shift_combinations(points):
                    idx = np.flatnonzero(todo & inside)
                    if idx.size == 0:
                        break
                    rows, weights = self._stencil_rows(lookup, axes, q[idx], points, tol, shifts)
                    ok = np.all((rows >= 0) | (weights == 0.0), axis=1)
                    todo[idx[ok]] = False
                    yield idx[ok], rows[ok], weights[ok], points

    def stencil_on_disk(self, labels: np.ndarray) -> np.ndarray:
        """Whether each query is interpolated with the full stencil of :attr:`points`.

        Parameters
        ----------
        labels : numpy.ndarray, shape (M, 3) or (3,)
            teff [K], logg, m_h.

        Returns
        -------
        numpy.ndarray of bool, shape (M,)
            True where the finest level holding the query has every node of a stencil of the
            full size (central or shifted, with non-zero weight) on disk; False where
            :meth:`interpolate` falls back to a smaller stencil or cannot answer.
        """
        return self._answered(labels)[1]

    @staticmethod
    def _stencil_rows(lookup: np.ndarray, axes: tuple[np.ndarray, ...], q: np.ndarray,
                      points: tuple[int, int, int], tol: np.ndarray,
                      shifts: tuple[int, int, int] = (0, 0, 0)
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Node rows (−1: not on disk) and tensor-product weights of each query's stencil,
        both of shape (M, k) with k the product of the stencil sizes."""
        (it, wt), (ig, wg), (im, wm) = (
            lagrange_stencils(axes[d], q[:, d], points[d], atol=tol[d], shift=shifts[d])
            for d in range(3))
        rows = lookup[it[:, :, None, None], ig[:, None, :, None], im[:, None, None, :]]
        weights = wt[:, :, None, None] * wg[:, None, :, None] * wm[:, None, None, :]
        weights[np.abs(weights) < 1e-12] = 0.0
        return rows.reshape(len(q), -1), weights.reshape(len(q), -1)


def _shift_combinations(points: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """Per-axis stencil shifts to try, the central stencil first, then fewest axes shifted."""
    combos = itertools.product(*(stencil_shifts(p) for p in points))
    return sorted(combos, key=lambda c: (sum(s != 0 for s in c), sum(abs(s) for s in c)))


def complete_lattice(grid: NodeGrid) -> NodeGrid:
    """The largest complete rectilinear sub-lattice of a (possibly partial) node grid.

    A campaign that has not finished leaves lattice cells without all their corners. This
    greedily drops the axis value with the most missing nodes until every combination of
    the remaining axis values is on disk, and returns a grid of those nodes with that
    lattice as its only level (so interpolation never needs a missing node).

    Parameters
    ----------
    grid : NodeGrid
        Nodes on a (possibly incomplete) rectilinear lattice.

    Returns
    -------
    NodeGrid
        The nodes of the sub-lattice (nodes off it, e.g. check nodes between lattice
        values, are left out), with that lattice as its only level.

    Raises
    ------
    GridError
        If no sub-lattice with at least two values per axis is complete.
    """
    axes = [np.unique(np.round(grid.labels[:, i], 6)) for i in range(3)]
    present = {tuple(row) for row in np.round(grid.labels, 6)}
    while True:
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        missing = np.array([tuple(p) not in present for p in mesh])
        if not missing.any():
            break
        worst, score = None, -1.0
        for i in range(3):
            if axes[i].size <= 2:
                continue
            for value in axes[i]:
                on = mesh[:, i] == value
                frac = missing[on].mean()
                if frac > score:
                    worst, score = (i, value), frac
        if worst is None:
            raise GridError("no complete lattice of at least 2 values per axis in the grid")
        i, value = worst
        axes[i] = axes[i][axes[i] != value]
    keep = np.all([np.isin(np.round(grid.labels[:, i], 6), axes[i]) for i in range(3)], axis=0)
    return NodeGrid(labels=grid.labels[keep], wavelength=grid.wavelength, flux=grid.flux[keep],
                    manifest=grid.manifest, medium=grid.medium, levels=[tuple(axes)],
                    seconds=grid.seconds[keep], points=grid.points)


def read_node_chunks(
    path: str | Path, instrument: str, npix: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored nodes of one instrument of a grid, each once, in the order first written.

    Parameters
    ----------
    path : str or pathlib.Path
        Grid folder.
    instrument : str
    npix : int
        Pixels the manifest gives; a chunk with another count is an error.

    Returns
    -------
    labels : numpy.ndarray, shape (N, 3)
    flux : numpy.ndarray, shape (N, npix), uint16 (as stored)
    seconds : numpy.ndarray, shape (N,)
    """
    path = Path(path)
    labels, flux, seconds = [], [], []
    for chunk in sorted((path / instrument).glob("chunk_*.npz")):
        lab, flx, sec = read_chunk(chunk)
        if flx.shape[1] != npix:
            raise GridError(f"{chunk}: {flx.shape[1]} pixels, manifest says {npix}")
        labels.append(lab)
        flux.append(flx)
        seconds.append(sec)
    if not labels:
        raise GridError(f"no chunk files in {path / instrument}")
    lab = np.concatenate(labels)
    _, first = np.unique(label_keys(lab), axis=0, return_index=True)
    first = np.sort(first)
    return lab[first], np.concatenate(flux)[first], np.concatenate(seconds)[first]


def load_node_grid(path: str | Path, instrument: str | None = None) -> NodeGrid:
    """Load one instrument of a node grid from disk.

    Parameters
    ----------
    path : path-like
        The grid folder (``data/grids/<name>``, with ``manifest.json``), or its instrument
        subfolder (``data/grids/<name>/boss``).
    instrument : str, optional
        Instrument subfolder when ``path`` is the grid folder; optional if the grid has
        exactly one instrument.

    Returns
    -------
    NodeGrid
        Nodes from all chunk files (duplicates of a label triple: the first is kept).

    Raises
    ------
    GridError
        No manifest, unknown instrument, or no chunk files.
    """
    path = Path(path)
    if not (path / "manifest.json").exists() and (path.parent / "manifest.json").exists():
        instrument = instrument or path.name
        path = path.parent
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise GridError(f"no manifest.json in {path}")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("schema") != SCHEMA:
        raise GridError(f"{manifest_path}: unknown schema {manifest.get('schema')!r}")
    instruments = manifest["instruments"]
    if instrument is None:
        if len(instruments) != 1:
            raise GridError(f"choose an instrument of {sorted(instruments)}")
        instrument = next(iter(instruments))
    if instrument not in instruments:
        raise GridError(f"instrument {instrument!r} not in {sorted(instruments)}")
    spec = instruments[instrument]
    wavelength = spec["wave_start"] * 10.0 ** (spec["log10_step"] * np.arange(spec["npix"]))
    lab, flux, seconds = read_node_chunks(path, instrument, spec["npix"])
    levels = [tuple(np.asarray(lvl[n]) for n in LABEL_NAMES) for lvl in manifest.get("levels", [])]
    patches = [tuple(np.asarray(p[n]) for n in LABEL_NAMES) for p in manifest.get("patches", [])
               if instrument in p["instruments"]]
    return NodeGrid(
        labels=lab,
        wavelength=wavelength,
        flux=decode_flux(flux, spec.get("flux_scale", 50000.0)),
        manifest=manifest,
        medium=spec.get("medium", "vacuum"),
        levels=levels,
        seconds=seconds,
        patches=patches,
    )


def refine_axis(axis: Sequence[float], min_step: float | Sequence[tuple[float, float]]
                ) -> np.ndarray:
    """Insert the midpoint of every interval wider than the local minimum step.

    Parameters
    ----------
    axis : sequence of float
        Sorted node values.
    min_step : float or sequence of (upper_bound, step)
        Either one minimum step, or piecewise: the step applies to intervals whose
        midpoint is below ``upper_bound`` (first match).

    Returns
    -------
    numpy.ndarray
        The refined, sorted axis (unchanged where every interval is ≤ its minimum step).
    """
    a = np.asarray(axis, dtype=float)
    mids = 0.5 * (a[1:] + a[:-1])
    widths = np.diff(a)
    if np.isscalar(min_step):
        steps = np.full(mids.shape, float(min_step))
    else:
        table = list(min_step)
        steps = np.array([next(s for ub, s in table if m < ub) for m in mids])
    new = mids[widths > steps * 1.0001]
    return np.unique(np.round(np.concatenate([a, new]), 6))


def default_levels() -> list[dict[str, np.ndarray]]:
    """The campaign's refinement levels (coarse → fine) over the Table 1 box.

    teff: L0 = 6000, 7000, 8000, 9000, 10000, 12000, 14000, 17000, 21000, 25000 K, refined by
    midpoints to ≥ 250 K steps below 10 kK, ≥ 500 K to 14 kK, ≥ 1000 K above; logg: 3, 4, 5 →
    0.5 → 0.25; [M/H]: −0.8, 0, +0.8 → 0.4 → 0.2. Teff is refined first (it changes the
    spectra most), then logg and [M/H].
    """
    t0 = np.array([6000, 7000, 8000, 9000, 10000, 12000, 14000, 17000, 21000, 25000], float)
    t_steps = [(10000.0, 250.0), (14000.0, 500.0), (1e9, 1000.0)]
    t1 = refine_axis(t0, t_steps)
    t2 = refine_axis(t1, t_steps)
    g0 = np.array([3.0, 4.0, 5.0])
    g1 = refine_axis(g0, 0.5)
    g2 = refine_axis(g1, 0.25)
    m0 = np.array([-0.8, 0.0, 0.8])
    m1 = refine_axis(m0, 0.4)
    m2 = refine_axis(m1, 0.2)
    return [
        {"teff": t0, "logg": g0, "m_h": m0},
        {"teff": t1, "logg": g0, "m_h": m0},
        {"teff": t1, "logg": g1, "m_h": m1},
        {"teff": t2, "logg": g1, "m_h": m1},
        {"teff": t2, "logg": g2, "m_h": m2},
    ]


def lattice_levels(levels: Sequence[dict[str, np.ndarray]]) -> list[np.ndarray]:
    """Label rows of each level's full lattice, shape (n_k, 3) per level."""
    out = []
    for lvl in levels:
        mesh = np.meshgrid(*(np.asarray(lvl[n], float) for n in LABEL_NAMES), indexing="ij")
        out.append(np.stack(mesh, axis=-1).reshape(-1, 3))
    return out


def ordered_nodes(levels: Sequence[dict[str, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """All nodes, coarse-to-fine: level 0's lattice, then each level's new nodes.

    Within a level, nodes follow the lattice order (teff slowest), so complete cells of the
    new level appear progressively, slab by slab in teff.

    Returns
    -------
    list of (int, numpy.ndarray)
        (level, labels row (3,)) in synthesis order, without duplicates.
    """
    seen: set[tuple[int, ...]] = set()
    out = []
    for k, lattice in enumerate(lattice_levels(levels)):
        keys = label_keys(lattice)
        new = [i for i, key in enumerate(map(tuple, keys)) if key not in seen]
        for i in new:
            seen.add(tuple(keys[i]))
            out.append((k, lattice[i]))
    return out
