"""`zeta-payne validate --generator synthesis` on a few real truth syntheses, through the CLI."""

import csv
import shutil
from pathlib import Path

import pytest

from zeta_payne.cli import main

REPO = Path(__file__).resolve().parents[2]
TRUTH = REPO / "data" / "truth" / "synth-truth-v1"
POINTS = REPO / "data" / "truth" / "truth-points-v1.txt"
BUNDLE = REPO / "data" / "bundles" / "zeta-payne-boss"


def _tiny_truth(tmp_path: Path) -> Path:
    chunks = sorted((TRUTH / "boss").glob("chunk_*.npz"))[:3] if TRUTH.is_dir() else []
    if not chunks:
        pytest.skip(f"no synthesis-truth chunk in {TRUTH} (make it with data/truth/make_truth.sh)")
    if not BUNDLE.is_dir():
        pytest.skip("no shipped BOSS bundle")
    folder = tmp_path / "synth-truth-v1"
    (folder / "boss").mkdir(parents=True)
    shutil.copy(TRUTH / "manifest.json", folder)
    for chunk in chunks:
        shutil.copy(chunk, folder / "boss")
    if POINTS.is_file():
        shutil.copy(POINTS, tmp_path / "truth-points-v1.txt")
    return folder


def test_validate_synthesis_truth(tmp_path):
    truth = _tiny_truth(tmp_path)
    out = tmp_path / "val"
    status = main(["validate", "--bundle", str(BUNDLE), "--generator", "synthesis", "--truth", str(truth),
                   "--n", "3", "--snr", "100", "--processes", "1", "--presearch-points", "256",
                   "--out-of-box", "-o", str(out)])
    assert status == 0
    report = (out / "report.md").read_text()
    assert "synthesis truth" in report and "observations: **realistic**" in report
    assert "effective number of independent spectra" in report
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 3
    assert all(r["case_truth_kind"] == "in" for r in rows)
    assert all(0.0 <= float(r["case_ebv"]) <= 1.0 for r in rows)
    teff = [abs(float(r["teff"]) - float(r["true_teff"])) / float(r["true_teff"]) for r in rows]
    assert max(teff) < 0.2  # a real synthesis, realistically observed, is still recognised
    flags = list(csv.DictReader(open(out / "flags.csv")))
    assert [f["truth_kind"] for f in flags] == ["in"]
    # out-of-box points, where the copied chunks hold any, are reported apart
    if (out / "out-of-box").is_dir():
        extra = list(csv.DictReader(open(out / "out-of-box" / "flags.csv")))
        assert extra and all(f["truth_kind"].startswith("out") for f in extra)
    # the report can be written again from the folder, the cases included
    again = tmp_path / "again"
    assert main(["validate", "--report-only", str(out), "-o", str(again)]) == 0
    assert (again / "report.md").read_text() == report


def test_validate_takes_one_effect_out_of_the_realistic_observations(tmp_path):
    truth = _tiny_truth(tmp_path)
    out = tmp_path / "val"
    status = main(["validate", "--bundle", str(BUNDLE), "--generator", "synthesis", "--truth", str(truth),
                   "--n", "2", "--snr", "100", "--processes", "1", "--presearch-points", "256",
                   "--observation-set", "ebv_range=0,0", "--observation-set", "sky=false",
                   "-o", str(out)])
    assert status == 0
    assert "realistic (ebv_range=(0.0, 0.0), sky=False) observations" in (out / "report.md").read_text()
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 2 and all(float(r["case_ebv"]) == 0.0 for r in rows)


def test_validate_fits_only_the_truth_points_in_teff_range(tmp_path):
    """``--teff-range LO HI``: cases are drawn only from the in-box truth points in that range
    (a v_micro calibration study at 6-10 kK), and the range is recorded with the study."""
    import json

    import numpy as np

    from zeta_payne.grids.nodes import load_node_grid

    truth = _tiny_truth(tmp_path)
    teff = load_node_grid(truth, "boss").labels[:, 0]
    lo, hi = float(np.min(teff)) - 1.0, float(np.median(teff)) + 1.0  # the cooler half or so
    out = tmp_path / "val"
    status = main(["validate", "--bundle", str(BUNDLE), "--generator", "synthesis", "--truth", str(truth),
                   "--teff-range", str(lo), str(hi), "--n", "4", "--snr", "100", "--processes", "1",
                   "--presearch-points", "256", "-o", str(out)])
    assert status == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert rows and all(lo <= float(r["true_teff"]) <= hi for r in rows)
    stored = json.dumps(json.loads((out / "studies.json").read_text()))
    assert f'"teff_range": [{lo}, {hi}]' in stored  # the range is stored with the study
