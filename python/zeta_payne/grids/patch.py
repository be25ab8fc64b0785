"""Patches: a refinement of one lattice level over a sub-box, for some instruments only.

A level of a node grid is a tensor product over the whole box, shared by every instrument of
the grid. A refinement that one instrument needs in one region cannot be a level: BOSS teff
planes below 8 kK, where BOSS's finer levels (log g every 0.25 dex) have no nodes, would
never make a finer level complete there, and APOGEE, whose finer levels do have nodes there,
would lose its stencils to the new teff values. A patch is that refinement: the axes of the
level it refines, over the box of its new nodes, with the new nodes' values added, stored in
the manifest's ``patches`` with the instruments it is for (``zeta-payne grid synthesize
--nodes-file FILE --patch-of LEVEL``). :meth:`~zeta_payne.grids.nodes.NodeGrid.interpolate`
tries it before every level, so inside its box it replaces the levels for those instruments;
where its stencils miss a node the levels answer as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..exceptions import GridError
from .format import LABEL_NAMES

__all__ = ["patch_axes", "make_patch", "nodes_off_patch", "add_patch"]


def patch_axes(level: dict[str, Sequence[float]], labels: np.ndarray) -> dict[str, list[float]]:
    """The axes of a patch: ``level`` refined by the values of new nodes, over their box only.

    Parameters
    ----------
    level : dict
        ``{"teff": [...], "logg": [...], "m_h": [...]}``, the level the nodes refine.
    labels : numpy.ndarray, shape (n, 3)
        The new nodes' teff [K], logg [dex], m_h [dex].

    Returns
    -------
    dict
        Per label: the level's values within the box, and the nodes' values, sorted. The box
        spans, per axis, from the level's last value at or below the nodes' least to its first
        at or above their greatest, so the cells at the patch's edges end on the level's nodes.

    Raises
    ------
    GridError
        Nodes outside the level's range.
    """
    labels = np.atleast_2d(np.asarray(labels, dtype=float))
    out = {}
    for i, name in enumerate(LABEL_NAMES):
        axis = np.asarray(level[name], dtype=float)
        low, high = labels[:, i].min(), labels[:, i].max()
        below, above = axis[axis <= low + 1e-9], axis[axis >= high - 1e-9]
        if not below.size or not above.size:
            raise GridError(f"patch nodes' {name} {low:g}-{high:g} outside the level's "
                            f"{axis[0]:g}-{axis[-1]:g}")
        inside = axis[(axis >= below[-1]) & (axis <= above[0])]
        values = np.unique(np.round(np.concatenate([inside, labels[:, i]]), 6))
        out[name] = [float(v) for v in values]
    return out


def make_patch(levels: Sequence[dict], of_level: int, labels: np.ndarray,
               instruments: Iterable[str]) -> dict:
    """The manifest entry of a patch of ``levels[of_level]`` by the nodes ``labels`` (shape
    (n, 3)) for ``instruments``: its axes (:func:`patch_axes`), ``instruments`` (sorted) and
    ``of_level``."""
    if not 0 <= of_level < len(levels):
        raise GridError(f"--patch-of {of_level}: the grid has levels 0-{len(levels) - 1}")
    return {**patch_axes(levels[of_level], labels), "instruments": sorted(instruments),
            "of_level": int(of_level)}


def nodes_off_patch(patch: dict, level: dict[str, Sequence[float]], labels: np.ndarray
                    ) -> np.ndarray:
    """Which nodes (shape (n, 3)) inside the patch's box it would hide: off its lattice, and
    not on a face of the box that the lattice continues beyond.

    Inside its box a patch replaces the levels, so such nodes (a finer level's, made for the
    patch's instruments) would no longer be used: a patch belongs where its instruments have
    none (checked before one is added). A node on an inner face (teff 8,000 K of a patch
    ending there) still serves the cells beyond it and is not counted.

    Parameters
    ----------
    patch : dict
        A patch (:func:`make_patch`).
    level : dict
        The level it refines (its outer faces are the grid's).
    labels : numpy.ndarray, shape (n, 3)

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    labels = np.atleast_2d(np.asarray(labels, dtype=float))
    hidden = np.ones(len(labels), dtype=bool)
    on = np.ones(len(labels), dtype=bool)
    for i, name in enumerate(LABEL_NAMES):
        axis, full = np.asarray(patch[name], dtype=float), np.asarray(level[name], dtype=float)
        x, tol = labels[:, i], 1e-6 * max(1.0, abs(axis[-1]))
        low_ok = x > axis[0] + tol if axis[0] > full[0] + tol else x >= axis[0] - tol
        high_ok = x < axis[-1] - tol if axis[-1] < full[-1] - tol else x <= axis[-1] + tol
        hidden &= low_ok & high_ok
        on &= np.isin(np.round(x, 6), np.round(axis, 6))
    return hidden & ~on


def add_patch(patches: Sequence[dict], patch: dict) -> list[dict]:
    """``patches`` with ``patch`` added last, unless an equal one is there (a rerun)."""
    if any(p == patch for p in patches):
        return list(patches)
    return [*patches, patch]
