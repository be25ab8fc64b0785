"""Out-of-box detection: He II test, the scored sets, the tuning and re-flagging of the benchmark."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from zeta_payne.fitting.flags import BAD_MASK, ResultFlags
from zeta_payne.fitting.outofbox import (
    LINE_GROUPS,
    OutOfBoxDiagnostics,
    OutOfBoxThresholds,
    diagnose,
    out_of_box_flags,
)
from zeta_payne.validation.realstars import (
    BOSS_BOX,
    EDGE_MARGIN,
    detection_statistics,
    reflag,
    scored_set,
    spectral_type_teff,
    tune_out_of_box,
)

LAM = np.linspace(4500.0, 7400.0, 4000)


def _gauss(centre: float, depth: float, width: float) -> np.ndarray:
    return depth * np.exp(-0.5 * ((LAM - centre) / width) ** 2)


def _noisy(model: np.ndarray, seed: int = 3) -> np.ndarray:
    return model + np.random.default_rng(seed).normal(size=model.size)


def test_every_flag_bit_has_help_text():
    from zeta_payne.astra.model import flag_help

    for bit in ResultFlags:
        assert flag_help(bit.name.lower()).strip(), bit.name
    with pytest.raises(KeyError):
        flag_help("no_such_flag")


def test_he_ii_absorption_the_model_lacks_is_flagged():
    model = np.full(LAM.size, 100.0)
    used = np.ones(LAM.size, bool)
    clean = diagnose(LAM, _noisy(model), np.ones(LAM.size), model, used)
    assert out_of_box_flags(clean, teff=20000.0) == 0
    centres = LINE_GROUPS["helium_ii"][0]
    observed = _noisy(model - sum(_gauss(c, 6.0, 2.0) for c in centres))
    hot = diagnose(LAM, observed, np.ones(LAM.size), model, used)
    assert hot.bias["helium_ii"] < -2.0
    assert hot.ratio["helium_ii"] > OutOfBoxThresholds().ratio["helium_ii"]
    flags = out_of_box_flags(hot, teff=20000.0)
    assert flags & ResultFlags.LINE_MISMATCH and flags & ResultFlags.OUT_OF_BOX
    assert flags & BAD_MASK
    # the test switched off: the same spectrum passes
    off = dataclasses.replace(OutOfBoxThresholds(), ratio={})
    assert out_of_box_flags(hot, off, teff=20000.0) == 0


def test_he_ii_windows_follow_the_radial_velocity():
    model = np.full(LAM.size, 100.0)
    shift = 1.0 + 800.0 / 299792.458  # 12–14 Å: out of the ±6 Å windows at rest
    observed = _noisy(model - sum(_gauss(c * shift, 6.0, 2.0) for c in LINE_GROUPS["helium_ii"][0]))
    used = np.ones(LAM.size, bool)
    at_rest = diagnose(LAM, observed, np.ones(LAM.size), model, used, v_rad=0.0)
    moving = diagnose(LAM, observed, np.ones(LAM.size), model, used, v_rad=800.0)
    assert moving.bias["helium_ii"] < at_rest.bias["helium_ii"] - 1.0


@pytest.mark.parametrize(
    ("labels", "reasons", "expected"),
    [
        ((8000.0, 4.0, 0.0), (), "in"),
        ((8000.0, 4.0, -1.5), ("metal_poor",), "out"),  # beyond −0.8 by 0.7 > 0.35
        ((8000.0, 4.0, -0.9), ("metal_poor",), "edge"),  # beyond by 0.1: within the margin
        ((8000.0, 4.0, -0.6), (), "edge"),  # inside by 0.2: within the margin
        ((8000.0, 2.6, 0.0), ("giant",), "out"),
        ((8000.0, 2.9, 0.0), ("giant",), "edge"),
        ((30000.0, 4.0, 0.0), ("teff",), "out"),
        ((25200.0, 4.0, 0.0), ("teff",), "edge"),  # 0.8 % beyond 25 kK
        ((6050.0, 4.0, 0.0), (), "edge"),  # 0.8 % inside 6 kK
        ((8000.0, 4.0, 0.0), ("peculiar",), "peculiar"),
        ((8000.0, 4.0, 0.0), ("emission",), "out"),
        ((8000.0, 4.0, 0.0), ("peculiar", "emission"), "out"),
        ((8000.0, math.nan, 0.0), ("labels_missing",), "unknown"),
        ((8000.0, 2.0, math.nan), ("labels_missing", "giant"), "out"),
    ],
)
def test_scored_set(labels, reasons, expected):
    assert scored_set(*labels, reasons) == expected


def test_scored_set_counts_a_true_v_sini_at_the_upper_edge_only():
    """A synthesis-truth case whose true v sin i is within the margin of the box's upper v sin i
    is at the edge (a fit there is rightly flagged at the edge); slow rotators stay in; without
    a v sin i (real stars) or a v sin i box nothing changes."""
    box = {**BOSS_BOX, "v_sini": (0.0, 400.0)}
    assert scored_set(12000.0, 4.0, 0.0, (), box, v_sini=390.0) == "edge"
    assert scored_set(12000.0, 4.0, 0.0, (), box, v_sini=379.0) == "in"
    assert scored_set(12000.0, 4.0, 0.0, (), box, v_sini=0.0) == "in"
    assert scored_set(12000.0, 4.0, 0.0, (), box, v_sini=421.0) == "out"
    assert scored_set(12000.0, 4.0, 0.0, (), box) == "in"
    assert scored_set(12000.0, 4.0, 0.0, (), BOSS_BOX, v_sini=399.0) == "in"


def test_scored_set_margins_are_the_box_edges_shifted():
    lo = BOSS_BOX["m_h"][0]
    m = EDGE_MARGIN["m_h"]
    assert scored_set(8000.0, 4.0, lo - m - 0.01) == "out"
    assert scored_set(8000.0, 4.0, lo - m + 0.01) == "edge"
    assert scored_set(8000.0, 4.0, lo + m + 0.01) == "in"
    assert (
        scored_set(8000.0, 4.0, 0.0, box=BOSS_BOX, margin={"teff": 0.02, "logg": 0.25, "m_h": 0.9}) == "edge"
    )


def test_spectral_type_teff():
    assert spectral_type_teff("A0V") == pytest.approx(9700.0)
    assert spectral_type_teff("B9.5III") == pytest.approx(10400.0)
    assert spectral_type_teff("F0.5") == pytest.approx(0.5 * (7220.0 + 7020.0))
    assert spectral_type_teff("sdF5") == pytest.approx(6550.0)
    assert math.isnan(spectral_type_teff("A"))
    assert math.isnan(spectral_type_teff("K:"))


def _row(i: int, scored: str, emission: float, teff_ref: float = 9000.0, teff: float = 9000.0) -> dict:
    return {
        "name": f"star{i}",
        "scored": scored,
        "out_of_box": "emission" if scored == "out" else "",
        "teff_ref": teff_ref,
        "teff": teff,
        "d_teff": teff - teff_ref,
        "result_flags": 0,
        "flag_names": "",
        "bad": False,
        "poor_fit": False,
        "edge": False,
        "oob": False,
        "ref_disputed": False,
        "_emission": emission,
    }


def _sample(n: int = 200, seed: int = 0):
    """In-box stars with emission statistics ~ N(2, 1.5), out-of-box ones ~ N(14, 3)."""
    rng = np.random.default_rng(seed)
    rows, diags = [], []
    for i in range(n):
        out = rng.random() < 0.4
        value = rng.normal(14.0, 3.0) if out else rng.normal(2.0, 1.5)
        rows.append(_row(i, "out" if out else "in", value))
        diags.append(OutOfBoxDiagnostics(rchi2_rest=1.0, emission=value))
    return rows, diags


def test_reflag_sets_only_the_out_of_box_bits():
    rows, diags = _sample(20)
    for r in rows:
        r["result_flags"] = int(ResultFlags.V_SINI_UNRESOLVED | ResultFlags.EMISSION)
    again = reflag(rows, diags, OutOfBoxThresholds(emission=1e9))
    for r in again:
        assert r["result_flags"] == int(ResultFlags.V_SINI_UNRESOLVED)
        assert not r["bad"]  # v sin i below the resolution is not BAD
    flagged = reflag(rows, diags, OutOfBoxThresholds(emission=-1e9))
    assert all(r["oob"] and r["bad"] and "emission" in r["flag_names"] for r in flagged)


def test_tuning_on_one_half_holds_on_the_other():
    rows, diags = _sample(400)
    start = OutOfBoxThresholds(emission=math.inf)
    grid = {"emission": (3.0, 4.0, 5.0, 6.0, 8.0, 10.0, math.inf)}
    tuned, score = tune_out_of_box(rows, diags, half=0, max_in_rate=0.05, grid=grid, start=start)
    assert tuned.emission in (6.0, 8.0)  # 5 flags ≈ 2.3 % of N(2, 1.5): over the 5 % limit at 4
    assert score["in_oob"] <= 0.05 and score["out_bad"] >= 0.95
    stats = {(d["set"], d["group"]): d for d in detection_statistics(reflag(rows, diags, tuned))}
    held_in, held_out = stats["in", "all"], stats["out", "all"]
    assert held_in["n_oob_half1"] <= 0.08 * held_in["n_half1"]
    assert held_out["n_bad_half1"] >= 0.9 * held_out["n_half1"]


def test_detection_statistics_counts_per_set_and_half():
    rows = [_row(i, s, 0.0) for i, s in enumerate(["in", "in", "out", "out", "edge", "peculiar"])]
    rows[2]["bad"] = rows[2]["oob"] = True
    rows[3].update(teff=12000.0, d_teff=3000.0)  # 33 % off, unflagged
    stats = {(d["set"], d["group"]): d for d in detection_statistics(rows)}
    out = stats["out", "all"]
    assert (out["n"], out["n_oob"], out["n_bad"], out["n_half0"], out["n_bad_half0"]) == (2, 1, 1, 1, 1)
    assert out["n_off15_silent"] == 1 and out["n_off15_silent_disputed"] == 0
    assert stats["out", "emission"]["n"] == 2
    assert stats["in", "all"]["n_oob"] == 0 and stats["edge", "all"]["n"] == 1


def test_tuning_from_a_start_over_the_limit_never_flags_more_in_box_stars():
    rows, diags = _sample(400, seed=4)
    start = OutOfBoxThresholds(emission=2.0)  # flags half the in-box stars
    flagged_before = sum(r["oob"] for r in reflag(rows, diags, start)[0::2] if r["scored"] == "in")
    tuned, score = tune_out_of_box(rows, diags, half=0, grid={"emission": (2.0, 6.0, 8.0)}, start=start)
    flagged_after = sum(r["oob"] for r in reflag(rows, diags, tuned)[0::2] if r["scored"] == "in")
    assert flagged_after <= flagged_before
    assert tuned.emission in (6.0, 8.0) and score["in_oob"] <= 0.05


def test_select_points_keeps_every_out_of_box_point():
    from zeta_payne.validation.realstars_synth import select_points

    kinds = ["in"] * 10 + ["out:metal-poor"] + ["in"] * 5 + ["out:too-hot"]
    assert select_points(kinds).tolist() == list(range(17))
    chosen = select_points(kinds, 6)
    assert {10, 16} <= set(chosen.tolist()) and len(chosen) == 6
    assert chosen.tolist() == sorted(chosen.tolist())
    assert select_points(kinds, 1).tolist() == [10]


def test_metal_weak_test_is_off_by_default():
    clean = OutOfBoxDiagnostics(rchi2_rest=1.0)
    assert OutOfBoxThresholds().metal_weak_m_h == -math.inf
    assert out_of_box_flags(clean, teff=9000.0, m_h=-0.79) == 0
    assert out_of_box_flags(None, teff=9000.0, m_h=-0.79) == 0


@pytest.mark.parametrize(
    ("teff", "m_h", "flagged"),
    [
        (9000.0, -0.70, True),  # a hot fit just short of the metal-poor edge
        (9000.0, -0.60, False),  # above the threshold
        (6500.0, -0.70, False),  # an F-star fit: its metal lines reach the edge themselves
        (math.nan, -0.70, False),
        (9000.0, math.nan, False),
        (None, -0.70, False),
    ],
)
def test_metal_weak_hot_fit(teff, m_h, flagged):
    on = OutOfBoxThresholds(metal_weak_m_h=-0.65)
    for diag in (OutOfBoxDiagnostics(rchi2_rest=1.0), None):
        flags = out_of_box_flags(diag, on, teff=teff, m_h=m_h)
        if flagged:
            assert flags == int(ResultFlags.OUT_OF_BOX | ResultFlags.M_H_NEAR_EDGE)
            assert flags & BAD_MASK
        else:
            assert flags == 0


def test_reflag_and_tuning_see_the_fitted_metallicity():
    rows, diags = [], []
    for i in range(40):
        out = i % 4 == 0
        row = _row(i, "out" if out else "in", 0.0)
        row["m_h"] = -0.72 if out else -0.2 - 0.01 * i  # in-box fits down to −0.59
        rows.append(row)
        diags.append(OutOfBoxDiagnostics(rchi2_rest=1.0, emission=0.0))
    off = reflag(rows, diags, OutOfBoxThresholds())
    assert not any(r["oob"] for r in off)
    grid = {"metal_weak_m_h": (-math.inf, -0.8, -0.7, -0.65, -0.5)}
    tuned, score = tune_out_of_box(rows, diags, half=0, grid=grid)
    # every out star caught with no in-box star: the most conservative such value
    assert tuned.metal_weak_m_h == -0.7
    assert score["out_oob"] == 1.0 and score["in_oob"] == 0.0
    flagged = reflag(rows, diags, tuned)
    assert all(r["oob"] == (r["scored"] == "out") for r in flagged)
    assert all("m_h_near_edge" in r["flag_names"] for r in flagged if r["oob"])


def test_a_star_below_the_bundles_logg_floor_is_out_of_its_box():
    """A v3 bundle's box is rectangular, its trained region not: a hot giant below the log g
    floor (no atmospheres, no training spectra) is out, as a giant."""
    from zeta_payne.validation.realstars import classify

    box = {"teff": (6000.0, 30000.0), "logg": (2.5, 5.0), "m_h": (-2.0, 0.8)}
    floor = [(18000.0, 25000.0, 3.0), (25000.0, 30000.0, 3.5)]
    assert classify(21000.0, 2.7, 0.0, "B1II", box).in_box
    assert classify(21000.0, 2.7, 0.0, "B1II", box, floor).reasons == ("giant",)
    assert classify(12000.0, 2.7, 0.0, "B8III", box, floor).in_box  # cooler: atmospheres exist
    assert scored_set(21000.0, 2.8, 0.0, (), box) == "in"
    assert scored_set(21000.0, 2.8, 0.0, (), box, floor=floor) == "edge"  # within the margin
    assert scored_set(21000.0, 2.7, 0.0, (), box, floor=floor) == "out"


def test_synthetic_scoring_uses_the_bundles_logg_floor_as_the_real_stars_do():
    """A truth point at 25.4 kK and log g 3.0 lies in the rectangle but 0.5 dex below the
    APOGEE bundle's floor (3.5 above 25 kK): scored out, not in (it was in before)."""
    from zeta_payne.validation.realstars_synth import synthetic_detection

    box = {"teff": (6000.0, 30000.0), "logg": (2.5, 5.0), "m_h": (-2.0, 0.8)}
    floor = [(18000.0, 25000.0, 3.0), (25000.0, 30000.0, 3.5)]
    rows = [{"teff_ref": 25359.0, "logg_ref": 3.02, "m_h_ref": 0.16, "kind": "in", "result_flags": 0},
            {"teff_ref": 12000.0, "logg_ref": 4.0, "m_h_ref": 0.0, "kind": "in", "result_flags": 0}]
    plain = {(t["set"], t["group"]): t["n"] for t in synthetic_detection([dict(r) for r in rows], box)}
    assert plain[("in", "all")] == 2 and ("out", "all") not in plain
    table = {(t["set"], t["group"]): t["n"] for t in synthetic_detection(rows, box, floor)}
    assert table[("in", "all")] == 1 and table[("out", "all")] == 1
    assert table[("box", "in")] == 2  # the truth file's own split is unchanged


