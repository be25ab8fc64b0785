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
