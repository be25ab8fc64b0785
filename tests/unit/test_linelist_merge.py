"""The line-list merge rule (data/linelists/make_linelist.py): one transition, one line."""

import gzip
import importlib.util
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas", reason="the line-list tools need pandas (the synthesis extra)")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "data" / "linelists" / "make_linelist.py"


@pytest.fixture(scope="module")
def mk():
    spec = importlib.util.spec_from_file_location("make_linelist", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lines(rows, source):
    return pd.DataFrame(
        [(sp, w, ep, gf, 0.0, 0.0, 0.0, source) for sp, w, ep, gf in rows],
        columns=["species", "wlcent", "excit", "gflog", "gamrad", "gamqst", "gamvw", "source"],
    )


def test_same_transition_from_another_source_is_dropped(mk):
    ges = _lines([("Fe 2", 5018.440, 2.891, -1.22), ("Cr 1", 5206.023, 0.941, 0.02)], "ges")
    lm = _lines([
        ("Fe 2", 5018.434, 2.891, -1.35),  # same line, 0.006 Å: the v1 rule already
        ("Cr 1", 5206.037, 0.941, 0.019),  # same line, 0.014 Å apart: v1 kept it
        ("Mn 1", 5206.030, 0.941, -1.0),   # other species: kept
        ("Cr 1", 5206.080, 3.000, -1.0),   # same species, other lower level: kept
        ("Cr 1", 5206.200, 0.941, -1.0),   # same level but 0.18 Å away: another line, kept
    ], "linemake")
    kept = mk._dedupe_against(lm, ges, 0.01, mk.SAME_TRANSITION_TOL)
    assert kept["wlcent"].tolist() == [5206.030, 5206.080, 5206.200]
    assert kept["species"].tolist() == ["Mn 1", "Cr 1", "Cr 1"]
    # the v1 rule (0.01 Å only) keeps the doubled Cr I line
    assert len(mk._dedupe_against(lm, ges, 0.01)) == 4


def test_exact_duplicates_in_linemake_are_read_once(mk):
    text = "\n".join([
        "  4005.242  26.0  1.557  -0.610",
        "  4005.242  26.0  1.557  -0.610",
        "  4005.242  26.0  1.557  -0.600",
    ])
    lm = mk.read_linemake(gzip.compress(text.encode()))
    assert len(lm) == 2


def test_shipped_v3_list_has_no_cross_source_twins(mk):
    lines = pd.read_csv(ROOT / "data" / "linelists" / "obaf_merged.csv.gz")
    band = lines[(lines["wlcent"] > 4200) & (lines["wlcent"] < 9200)]
    ges, lm = band[band["source"] == "ges"], band[band["source"] == "linemake"]
    assert len(lm) > 1000
    assert len(mk._dedupe_against(lm, ges, 0.01, mk.SAME_TRANSITION_TOL)) == len(lm)