def test_tuning_table_scores_every_variant_on_both_halves():
    from zeta_payne.validation.realstars_tuning import format_tuning, tuning_table

    rows, diags = _sample(400, seed=7)
    start = OutOfBoxThresholds(emission=math.inf)  # the "bundle" row flags nothing
    table = tuning_table(rows, diags, start, groups=("emission",))
    assert [r["variant"] for r in table] == ["bundle", "emission on half 0", "emission on half 1"]
    assert table[0]["out_oob_half0"] == table[0]["in_oob_half1"] == 0
    assert table[0]["changes"] == {"emission": "inf"}
    n_out = table[0]["out_n_half0"] + table[0]["out_n_half1"]
    assert n_out == sum(r["scored"] == "out" for r in rows)
    for r in table[1:]:
        assert r["thresholds"].emission in (6.0, 7.0, 8.0, 9.0, 10.0)
        held = 1 - int(r["variant"][-1])
        assert r[f"out_bad_half{held}"] >= 0.9 * r[f"out_n_half{held}"]
        assert r[f"in_oob_half{held}"] <= 0.08 * r[f"in_n_half{held}"]
        assert OutOfBoxThresholds.from_changes(r["changes"]) == r["thresholds"]
    text = format_tuning(table, "t")
    assert text.count("\n| emission on half") == 2 and "**" in text


