"""The before/after comparison of two real-star benchmark runs (like for like)."""

from __future__ import annotations

import math

import pytest

from zeta_payne.validation.realstars_compare import compare_runs, format_comparison


def _row(name, teff_ref, d_teff, d_logg, d_m_h, in_box=1, bad=False):
    return {
        "name": name,
        "teff_ref": teff_ref,
        "in_box": in_box,
        "bad": bad,
        "d_teff": d_teff,
        "d_logg": d_logg,
        "d_m_h": d_m_h,
    }


def test_only_stars_in_both_boxes_and_bad_in_neither_are_compared():
    before = [
        _row("a", 6100, 61, -0.1, -0.30),
        _row("b", 6200, 62, -0.2, -0.40),
        _row("c", 6300, 0, 0.0, -0.90, bad=True),  # BAD before: left out of both
        _row("d", 6300, 0, 0.0, -0.90, in_box=0),  # outside the old box: left out
        _row("e", 8000, -80, 0.2, -0.2),
    ]
    after = [
        _row("a", 6100, 0, 0.0, -0.20),
        _row("b", 6200, 124, 0.0, -0.30),
        _row("c", 6300, 0, 0.0, 0.0),
        _row("d", 6300, 0, 0.0, 0.0),
        _row("e", 8000, 0, 0.0, -0.1, bad=True),  # BAD after: left out of both
    ]
    table = {e["bin"]: e for e in compare_runs(before, after, bins=(6000, 6400, 10000))}
    f = table["6000–6400"]
    assert f["n"] == 2
    assert (f["n_in_before"], f["n_bad_before"]) == (3, 1)
    assert (f["n_in_after"], f["n_bad_after"]) == (4, 0)
    assert f["before_d_m_h"] == pytest.approx(-0.35) and f["after_d_m_h"] == pytest.approx(-0.25)
    assert f["before_d_teff_pct"] == pytest.approx(1.0)  # 61/6100 and 62/6200 are both 1 %
    assert f["after_d_teff_pct"] == pytest.approx(1.0)  # 0 % and 2 %
    a = table["6400–10000"]
    assert a["n"] == 0 and math.isnan(a["after_d_m_h"]) and a["n_bad_after"] == 1
    assert table["all"]["n"] == 2
    text = format_comparison(list(table.values()), "v2", "v3")
    assert "| 6000–6400 | 2 | 3 (1) → 4 (0) |" in text and "-0.35 → -0.25" in text
    assert "| 6400–10000 | 0 |" in text and "— → —" in text


def test_bins_without_stars_in_either_box_are_left_out():
    rows = [_row("a", 6100, 0, 0, 0)]
    bins = [e["bin"] for e in compare_runs(rows, rows, bins=(6000, 7000, 20000))]
    assert bins == ["6000–7000", "all"]


def test_teff_range_selects_by_reference_teff(tmp_path):
    from pathlib import Path

    from zeta_payne.cli.benchmark_real import _select

    sample = Path(__file__).resolve().parents[2] / "data" / "real"
    if not (sample / "stars.csv").is_file():
        pytest.skip("no real-star sample (data/real)")
    from zeta_payne.validation.realstars import load_sample

    teff = {s.name: s.reference["teff_ref"] for s in load_sample(sample)}
    names = _select(str(sample), [7500.0, 10000.0], None)
    assert names and all(7500 <= teff[n] < 10000 for n in names)
    assert len(names) == sum(7500 <= t < 10000 for t in teff.values())
    assert len(_select(str(sample), [7500.0, 10000.0], 5)) == 5
    assert _select(str(sample), None, None) is None
