"""The real-star benchmark end to end on a few stars of the committed sample (data/real)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from zeta_payne.cli import main
from zeta_payne.fitting.flags import BAD_MASK

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "real"
pytestmark = pytest.mark.skipif(
    not (SAMPLE / "stars.csv").is_file() or not (REPO / "data" / "bundles" / "zeta-payne-boss").is_dir(),
    reason="no real-star sample or no shipped BOSS bundle",
)

#: An in-box F star and an in-box A star (MILES), a metal-poor HB star (STELIB).
# the shipped bundle's generation: v3 reaches [M/H] −2 and log g 2.5
V3 = (REPO / "data" / "bundles" / "zeta-payne-boss" / "manifest.json").is_file() and json.loads(
    (REPO / "data" / "bundles" / "zeta-payne-boss" / "manifest.json").read_text()
)["version"].startswith("3.")
# the out-of-box star: beyond the shipped box's [M/H] by more than the 0.35-dex margin
# (v2: HD 161817, [Fe/H] −1.3, log g 2.94; v3: BD+09 2190, [Fe/H] −2.93, log g 4.56)
OUT_STAR = "MILES m0348 BD+092190" if V3 else "STELIB HD161817"
STARS = ["MILES m0763 HD194943", "MILES m0304 HD072660", OUT_STAR]


def test_sample_is_complete():
    from zeta_payne.validation.realstars import load_sample

    stars = load_sample(SAMPLE)
    assert len(stars) >= 400
    libraries = {s.reference["library"] for s in stars}
    assert libraries == {"MILES", "STELIB"}
    assert sum(int(s.reference["in_box"]) for s in stars) >= 200
    for s in stars[:: len(stars) // 10]:
        assert s.spectrum.frame == "rest"
        assert s.spectrum.lsf_fwhm is not None and s.spectrum.usable().sum() > 2000
        assert s.reference["teff_ref"] >= 6000


def test_benchmark_real_small(tmp_path):
    out = tmp_path / "real"
    args = ["benchmark-real", "--sample", str(SAMPLE), "-o", str(out), "--worst", "1"]
    for name in STARS:
        args += ["--star", name]
    assert main(args) == 0
    for name in (
        "report.md",
        "results.csv",
        "bins.csv",
        "flags.csv",
        "detection.csv",
        "offsets.png",
        "worst_in_box.png",
    ):
        assert (out / name).is_file(), name
    rows = {r["name"]: r for r in csv.DictReader(open(out / "results.csv"))}
    assert set(rows) == set(STARS)
    f_star = rows["MILES m0763 HD194943"]
    assert f_star["in_box"] == "1"
    assert abs(float(f_star["d_teff"])) < 0.1 * float(f_star["teff_ref"])
    # v_micro, a fitted label of the bundle, is in the results (fitted for the F star, 1-4 km/s)
    assert 1.0 <= float(f_star["v_micro"]) <= 4.0 and "e_v_micro" in f_star
    assert rows[OUT_STAR]["in_box"] == "0"
    assert "metal_poor" in rows[OUT_STAR]["out_of_box"]
    # scored sets: the F and A stars are inside the box by more than the margin; the out star
    # is beyond it by more
    assert f_star["scored"] == "in" and rows["MILES m0304 HD072660"]["scored"] == "in"
    assert rows[OUT_STAR]["scored"] == "out"
    a_star = rows["MILES m0304 HD072660"]
    assert a_star["spectral_type"].startswith("A1") and float(a_star["teff_spt"]) == pytest.approx(9300.0)
    detection = {(r["set"], r["group"]): r for r in csv.DictReader(open(out / "detection.csv"))}
    assert detection["in", "all"]["n"] == "2" and detection["out", "all"]["n"] == "1"
    assert int(detection["in", "all"]["n_half0"]) + int(detection["in", "all"]["n_half1"]) == 2
    # a v sin i below the resolution limit alone never makes a row BAD
    for r in rows.values():
        if r["flag_names"] == "v_sini_unresolved":
            assert not int(r["result_flags"]) & int(BAD_MASK)
    report = (out / "report.md").read_text()
    assert "Real-star benchmark" in report and "wrong and unflagged" in report
    assert "Out-of-box detection by scored set" in report
    # the processing paragraph gives this sample's blue cut and the bundle's own fitted range
    defaults = json.loads((REPO / "data" / "bundles" / "zeta-payne-boss" / "manifest.json").read_text())[
        "fit_defaults"]
    lo, hi = defaults["wavelength_range"]
    assert "4450 Å and redder" in report
    assert f"the bundle's default fitted range ({lo:.0f}–{hi:.0f} Å)" in report
    # the run records the numerical environment its fits were made in, and the report says it
    run = json.loads((out / "run.json").read_text())
    assert run["environment"]["numpy"] == np.__version__ and "scipy" in run["environment"]
    assert f"numpy {np.__version__}" in report
    # the report can be written again without fitting (the environment from run.json)
    assert (
        main(["benchmark-real", "--sample", str(SAMPLE), "-o", str(out), "--report-only", "--worst", "1"])
        == 0
    )
    assert f"numpy {np.__version__}" in (out / "report.md").read_text()
    # the bundle's out-of-box thresholds tuned on the stored fits, without fitting again
    tune = ["benchmark-real", "--sample", str(SAMPLE), "-o", str(out), "--tune-out-of-box", "emission"]
    assert main(tune) == 0
    tuning = (out / "out-of-box-tuning.md").read_text()
    # the out star is BAD (its [M/H] at the box's edge); the out-of-box detector's own bit is set
    # on it by the v2 bundle only (v3: not set; measured)
    flagged = "0/1" if V3 else "1/1"
    assert f"| bundle | 1/1 | 0/0 | {flagged} | 0/0 | 0/1 | 0/1 | `{{}}` |" in tuning
    assert tuning.count("| emission on half") == 2
    assert main([*tune[:-1], "balmer"]) != 0  # not a tuning group


TRUTH = REPO / "data" / "truth" / ("synth-truth-v3" if V3 else "synth-truth-v1")


@pytest.mark.skipif(not (TRUTH / "manifest.json").is_file(), reason="no synthesis truth")
def test_benchmark_synthetic_small(tmp_path):
    out = tmp_path / "real"
    args = ["benchmark-real", "--synthetic", str(TRUTH), "--limit", "2", "-o", str(out), "--snr", "50"]
    assert main(args) == 0
    folder = out / "synthetic-boss"
    rows = list(csv.DictReader(open(folder / "results.csv")))
    # --limit 2 fits the first two out-of-box truth points (metal-poor [M/H] −1.19, log g 2.74):
    # the metal-poor one ends at the [M/H] edge (BAD); the log g 2.74 one, 0.26 below the edge,
    # at least with a label at or near the edge (with these draws of v sin i, RV and noise it
    # gets only the near-edge warnings)
    assert len(rows) == 2
    by_kind = {r["kind"]: r for r in rows}
    assert set(by_kind) == {"out:metal-poor", "out:low-gravity"}
    metal_poor = by_kind["out:metal-poor"]
    assert int(metal_poor["result_flags"]) & int(BAD_MASK), metal_poor["flag_names"]
    if V3:
        # v3 truth: [M/H] −2.34 at 12,100 K / log g 4.99 — fitted toward the box's metal-poor
        # end (about −1.9) and BAD through its log g at the upper edge; the log g 2.36 one at
        # 8,000 K ends at the log g 2.5 edge
        assert float(metal_poor["m_h"]) < -1.5
        assert "logg_at_edge" in by_kind["out:low-gravity"]["flag_names"]
    else:
        assert "m_h_at_edge" in metal_poor["flag_names"]
    assert "logg_" in by_kind["out:low-gravity"]["flag_names"]
    assert "Out-of-box detection on synthesis truth" in (folder / "report.md").read_text()
    assert (folder / "spectra.npz").is_file()
    # scored again without fitting; the report names the software the fits were made with
    assert main([*args, "--report-only"]) == 0
    assert f"numpy {np.__version__}" in (folder / "report.md").read_text()
    # the same two cases observed without noise, weighted at S/N 50: the fit's χ² is λ, the
    # case's distance from the box — far below the noisy χ² (noise adds about one per pixel)
    assert main([*args, "--noiseless"]) == 0
    quiet = list(csv.DictReader(open(out / "synthetic-noiseless-boss" / "results.csv")))
    noisy = {r["point"]: r for r in csv.DictReader(open(folder / "results.csv"))}
    assert [r["kind"] for r in quiet] == [r["kind"] for r in rows]
    for r in quiet:
        assert 0.0 <= float(r["chi2"]) < 0.5 * float(noisy[r["point"]]["rchi2"]) * int(r["n_pixels"])
    report = (out / "synthetic-noiseless-boss" / "detectability.md").read_text()
    # both cases lie within the scoring margin of the box's edges (set "edge"): none to judge
    assert "In-box cases: 0" in report and "Out-of-box cases: 0" in report
