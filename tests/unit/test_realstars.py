"""The real-star benchmark's classification and statistics (no fitting)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zeta_payne.validation.realstars import bin_statistics, classify, flag_statistics, robust_scatter


@pytest.mark.parametrize(
    ("args", "cls", "reasons"),
    [
        ((7000, 4.2, 0.0, "F0V"), "F", ()),
        ((8500, 4.0, -1.5, "A0 V (HB)"), "A", ("metal_poor", "hb_subdwarf")),
        ((9400, 1.4, math.nan, "A0Ia"), "A", ("labels_missing", "giant")),
        ((13400, 3.6, 0.1, "B8IIImnp"), "late-B", ("peculiar",)),
        ((17800, 2.7, 0.0, "B2Iave"), "early-B", ("giant", "emission")),
        ((36000, 3.2, 0.0, "O7Ia"), "O", ("teff",)),
        ((6400, 4.0, 0.2, "F5Vvar"), "F", ()),
    ],
)
def test_classify(args, cls, reasons):
    c = classify(*args)
    assert c.teff_class == cls
    assert c.reasons == reasons
    assert c.in_box == (not reasons)


def test_robust_scatter_of_a_gaussian():
    x = np.random.default_rng(3).normal(0.0, 2.0, 20000)
    assert robust_scatter(np.r_[x, [np.nan, 1e6]]) == pytest.approx(2.0, rel=0.03)
    assert math.isnan(robust_scatter([]))


def _row(teff_ref, d_teff, in_box=1, bad=False, poor_fit=False, reasons=""):
    return {
        "teff_ref": teff_ref,
        "d_teff": d_teff,
        "d_logg": 0.1,
        "d_m_h": -0.3,
        "d_v_rad": 1.0,
        "rchi2": 1.0,
        "in_box": in_box,
        "bad": bad,
        "poor_fit": poor_fit,
        "edge": False,
        "out_of_box": reasons,
    }


def test_bin_and_flag_statistics():
    rows = [
        _row(6500, 100),
        _row(6600, -100),
        _row(7000, 50, bad=True),
        _row(8000, 3000, 0, reasons="metal_poor"),
    ]
    bins = {(b["sample"], b["teff_bin"]): b for b in bin_statistics(rows)}
    e = bins["in-box", "6400–7500"]
    assert e["n"] == 3 and e["n_bad"] == 1 and e["n_teff"] == 2
    assert e["d_teff_median"] == 0 and e["d_m_h_median"] == pytest.approx(-0.3)
    assert bins["out-of-box", "7500–10000"]["n"] == 1
    flags = {f["group"]: f for f in flag_statistics(rows)}
    assert flags["metal_poor"]["n_wrong"] == 1 and flags["metal_poor"]["n_silent"] == 1
    assert flags["in-box"]["n_bad"] == 1 and flags["in-box"]["n_silent"] == 0