def test_detectability_threshold_is_the_larger_of_the_bound_and_the_in_box_floor():
    """λ of out-of-box cases against max(NP bound 10.8, p95 of in-box λ); flagged by point."""
    from zeta_payne.validation.realstars_synth import NP_LAMBDA, detectability

    assert NP_LAMBDA == pytest.approx(10.82, abs=0.01)
    inside = [{"point": i, "scored": "in", "chi2": float(c), "bad": False}
              for i, c in enumerate(range(1, 101))]
    out = [{"point": 200 + i, "scored": "out", "chi2": c, "bad": b}
           for i, (c, b) in enumerate([(50.0, False), (96.0, True), (500.0, True), (np.nan, True)])]
    edge = [{"point": 300, "scored": "edge", "chi2": 1e4, "bad": True}]
    cases, summary = detectability(inside + out + edge, inside + out + edge)
    assert summary["lam_in_p95"] == pytest.approx(95.05)
    assert summary["threshold"] == pytest.approx(95.05)
    assert [c["distinguishable"] for c in cases] == [False, True, True, False]
    assert summary["n_out"] == 4 and summary["n_distinguishable"] == 2
    assert summary["n_flagged"] == 3 and summary["n_flagged_distinguishable"] == 2
    # a floor below the bound: the bound decides
    low = [dict(r, chi2=0.01 * r["chi2"]) for r in inside]
    _, s = detectability(low + out, None)
    assert s["threshold"] == pytest.approx(NP_LAMBDA) and s["n_flagged"] is None
