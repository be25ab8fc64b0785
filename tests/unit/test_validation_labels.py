"""Test points of a simulation study: the trained box only, the same points as before elsewhere."""

from types import SimpleNamespace

import numpy as np

from zeta_payne.fitting.region import below_logg_floor
from zeta_payne.validation.runner import test_labels as draw_test_labels


def _bundle(floor=()):
    specs = [
        SimpleNamespace(name="teff", lower=6000.0, upper=30000.0, value=None, free=True),
        SimpleNamespace(name="logg", lower=2.5, upper=5.0, value=None, free=True),
        SimpleNamespace(name="v_micro", lower=1.0, upper=4.0, value=2.0, free=False),
    ]
    fit_defaults = {"logg_floor": [list(c) for c in floor]} if floor else {}
    return SimpleNamespace(labels=specs, manifest=SimpleNamespace(fit_defaults=fit_defaults))


def test_points_below_the_logg_floor_are_skipped_and_the_rest_kept_in_order():
    floor = [(18000.0, 25000.0, 3.0), (25000.0, 30000.0, 3.5)]
    plain, rv_plain = draw_test_labels(_bundle(), 200, seed=3)
    kept, rv_kept = draw_test_labels(_bundle(floor), 200, seed=3)
    assert kept.shape == plain.shape == (200, 3) and rv_kept.shape == (200,)
    assert not below_logg_floor(kept[:, 0], kept[:, 1], floor).any()
    below = below_logg_floor(plain[:, 0], plain[:, 1], floor)
    assert below.any()  # the plain draw does put points in the holes
    # the floor only removes points: the kept ones are the plain sequence without the holes
    n = int((~below).sum())
    np.testing.assert_array_equal(kept[:n], plain[~below])
    np.testing.assert_array_equal(rv_kept[:n], rv_plain[~below])
    assert np.all(kept[:, 2] == 2.0)


def test_a_keep_rule_skips_points_like_the_floor():
    plain, _ = draw_test_labels(_bundle(), 200, seed=5)
    cool, _ = draw_test_labels(_bundle(), 200, seed=5, keep=lambda labels: labels[:, 0] < 15000.0)
    assert cool.shape == (200, 3) and (cool[:, 0] < 15000.0).all()
    first = plain[plain[:, 0] < 15000.0]
    np.testing.assert_array_equal(cool[: len(first)], first)
