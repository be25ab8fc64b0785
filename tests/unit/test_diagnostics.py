"""Flags of a finished fit: v sin i at 0 is a warning, a genuine edge is bad."""

import numpy as np
import pytest

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
    assert f == ResultFlags.V_SINI_AT_EDGE | ResultFlags.RAPID_ROTATION and f & BAD_MASK
    assert flags([9000.0, 4.0, 396.0, 0.0]) == ResultFlags.V_SINI_NEAR_EDGE | ResultFlags.RAPID_ROTATION
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


@pytest.mark.parametrize(
    ("flag", "option", "below", "at"),
    [
        # hot stars: LTE stops being credible
        (ResultFlags.NLTE_REGIME, "lte_teff_max", [19999.0, 4.0, 100.0, 0.0], [20000.0, 4.0, 100.0, 0.0]),
        # near-critical rotators: gravity darkening is not in the model
        (ResultFlags.RAPID_ROTATION, "rigid_rotation_v_sini_max", [9000.0, 4.0, 299.9, 0.0],
         [9000.0, 4.0, 300.0, 0.0]),
    ],
)
def test_physics_warnings_start_at_their_threshold(flag, option, below, at):
    assert flags(below) == ResultFlags(0)
    f = flags(at)
    assert f == flag and f & WARN_MASK and not f & BAD_MASK
    off = FitOptions(**{option: None})
    assert label_flags(np.array(at), FREE, LOWER, UPPER, NAMES, off, 0.0) == 0


def test_a_held_v_sini_is_still_the_stars_rotation():
    held = np.array([True, True, False, True])
    f = label_flags(np.array([9000.0, 4.0, 350.0, 0.0]), held, LOWER, UPPER, NAMES, OPT, 0.0)
    assert f == ResultFlags.RAPID_ROTATION


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


def _bounded_problem(true_a: float, noise: float = 0.0, seed: int = 0):
    """y = a·x + b·1 + c·x² with a bounded above by 1: the residual and Jacobian at a = 1
    (b, c re-fitted there), σ = 1 per pixel; returns the residual, Jacobian and σ_a."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, 200)
    jac = np.column_stack([x, np.ones_like(x), x**2])
    y = true_a * x + 0.3 + 0.1 * x**2 + noise * rng.standard_normal(x.size)
    bc = np.linalg.lstsq(jac[:, 1:], y - 1.0 * x, rcond=None)[0]
    residual = jac @ np.concatenate([[1.0], bc]) - y
    sigma_a = np.sqrt(np.linalg.inv(jac.T @ jac)[0, 0])
    return residual, jac, sigma_a


def test_edge_chi2_is_the_squared_distance_past_the_edge_in_errors():
    from zeta_payne.fitting.diagnostics import edge_chi2

    sides = np.array([1, 0])  # the label a at its upper edge; a second label not at an edge
    free = np.array([True, False])
    res, jac, sigma_a = _bounded_problem(true_a=1.0)
    res_far, _, _ = _bounded_problem(true_a=1.0 + 5.0 * sigma_a)  # the data want 5 errors past
    res_in, _, _ = _bounded_problem(true_a=1.0 - 5.0 * sigma_a)  # the data want back inside
    assert edge_chi2(res, jac, sides, free, 1.0)[0] < 1e-9
    far = edge_chi2(res_far, jac, sides, free, 1.0)
    assert far[0] == np.float64(far[0]) and abs(far[0] - 25.0) < 1e-6 and np.isnan(far[1])
    assert abs(edge_chi2(res_far, jac, sides, free, 2.5)[0] - 10.0) < 1e-6  # over the reduced χ²
    assert edge_chi2(res_in, jac, sides, free, 1.0)[0] == 0.0


def test_edge_chi2_holds_other_parameters_on_their_bounds():
    from zeta_payne.fitting.diagnostics import edge_chi2

    # two nearly degenerate labels: the data want the first past its edge, which the second,
    # if it may move, explains as well; on its own bound it may not
    x = np.linspace(-1.0, 1.0, 200)
    jac = np.column_stack([x, x + 0.05 * x**2, np.ones_like(x)])
    residual = -3.0 * x
    free = np.array([True, True])
    movable = edge_chi2(residual, jac, np.array([1, 0]), free, 1.0)[0]
    held = edge_chi2(residual, jac, np.array([1, -1]), free, 1.0)
    assert movable < 0.01 * held[0] and held[0] > 100.0 and np.isfinite(held[1])


def test_a_label_at_an_edge_the_data_are_content_with_is_a_warning():
    names = ("teff", "logg", "v_sini", "m_h", "v_micro")
    lower = np.append(LOWER, 1.0)
    upper = np.append(UPPER, 4.0)
    labels = np.array([8000.0, 4.0, 100.0, 0.0, 4.0])
    free = np.ones(5, bool)
    gain = np.array([np.nan, np.nan, np.nan, np.nan, 0.5])
    rule = FitOptions(edge_chi2_min={"v_micro": 9.0})
    # without the rule (the shipped bundles) or without the gain: at the edge, bad
    assert label_flags(labels, free, lower, upper, names, OPT, 0.0, gain) == ResultFlags.V_MICRO_AT_EDGE
    assert label_flags(labels, free, lower, upper, names, rule, 0.0) == ResultFlags.V_MICRO_AT_EDGE
    # with it: the data barely ask for more -> near the edge (a warning); they insist -> bad
    f = ResultFlags(label_flags(labels, free, lower, upper, names, rule, 0.0, gain))
    assert f == ResultFlags.V_MICRO_NEAR_EDGE and not f & BAD_MASK
    gain[4] = 30.0
    assert label_flags(labels, free, lower, upper, names, rule, 0.0, gain) == ResultFlags.V_MICRO_AT_EDGE
    # other labels keep their at-edge bit whatever their gain
    labels[3], gain[3] = 0.8, 0.0
    assert label_flags(labels, free, lower, upper, names, rule, 0.0, gain) & ResultFlags.M_H_AT_EDGE


def test_edge_chi2_min_may_not_decide_a_refit(toy_boss):
    """``edge_chi2_min`` changes flags only (a calibration survives it): a label that
    ``hold_unconstrained_at_edge`` holds when flagged at the edge is refused."""
    import pytest

    from zeta_payne.fitting.fitter import Fitter

    options = Fitter.default_options(toy_boss).updated(
        hold_unconstrained_at_edge={"m_h": 0.0}, edge_chi2_min={"m_h": 9.0})
    with pytest.raises(ValueError, match="flag-only"):
        Fitter(toy_boss, options)
    Fitter(toy_boss, options.updated(edge_chi2_min={"v_sini": 9.0}))  # another label: fine
