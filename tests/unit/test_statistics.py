"""Table 3 statistics: a label the fits held, and the all-label reliability's labels."""

import numpy as np

from zeta_payne.validation.statistics import converged, summarize


def test_a_held_label_converges_where_it_equals_its_median():
    held = np.r_[np.zeros(8), 1.5, np.nan]  # v_micro held at the truth in 8 fits, fitted in one
    np.testing.assert_array_equal(converged(held), [True] * 8 + [False, False])
    fitted = np.r_[np.zeros(80), np.random.default_rng(2).normal(0.1, 0.3, 19), 40.0]
    ok = converged(fitted, "centred")  # the fitted ones are judged by their own spread: the wild one fails
    assert ok[:80].all() and ok[80:99].mean() > 0.9 and not ok[99]


def test_all_label_reliability_over_the_chosen_labels():
    rng = np.random.default_rng(1)
    teff = rng.normal(0, 100, 200)
    vmic = np.where(np.arange(200) < 150, 0.0, rng.normal(0, 0.3, 200))
    vmic[-1] = 50.0  # one wild v_micro
    out = summarize({"teff": teff, "v_micro": vmic}, all_of=["teff"])
    assert out["all"]["reliability"] == out["teff"]["reliability"] > 0.95
    assert summarize({"teff": teff, "v_micro": vmic})["all"]["reliability"] < out["all"]["reliability"]


def test_bootstrap_intervals_hold_the_figure_and_shrink_as_one_over_root_n():
    from zeta_payne.validation.statistics import bootstrap_table3

    rng = np.random.default_rng(3)
    widths = {}
    for m in (100, 400):
        d = rng.normal(0, 10.0, m)
        out = bootstrap_table3({"teff": d, "logg": rng.normal(0, 0.1, m)}, n_boot=400)
        lo68, hi68, lo95, hi95 = out["teff"]["rms"]
        rms = summarize({"teff": d})["teff"]["rms"]
        assert lo95 < lo68 < rms < hi68 < hi95
        widths[m] = hi68 - lo68
        # a Gaussian's RMS is known to sigma / sqrt(2 M): the 68 % interval is about twice that
        assert 0.6 < widths[m] / (2 * 10.0 / np.sqrt(2 * m)) < 1.6
        assert 0.0 < out["all"]["reliability"][0] <= out["all"]["reliability"][1] <= 1.0
    assert 1.5 < widths[100] / widths[400] < 2.7
    again = bootstrap_table3({"teff": d}, n_boot=50, seed=1)
    assert again == bootstrap_table3({"teff": d}, n_boot=50, seed=1)
    import pytest

    with pytest.raises(ValueError, match="different lengths"):
        bootstrap_table3({"teff": d, "logg": d[:10]})
