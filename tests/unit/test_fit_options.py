"""merge_options: bundle defaults, caller overrides and the spectrum's frame in one place."""

import pytest

from zeta_payne.fitting.options import OBSERVED_RV_RANGE, FitOptions, merge_options

DEFAULTS = {
    "wavelength_range": [4500.0, 10170.0],
    "resolution": 2000.0,
    "n_chebyshev": 15,
    "rv_range": [-50.0, 50.0],
    "fixed": {"v_micro": 2.0},
    "not_an_option": 1,
}


def test_bundle_resolution_is_only_the_fallback():
    options = merge_options(DEFAULTS)
    assert options.resolution is None  # never overrides the spectrum's LSF
    assert options.fallback_resolution == 2000.0
    assert options.wavelength_range == (4500.0, 10170.0) and options.rv_range == (-50.0, 50.0)


def test_explicit_resolution_is_distinguishable_from_the_default():
    options = merge_options(DEFAULTS, {"resolution": 1800.0})
    assert options.resolution == 1800.0 and options.fallback_resolution == 2000.0


def test_frame_sets_the_rv_range_unless_given():
    assert merge_options(DEFAULTS, frame="rest").rv_range == (-50.0, 50.0)
    assert merge_options(DEFAULTS, frame=None).rv_range == (-50.0, 50.0)
    assert merge_options(DEFAULTS, frame="observed").rv_range == OBSERVED_RV_RANGE
    given = merge_options(DEFAULTS, {"rv_range": [-80, 80]}, frame="observed")
    assert given.rv_range == (-80, 80)
    with pytest.raises(ValueError, match="frame"):
        merge_options(DEFAULTS, frame="heliocentric")


def test_overrides_none_ignored_fixed_added_unknown_refused():
    options = merge_options(DEFAULTS, {"n_chebyshev": None, "fixed": {"logg": 4.0}, "free": ["m_h"]})
    assert options.n_chebyshev == 15
    assert dict(options.fixed) == {"v_micro": 2.0, "logg": 4.0}
    assert options.free == ("m_h",)
    with pytest.raises(ValueError, match="unknown fit options"):
        merge_options(DEFAULTS, {"presearch_pts": 10})


def test_complete_options_are_taken_as_they_are():
    given = FitOptions(rv_range=(-5.0, 5.0))
    assert merge_options(DEFAULTS, given, frame="observed") is given
