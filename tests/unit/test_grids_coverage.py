"""The log g floor of a lattice with atmosphere holes, and the fitter's view of it."""

import numpy as np

from zeta_payne.fitting.region import below_logg_floor
from zeta_payne.grids.coverage import logg_floor
from zeta_payne.grids.nodes import NodeGrid

TEFF = [6000.0, 10000.0, 18000.0, 20000.0, 25000.0, 30000.0]
LOGG = [2.5, 3.0, 3.5, 4.0]
M_H = [-1.0, 0.0, 0.5]


def _grid(present):
    nodes = np.array([(t, g, m) for t in TEFF for g in LOGG for m in M_H if present(t, g, m)])
    return NodeGrid(labels=nodes, wavelength=np.arange(2.0), flux=np.ones((len(nodes), 2)),
                    levels=[tuple(np.array(a) for a in (TEFF, LOGG, M_H))])


def test_floor_follows_the_atmosphere_limit_per_teff_cell():
    # as ATLAS9: no log g 2.5 above 18 kK, no 3.0 above 25 kK; one stray missing node
    def present(t, g, m):
        return not ((t > 18000 and g < 3.0) or (t > 25000 and g < 3.5) or (t, g, m) == (6000.0, 4.0, 0.5))

    floor = logg_floor(_grid(present))
    # the cell 18-20 kK takes the higher floor of its two sides; equal neighbours merge
    assert floor == [(18000.0, 25000.0, 3.0), (25000.0, 30000.0, 3.5)]
    assert logg_floor(_grid(lambda t, g, m: True)) == []
    # a box that starts above the hole has no floor
    assert logg_floor(_grid(present), (3.5, 4.0)) == []
    assert logg_floor(_grid(present), (3.0, 4.0)) == [(25000.0, 30000.0, 3.5)]


def test_levels_planned_for_another_instrument_are_not_a_floor():
    """A grid's finest level is planned for all its instruments: teff and log g values with no
    node of this instrument at all (APOGEE's extra levels, never made for BOSS) are not part
    of its lattice. Before, they read as columns without nodes and put the floor at the top of
    the box from the first of them on (BOSS 3.1.0's candidate: log g ≥ 5 above 8,750 K)."""
    def present(t, g, m):
        return not ((t > 18000 and g < 3.0) or (t > 25000 and g < 3.5))

    base = _grid(present)
    extra_teff, extra_logg = [8750.0, 22000.0], [3.25]
    levels = [tuple(np.array(a) for a in (sorted(TEFF + extra_teff), sorted(LOGG + extra_logg), M_H))]
    planned = NodeGrid(labels=base.labels, wavelength=base.wavelength, flux=base.flux, levels=levels)
    assert logg_floor(planned) == logg_floor(base) == [(18000.0, 25000.0, 3.0), (25000.0, 30000.0, 3.5)]


def test_below_the_floor():
    floor = [(18000.0, 25000.0, 3.0), (25000.0, 30000.0, 3.5)]
    teff = np.array([17000.0, 19000.0, 19000.0, 26000.0, 26000.0, 25000.0])
    logg = np.array([2.6, 2.9, 3.1, 3.4, 3.6, 3.2])
    assert below_logg_floor(teff, logg, floor).tolist() == [False, True, False, True, False, True]
    assert below_logg_floor(19000.0, 2.9, []).tolist() == [False]
