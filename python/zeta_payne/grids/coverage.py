"""Where a node lattice has spectra: the log g floor of a grid with atmosphere holes.

ATLAS9 has no atmospheres at low gravity for hot stars (the radiation pressure limit), so a
grid such as v3 has no nodes at log g 2.5 above 18,000 K or at 3.0 above 25,000 K. Its
training labels in those cells are dropped (``zeta-payne train --lattice nodes``), so the
network is not trained there even though the rectangular label box includes them.
:func:`logg_floor` describes the hole as a lower log g bound per teff cell; the bundle carries
it in its ``fit_defaults`` and the fitter keeps its pre-search out of it and flags fits that end
in it (:mod:`zeta_payne.fitting.region`).
"""

from __future__ import annotations

import numpy as np

from .nodes import NodeGrid

__all__ = ["logg_floor"]


def logg_floor(grid: NodeGrid, box_logg: tuple[float, float] | None = None
               ) -> list[tuple[float, float, float]]:
    """The log g below which each teff cell of ``grid``'s finest level has no nodes.

    Only the teff and log g values of the finest level that have nodes on disk count (a
    grid's levels are planned for all its instruments). A (teff, log g) column of the lattice
    *exists* when nodes are on disk there for at least half of the [M/H] values (a single
    missing node is a hole the interpolant bridges, not a floor). A teff value's lowest
    existing log g is its floor; a cell between two teff values takes the higher of its two
    floors (the training generator needs both sides).

    Parameters
    ----------
    grid : NodeGrid
    box_logg : (float, float), optional
        The log g range of the box (default: the lattice's); only floors above its lower
        bound are returned.

    Returns
    -------
    list of (teff_lo, teff_hi, logg_min)
        [K], [K], [dex]: in ``teff_lo ≤ teff ≤ teff_hi`` there are no training spectra below
        ``logg_min``; adjacent cells with the same floor are merged. Empty when every cell
        reaches the box's lower log g.
    """
    teff_axis, logg_axis, mh_axis = (np.asarray(a, float) for a in grid.levels[-1])
    lower = float(box_logg[0]) if box_logg is not None else float(logg_axis[0])
    on_disk = np.round(grid.labels, 4)
    present = {tuple(k) for k in on_disk}
    # the levels are planned for every instrument of a grid; a teff (or log g) value of the
    # finest level with no node of this instrument at all is not part of its lattice (APOGEE's
    # levels 4 and 5 in obaf-sme-v3, never made for BOSS), not a column without nodes
    teff_axis = teff_axis[np.isin(np.round(teff_axis, 4), on_disk[:, 0])]
    logg_axis = logg_axis[np.isin(np.round(logg_axis, 4), on_disk[:, 1])]
    floors = []
    for t in teff_axis:
        exists = [g for g in logg_axis
                  if sum((round(t, 4), round(g, 4), round(m, 4)) in present for m in mh_axis)
                  >= 0.5 * mh_axis.size]
        floors.append(min(exists) if exists else np.inf)
    cells: list[tuple[float, float, float]] = []
    for i in range(teff_axis.size - 1):
        floor = max(floors[i], floors[i + 1])
        if floor <= lower + 1e-9:
            continue
        lo, hi = float(teff_axis[i]), float(teff_axis[i + 1])
        floor = float(floor) if np.isfinite(floor) else float(logg_axis[-1])
        if cells and cells[-1][1] == lo and cells[-1][2] == floor:
            cells[-1] = (cells[-1][0], hi, floor)
        else:
            cells.append((lo, hi, floor))
    return cells
