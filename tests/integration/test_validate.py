"""A small simulation study end to end: 30 spectra, one S/N, through the CLI."""

import csv
import json

import numpy as np

from zeta_payne.cli import main
from zeta_payne.validation.statistics import converged, summarize


def test_paper_criterion_and_centred_variant():
    rng = np.random.default_rng(0)
    d = rng.normal(0, 1, 4000)
    d[:40] = 50.0  # outliers
    s = summarize({"x": d})
    assert 0.985 < s["x"]["reliability"] < 0.995
    assert 0.9 < s["x"]["rms"] < 1.1
    biased = rng.normal(3.0, 0.01, 1000)  # tiny scatter around an offset: literal band misses it
    assert converged(biased, "paper").mean() == 0.0
    assert converged(biased, "centred").mean() > 0.99


def test_validate_small(analytic_bundle, analytic_grid, tmp_path, capsys, monkeypatch):
    # the analytic bundle covers 4810-5390 Å only: fit that range
    manifest = json.loads((analytic_bundle.path / "manifest.json").read_text())
    lo, hi = manifest["fit_defaults"]["wavelength_range"]
    assert 4810 < lo < 4840 and 5360 < hi < 5390  # within the grid, not the instrument default
    out = tmp_path / "val"
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import FitOptions

    original = Fitter.default_options

    def narrow(bundle):
        return original(bundle).updated(wavelength_range=(4830.0, 5370.0), n_chebyshev=4, min_pixels=50)

    monkeypatch.setattr(Fitter, "default_options", staticmethod(narrow))
    assert isinstance(narrow(analytic_bundle), FitOptions)
    status = main(
        [
            "validate",
            "--bundle",
            str(analytic_bundle.path),
            "--grid",
            str(analytic_grid),
            "--n",
            "30",
            "--snr",
            "100",
            "--processes",
            "1",
            "--presearch-points",
            "256",
            "-o",
            str(out),
        ]
    )
    assert status == 0
    report = (out / "report.md").read_text()
    assert "Table 3" in report and "BOSS" in report
    assert "truth: **interpolant (emulator-only view)**; observations: **idealised**" in report
    # the test points are checked against the bundle's shipped training labels
    assert "test points vs the 360 training points: 0 coincide" in report
    # the environment the fits were made in (they can differ in the last digits elsewhere)
    assert f"numpy {np.__version__}, scipy " in report
    rows = list(csv.DictReader(open(out / "table3.csv")))
    labels = {r["label"] for r in rows}
    assert {"teff", "logg", "v_sini", "m_h", "v_rad", "all"} <= labels
    assert all(r["instrument"] == "boss" and r["snr"] == "100" for r in rows)
    results = list(csv.DictReader(open(out / "results.csv")))
    assert len(results) == 30
    rv = np.array([float(r["v_rad"]) - float(r["true_v_rad"]) for r in results])
    assert np.median(np.abs(rv)) < 10  # the RV is recovered
    # every failure is diagnosed: emulator limit or optimizer miss, from recorded χ²
    assert all(np.isfinite(float(r["chi2_true"])) and float(r["fit_seconds"]) > 0 for r in results)
    (fail,) = list(csv.DictReader(open(out / "failures.csv")))
    parts = int(fail["emulator_limited"]) + int(fail["optimizer_miss"]) + int(fail["undiagnosed"])
    assert parts == int(fail["failed"]) and int(fail["undiagnosed"]) == 0
    assert "Failures: emulator limit or optimizer miss" in report
    t2 = list(csv.DictReader(open(out / "table2.csv")))
    assert {r["binned_by"] for r in t2} == {"teff", "v_sini"}
    assert (out / "delta_boss_snr100.png").stat().st_size > 1000
    # the report can be written again from the folder alone, the same tables
    again = tmp_path / "again"
    assert main(["validate", "--report-only", str(out), "-o", str(again)]) == 0
    assert (again / "table3.csv").read_text() == (out / "table3.csv").read_text()
    assert (again / "failures.csv").read_text() == (out / "failures.csv").read_text()
    assert (again / "report.md").read_text() == report
    both = tmp_path / "both"
    assert main(["validate", "--report-only", str(out), "--report-only", str(again), "-o", str(both)]) == 0
    assert len(list(csv.DictReader(open(both / "results.csv")))) == 60
