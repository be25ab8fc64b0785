"""Flags of a finished fit: v sin i at 0 is a warning, a genuine edge is bad."""

import numpy as np

from zeta_payne.fitting.diagnostics import convergence_flags, label_flags, unresolved_v_sini
from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, ResultFlags
from zeta_payne.fitting.options import FitOptions

NAMES = ("teff", "logg", "v_sini", "m_h")
LOWER = np.array([6000.0, 3.0, 0.0, -0.8])
UPPER = np.array([25000.0, 5.0, 400.0, 0.8])
FREE = np.ones(4, bool)
OPT = FitOptions()


def flags(labels, limit=0.0):
    return ResultFlags(label_flags(np.array(labels), FREE, LOWER, UPPER, NAMES, OPT, limit))


def test_resolution_limit():
    assert unresolved_v_sini(2000.0, 0.5) == np.float64(0.5 * 299792.458 / 2000.0)
    assert abs(unresolved_v_sini(22500.0, 0.5) - 6.66) < 0.01


def test_v_sini_zero_is_unresolved_not_bad():
    f = flags([9000.0, 4.0, 0.0, 0.0])
    assert f == ResultFlags.V_SINI_UNRESOLVED
    assert not f & BAD_MASK and f & WARN_MASK


def test_v_sini_below_the_resolution_limit_is_unresolved():
    assert flags([9000.0, 4.0, 60.0, 0.0], limit=75.0) == ResultFlags.V_SINI_UNRESOLVED
    assert flags([9000.0, 4.0, 90.0, 0.0], limit=75.0) == ResultFlags(0)


def test_upper_edges_stay_bad():
    f = flags([9000.0, 4.0, 400.0, 0.0], limit=75.0)
    assert f == ResultFlags.V_SINI_AT_EDGE and f & BAD_MASK
    assert flags([9000.0, 4.0, 396.0, 0.0]) == ResultFlags.V_SINI_NEAR_EDGE
    # every other label is bad at either edge
    assert flags([6000.0, 4.0, 100.0, 0.0]) == ResultFlags.TEFF_AT_EDGE
    assert flags([9000.0, 4.0, 100.0, -0.8]) == ResultFlags.M_H_AT_EDGE


def test_fixed_labels_are_not_flagged():
    free = np.array([True, True, False, True])
    assert label_flags(np.array([9000.0, 4.0, 0.0, 0.0]), free, LOWER, UPPER, NAMES, OPT, 75.0) == 0


def test_convergence_flags():
    assert convergence_flags(OPT, 1, 1, 0.0, 10.0, 100.0, 1.0, False) == 0
    assert convergence_flags(OPT, 0, 1, 0.0, 10.0, 100.0, 1.0, False) == ResultFlags.UNCONVERGED
    # the polish running out of evaluations matters only while it still gains
    assert convergence_flags(OPT, 1, 0, 0.001, 10.0, 100.0, 1.0, False) == 0
    assert convergence_flags(OPT, 1, 0, 5.0, 10.0, 100.0, 1.0, False) == ResultFlags.UNCONVERGED
    assert convergence_flags(OPT, 1, 1, 0.0, 60.0, 100.0, 1.0, False) == ResultFlags.RV_AT_SEARCH_EDGE
    assert convergence_flags(OPT, 1, 1, 0.0, 0.0, np.nan, 1.0, False) == ResultFlags.FITTING_FAILURE
    assert convergence_flags(OPT, 1, 1, 0.0, 0.0, 1.0, 1.0, True) == ResultFlags.FITTING_FAILURE
    assert convergence_flags(OPT, 1, 1, 0.0, 0.0, 1.0, 11.0, False) == ResultFlags.POOR_FIT


def test_hot_fits_carry_the_nlte_warning():
    assert flags([19999.0, 4.0, 100.0, 0.0]) == ResultFlags(0)
    f = flags([20000.0, 4.0, 100.0, 0.0])
    assert f == ResultFlags.NLTE_REGIME and f & WARN_MASK and not f & BAD_MASK
    off = FitOptions(lte_teff_max=None)
    assert label_flags(np.array([24000.0, 4.0, 100.0, 0.0]), FREE, LOWER, UPPER, NAMES, off, 0.0) == 0


def test_fits_below_the_logg_floor_are_untrained_and_bad():
    floor = FitOptions(logg_floor=((18000.0, 25000.0, 3.5),), lte_teff_max=None)

    def f(labels):
        return ResultFlags(label_flags(np.array(labels), FREE, LOWER, UPPER, NAMES, floor, 0.0))

    assert f([20000.0, 3.2, 100.0, 0.0]) == ResultFlags.UNTRAINED_REGION
    assert f([20000.0, 3.2, 100.0, 0.0]) & BAD_MASK
    assert f([20000.0, 3.6, 100.0, 0.0]) == 0  # above the floor
    assert f([17000.0, 3.2, 100.0, 0.0]) == 0  # a cooler cell reaches lower
    assert f([20000.0, 3.4995, 100.0, 0.0]) == 0  # on the floor (the optimiser's bound)
    assert not flags([20000.0, 3.2, 100.0, 0.0]) & ResultFlags.UNTRAINED_REGION  # no floor
