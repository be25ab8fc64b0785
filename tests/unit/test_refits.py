"""The refit rules alone: parsed from options and applied to labels, flags and options,
without a bundle or a fit (the fitter's use of them: ``test_fit_hold_outside.py``)."""

import math
from dataclasses import replace

import pytest

from zeta_payne.fitting.flags import label_flag
from zeta_payne.fitting.options import FitOptions
from zeta_payne.fitting.refits import BLUE_LIMIT, EXTRA_MASK, RefitRules

NAMES = ("teff", "logg", "v_sini", "m_h", "v_micro")
FREE = (True, True, True, True, True)
OPTIONS = FitOptions(
    hold_outside={"v_micro": {"label": "teff", "range": [6000, 10000], "value": 2.0}},
    hold_unconstrained_at_edge={"m_h": 0.0},
    blue_limit_outside={"label": "teff", "range": [0, 10000], "value": 4450.0},
    masked_bands_outside={"label": "teff", "range": [0, 12000], "bands": [[5880, 5905]]},
    wavelength_range=(3900.0, 10348.0),
)


def test_rules_decide_from_labels_and_flags():
    rules = RefitRules.from_options(OPTIONS, NAMES, FREE)
    assert rules.active
    assert rules.held_names({"teff": 8000.0}) == ()
    assert rules.held_names({"teff": 11000.0}) == ("v_micro", BLUE_LIMIT)
    assert rules.held_names({"teff": 13000.0}) == ("v_micro", BLUE_LIMIT, EXTRA_MASK)
    assert rules.held_names({"teff": math.nan}) == ()  # a failed fit holds nothing
    at_edge = int(label_flag("m_h", "at_edge"))
    both = at_edge | int(label_flag("m_h", "unconstrained"))
    assert rules.edge_held_names(at_edge) == ()  # at the edge but constrained: kept free
    assert rules.edge_held_names(both) == ("m_h",)


def test_held_options_fix_the_labels_narrow_the_range_and_carry_no_rules():
    rules = RefitRules.from_options(OPTIONS, NAMES, FREE)
    held = rules.held_options(OPTIONS, ("v_micro", "m_h", BLUE_LIMIT, EXTRA_MASK), (0.0, math.inf))
    assert dict(held.fixed) == {"v_micro": 2.0, "m_h": 0.0}
    assert held.wavelength_range == (4450.0, 10348.0)
    assert tuple(held.masked_bands)[-1] == (5880.0, 5905.0)
    assert not RefitRules.from_options(held, NAMES, FREE).active  # a refit never recurses
    # without a wavelength range of its own the fitter's default range is narrowed
    plain = replace(OPTIONS, wavelength_range=None)  # (updated() ignores None)
    assert rules.held_options(plain, (BLUE_LIMIT,), (3600.0, 10400.0)).wavelength_range == (4450.0, 10400.0)


def test_disagrees_needs_the_crossing_and_the_shift_and_can_be_switched_off():
    rules = RefitRules.from_options(OPTIONS, NAMES, FREE)
    assert rules.disagrees({"teff": 13000.0}, {"teff": 9000.0})
    assert not rules.disagrees({"teff": 10500.0}, {"teff": 9900.0})  # crossed, 6 %
    off = RefitRules.from_options(replace(OPTIONS, refit_shift_max=None), NAMES, FREE)
    assert not off.disagrees({"teff": 13000.0}, {"teff": 9000.0})


def test_rules_on_fixed_labels_are_dropped_and_bad_rules_refused():
    fixed = (True, True, True, True, False)  # v_micro fixed everywhere
    assert RefitRules.from_options(OPTIONS, NAMES, fixed).holds == {}
    with pytest.raises(ValueError, match="unknown label"):
        RefitRules.from_options(FitOptions(blue_limit_outside={"label": "x", "range": [0, 1], "value": 1}),
                                NAMES, FREE)
    with pytest.raises(ValueError, match="bands"):
        RefitRules.from_options(FitOptions(masked_bands_outside={"label": "teff", "range": [0, 1],
                                                                 "bands": [[2, 1]]}), NAMES, FREE)
    with pytest.raises(ValueError, match="edge_chi2_min"):
        RefitRules.from_options(FitOptions(hold_unconstrained_at_edge={"m_h": 0.0},
                                           edge_chi2_min={"m_h": 5.0}), NAMES, FREE)
