"""Error calibration: the error model, its fit, its storage with a bundle, and its use by the fitter."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from zeta_payne.fitting.calibration import (
    ErrorCalibration,
    ErrorModel,
    fit_error_model,
    robust_width,
)

SNRS = (10.0, 20.0, 50.0, 100.0, 200.0)


def _cases(n_per_snr=800, scale=1.6, floor=0.05, relative=False, seed=1):
    """Fits whose true errors follow the model: σ ∝ 1/S/N, Δ ~ N(0, e)."""
    rng = np.random.default_rng(seed)
    snr = np.repeat(SNRS, n_per_snr)
    value = rng.uniform(7000, 20000, snr.size) if relative else rng.uniform(3, 5, snr.size)
    sigma = (value if relative else 4.0) * rng.uniform(0.5, 2.0, snr.size) * 1.0 / snr
    unit = value if relative else 1.0
    true_e = np.sqrt((scale * sigma) ** 2 + (floor * unit) ** 2)
    delta = rng.normal(size=snr.size) * true_e
    return delta, sigma, value, snr


def test_robust_width_is_one_for_unit_normal_pulls_and_counts_a_bias():
    z = np.random.default_rng(0).normal(size=20000)
    assert robust_width(z) == pytest.approx(1.0, abs=0.03)
    assert robust_width(z + 1.0) > 1.3  # about zero: an offset widens it
    assert np.isnan(robust_width([np.nan]))


@pytest.mark.parametrize("relative", [False, True])
def test_fit_recovers_the_scale_and_the_floor(relative):
    floor = 0.02 if relative else 0.05
    delta, sigma, value, snr = _cases(scale=1.6, floor=floor, relative=relative)
    model = fit_error_model(delta, sigma, value, snr, relative=relative)
    assert model.scale == pytest.approx(1.6, rel=0.12)
    got = model.relative_floor if relative else model.floor
    assert got == pytest.approx(floor, rel=0.15)
    e = model.apply(sigma, value)
    for s in SNRS:
        sel = snr == s
        assert 0.9 < robust_width(delta[sel] / e[sel]) < 1.1


def test_fit_without_a_floor_finds_none_and_with_pure_noise_keeps_the_scale():
    delta, sigma, value, snr = _cases(scale=1.0, floor=0.0)
    model = fit_error_model(delta, sigma, value, snr)
    assert model.scale == pytest.approx(1.0, rel=0.1)
    # A floor this small changes no width by more than a few per cent at S/N 200.
    assert model.floor < 0.3 * np.median(sigma[snr == 200.0])


def test_fit_finds_how_much_the_error_follows_the_misfit():
    """True errors follow the formal error × rchi2^(γ/2) with γ = 0.5 (the RV's behaviour)."""
    rng = np.random.default_rng(4)
    snr = np.repeat(SNRS, 500)
    formal = rng.uniform(0.5, 2.0, snr.size) * 20.0 / snr
    rchi2 = 1.0 + (snr / 60.0) ** 2 * rng.uniform(0.5, 1.5, snr.size)  # model misfit grows with S/N
    cov = formal * np.sqrt(rchi2)
    delta = rng.normal(size=snr.size) * 1.2 * formal * rchi2**0.25
    model = fit_error_model(delta, cov, np.zeros_like(cov), snr, rchi2=rchi2)
    assert model.rchi2_power < 1.0  # (γ trades a little against the floor: 0.25 or 0.5 here)
    e = model.apply(cov, np.zeros_like(cov), rchi2)
    assert all(0.87 < robust_width(delta[snr == s] / e[snr == s]) < 1.13 for s in SNRS)
    plain = fit_error_model(delta, cov, np.zeros_like(cov), snr)  # γ = 1 only: worse at the ends
    e1 = plain.apply(cov, np.zeros_like(cov))
    widths = [robust_width(delta[snr == s] / e1[snr == s]) for s in SNRS]
    assert max(widths) / min(widths) > 1.3
    with pytest.raises(ValueError, match="reduced"):
        model.apply(cov, np.zeros_like(cov))


def test_fit_refuses_too_few_cases():
    with pytest.raises(ValueError, match="too few"):
        fit_error_model([0.1] * 5, [0.1] * 5, [1.0] * 5, [10.0] * 5)


def test_calibration_round_trip_and_apply():
    cal = ErrorCalibration(
        {"teff": ErrorModel(1.0, 0.0, 0.01), "logg": ErrorModel(2.0, 0.03)}, {"truth": ["synthesis truth"]}
    )
    again = ErrorCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again == cal
    e, e_rv = again.apply(("teff", "logg", "m_h"), [10000.0, 4.0, 0.0], [30.0, 0.04, np.nan], 5.0, 1.5)
    assert e[0] == pytest.approx(np.hypot(30.0, 100.0))
    assert e[1] == pytest.approx(np.hypot(0.08, 0.03))
    assert np.isnan(e[2])  # fixed label: stays NaN
    assert e_rv == 1.5  # no RV model: the covariance error
    with pytest.raises(ValueError):
        ErrorCalibration.from_dict({"schema": "something else"})
    with pytest.raises(ValueError, match="non-positive"):
        ErrorCalibration.from_dict(
            {"schema": "zeta-payne/error-calibration/1", "models": {"teff": {"scale": 0, "floor": 1}}}
        )


def _study(bundle, snr, seed, scale=1.5, floor=0.04):
    """A StudyResult with known error structure (free labels and RV), 60 truth points."""
    from zeta_payne.validation.runner import StudyResult

    rng = np.random.default_rng(seed)
    names = bundle.manifest.label_names
    free = np.array([s.free for s in bundle.labels])
    n = 240
    span = np.array([s.upper - s.lower for s in bundle.labels])
    truth = np.array(
        [[s.lower + rng.uniform() * (s.upper - s.lower) for s in bundle.labels] for _ in range(n)]
    )
    cov = np.where(free, span * 0.5 / snr, np.nan) * np.ones((n, 1))
    floors = np.where(
        np.array(names) == "teff", floor * truth[:, names.index("teff")][:, None] / 4, floor * span
    )
    true_e = np.sqrt((scale * cov) ** 2 + floors**2)
    labels = np.where(free, truth + rng.normal(size=truth.shape) * true_e, truth)
    rv_true = rng.uniform(-50, 50, n)
    cov_rv = np.full(n, 20.0 / snr)
    v_rad = rv_true + rng.normal(size=n) * cov_rv * 1.2
    return StudyResult(
        instrument=bundle.instrument,
        snr=snr,
        label_names=names,
        true_labels=truth,
        true_rv=rv_true,
        labels=labels,
        e_labels=cov * 3.0,
        cov_e_labels=cov,
        v_rad=v_rad,
        e_v_rad=cov_rv,
        rchi2=np.ones(n),
        flags=np.zeros(n, dtype=np.int64),
        seconds=np.ones(n),
        raw_e_labels=cov * 3.0,
        cov_e_v_rad=cov_rv,
        meta={"truth": "synthesis truth", "observation": {"kind": "realistic"}},
        cases={"truth_point": np.arange(n) % 60},
    )


def test_calibrate_command_stores_a_new_version_that_the_fitter_uses(toy_boss, tmp_path):
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import FitOptions
    from zeta_payne.validation.report import write_report

    from ..conftest import BOSS_WAVELENGTH, simulate

    write_report([_study(toy_boss, s, i) for i, s in enumerate(SNRS)], tmp_path / "study")
    out = tmp_path / "calibrated"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "zeta_payne.cli",
            "bundle",
            "calibrate",
            str(toy_boss.path),
            "--study",
            str(tmp_path / "study"),
            "--bundle-out",
            str(out),
            "-o",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    new = load_bundle(out)
    assert new.version != toy_boss.version
    assert new.manifest.payloads["weights.npz"] == toy_boss.manifest.payloads["weights.npz"]
    cal = new.error_calibration
    assert cal is not None and set(cal.models) == {"teff", "logg", "v_sini", "m_h", "v_rad"}
    assert cal.models["logg"].scale == pytest.approx(1.5, rel=0.2)
    assert cal.models["v_rad"].scale == pytest.approx(1.2, rel=0.15)
    widths = [json.loads(json.dumps(r)) for r in cal.provenance["pull_widths"]]
    assert all(0.8 <= r["held_out"] <= 1.25 for r in widths), widths
    assert (tmp_path / "report" / "report.md").read_text().count("held out") >= 5
    assert load_bundle(toy_boss.path).error_calibration is None  # the original is untouched

    spectrum = simulate(toy_boss, BOSS_WAVELENGTH, [9000.0, 4.0, 60.0, 2.0, 0.0], 10.0, snr=80, seed=3)
    options = FitOptions(**{**Fitter.default_options(toy_boss).__dict__, "presearch_points": 512})
    plain = Fitter(toy_boss, options).fit(spectrum)
    calibrated = Fitter(new, options).fit(spectrum)
    assert not plain.calibrated and calibrated.calibrated
    np.testing.assert_allclose(calibrated.labels, plain.labels)
    expected, expected_rv = cal.apply(
        new.manifest.label_names,
        calibrated.labels,
        calibrated.cov_e_labels,
        calibrated.v_rad,
        calibrated.cov_e_v_rad,
        calibrated.rchi2,
    )
    np.testing.assert_allclose(calibrated.e_labels, expected)
    assert calibrated.e_v_rad == pytest.approx(expected_rv)
    np.testing.assert_allclose(calibrated.raw_e_labels, plain.raw_e_labels, rtol=1e-6)
    row = calibrated.as_row()
    assert row["errors_calibrated"] is True and row["cov_e_v_rad"] == calibrated.cov_e_v_rad


def test_check_reports_the_stored_calibration_and_refuses_other_bundles(toy_boss, tmp_path):
    from zeta_payne.bundles.calibration import write_calibrated_bundle
    from zeta_payne.validation.report import write_report

    truth_models = {"logg": ErrorModel(1.5, 0.0, 0.0), "teff": ErrorModel(1.5)}
    new = write_calibrated_bundle(toy_boss, ErrorCalibration(truth_models), tmp_path / "b")
    studies = []
    for i, snr in enumerate(SNRS):
        st = _study(toy_boss, snr, 10 + i, scale=1.5, floor=0.0)
        st.meta["bundle"] = {"sha256": new.sha256}
        st.e_labels = st.cov_e_labels * 1.5  # what the stored calibration reports
        studies.append(st)
    write_report(studies, tmp_path / "study")

    def check(bundle):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "zeta_payne.cli",
                "bundle",
                "calibrate",
                str(bundle),
                "--study",
                str(tmp_path / "study"),
                "--check",
                "-o",
                str(tmp_path / "check"),
            ],
            capture_output=True,
            text=True,
        )

    run = check(new.path)
    assert run.returncode == 0, run.stderr
    widths = list(csv.DictReader(open(tmp_path / "check" / "widths.csv")))
    logg = [float(r["reported"]) for r in widths if r["name"] == "logg"]
    assert all(0.8 < w < 1.25 for w in logg), logg
    assert not (tmp_path / "check" / "calibration.json").exists()
    assert "Check of the stored error calibration" in (tmp_path / "check" / "report.md").read_text()
    refused = check(toy_boss.path)  # no calibration at all
    assert refused.returncode == 1 and "no error calibration" in refused.stderr
    other = write_calibrated_bundle(toy_boss, ErrorCalibration({"logg": ErrorModel(2.0)}), tmp_path / "c")
    refused = check(other.path)
    assert refused.returncode == 1 and "not the same fits" in refused.stderr
    # studies fitted with the uncalibrated version serve every later recalibration of it
    for st in studies:
        st.meta["bundle"] = {"name": toy_boss.name, "version": toy_boss.version, "sha256": toy_boss.sha256}
    write_report(studies, tmp_path / "study")
    third = write_calibrated_bundle(other, ErrorCalibration(truth_models), tmp_path / "d")
    lineage = third.manifest.provenance["error_calibration"]["same_fits_as"]
    assert lineage == [toy_boss.version, other.version]
    run = check(third.path)
    assert run.returncode == 0, run.stderr


def test_a_corrupt_calibration_file_is_a_bundle_error(toy_boss, tmp_path):
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.calibration import next_patch_version, write_calibrated_bundle
    from zeta_payne.exceptions import BundleError

    new = write_calibrated_bundle(toy_boss, ErrorCalibration({"teff": ErrorModel(1.0, 10.0)}), tmp_path / "b")
    assert new.version == next_patch_version(toy_boss.version) != toy_boss.version
    (tmp_path / "b" / "error_calibration.json").write_text("{}")
    with pytest.raises(BundleError, match="sha256"):
        load_bundle(tmp_path / "b")


def test_a_label_with_few_cases_stops_a_calibration_but_not_a_check(toy_boss):
    from zeta_payne.validation.calibrate import calibrate

    study = _study(toy_boss, 50.0, 5)
    names = [s.name for s in toy_boss.labels if s.free]
    sparse = names[0]
    i = list(study.label_names).index(sparse)
    study.cov_e_labels[15:, i] = np.nan  # e.g. v_micro, fitted only on a few cool cases
    study.e_labels[15:, i] = np.nan
    with pytest.raises(ValueError, match=f"{sparse}: 15 cases"):
        calibrate([study], [*names, "v_rad"])
    report = calibrate([study], [*names, "v_rad"], strict=False)
    assert sparse not in report.calibration.models and set(names[1:]) <= set(report.calibration.models)
    assert "15 cases" in report.calibration.provenance["skipped"][sparse]


def test_bundle_defaults_writes_a_new_version_and_drops_the_calibration(toy_boss, tmp_path):
    """``bundle defaults``: new fit defaults are a new version, recorded with their reason; a
    calibration measured with the old defaults does not travel; invalid values are refused."""
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.calibration import write_calibrated_bundle
    from zeta_payne.cli import main
    from zeta_payne.fitting.fitter import Fitter

    calibration = ErrorCalibration({"logg": ErrorModel(1.5)})
    calibrated = write_calibrated_bundle(toy_boss, calibration, tmp_path / "b")
    assert calibrated.error_calibration is not None
    out = tmp_path / "c"
    args = ["bundle", "defaults", str(calibrated.path), "--set", "response_segments=[7000.0]",
            "--set", "n_chebyshev=9", "--reason", "a test", "--bundle-out", str(out)]
    assert main(args) == 0
    new = load_bundle(out)
    assert new.version != calibrated.version
    assert new.error_calibration is None and "error_calibration.json" not in new.manifest.payloads
    assert not (out / "error_calibration.json").exists()
    options = Fitter.default_options(new)
    assert tuple(options.response_segments) == (7000.0,) and options.n_chebyshev == 9
    change = new.manifest.provenance["fit_defaults_changes"][-1]
    assert change["reason"] == "a test" and change["from_version"] == calibrated.version
    assert change["dropped"] == ["error_calibration.json"]
    # the weights are the same payload
    assert new.manifest.payloads["weights.npz"] == calibrated.manifest.payloads["weights.npz"]
    # an option that changes flags alone keeps the calibration (the labels and errors it
    # measured do not change)
    flagged = tmp_path / "d"
    assert main(["bundle", "defaults", str(calibrated.path), "--set", 'edge_chi2_min={"v_micro": 9.0}',
                 "--reason", "flags", "--bundle-out", str(flagged)]) == 0
    kept = load_bundle(flagged)
    assert kept.error_calibration is not None and kept.manifest.provenance.get("error_calibration")
    assert kept.manifest.provenance["fit_defaults_changes"][-1]["dropped"] == []
    assert Fitter.default_options(kept).edge_chi2_min == {"v_micro": 9.0}
    strict = tmp_path / "e"
    assert main(["bundle", "defaults", str(calibrated.path), "--set", "refit_shift_max=0.05",
                 "--reason", "flags", "--bundle-out", str(strict)]) == 0
    assert load_bundle(strict).error_calibration is not None
    assert Fitter.default_options(load_bundle(strict)).refit_shift_max == 0.05
    # unset brings the old default back
    assert main(["bundle", "defaults", str(out), "--unset", "response_segments", "--reason", "undo",
                 "--in-place"]) == 0
    assert tuple(Fitter.default_options(load_bundle(out)).response_segments) == ()
    # refused: unknown keys, values that are not JSON, keys that are not set
    for bad in (["--set", "no_such_option=1"], ["--set", "n_chebyshev=abc"], ["--unset", "no_such"]):
        assert main(["bundle", "defaults", str(out), *bad, "--reason", "x", "--in-place"]) != 0


def test_bundle_defaults_from_takes_over_the_shipped_bundles_fit_rules(toy_boss, toy_apogee, tmp_path):
    """``bundle defaults --from SHIPPED``: a newly trained network gets every fit default the
    shipped bundle was given after its training, at the shipped value (a rule set and later
    unset stays unset), with the reason recorded; another instrument's bundle is refused."""
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.cli import main
    from zeta_payne.fitting.fitter import Fitter

    shipped = tmp_path / "shipped"
    assert main(["bundle", "defaults", str(toy_boss.path), "--set", "n_chebyshev=9", "--set",
                 "restarts=1", "--reason", "one", "--bundle-out", str(shipped)]) == 0
    assert main(["bundle", "defaults", str(shipped), "--set", "masked_bands=[[6865.0, 6940.0]]",
                 "--unset", "n_chebyshev", "--reason", "two", "--in-place"]) == 0
    trained = tmp_path / "trained"
    assert main(["bundle", "defaults", str(toy_boss.path), "--set", "presearch_points=77",
                 "--reason", "its own", "--bundle-out", str(trained)]) == 0
    base = Fitter.default_options(load_bundle(toy_boss.path))
    assert main(["bundle", "defaults", str(trained), "--from", str(shipped), "--in-place"]) == 0
    new = load_bundle(trained)
    options = Fitter.default_options(new)
    assert options.restarts == 1 and options.n_chebyshev == base.n_chebyshev
    assert [list(b) for b in options.masked_bands] == [[6865.0, 6940.0]]
    assert options.presearch_points == 77  # the candidate's own, untouched
    change = new.manifest.provenance["fit_defaults_changes"][-1]
    assert change["changes"] == {"n_chebyshev": None, "restarts": 1,
                                 "masked_bands": [[6865.0, 6940.0]]}
    assert change["reason"].startswith("the fit rules of " + load_bundle(shipped).name)
    assert main(["bundle", "defaults", str(toy_apogee.path), "--from", str(shipped),
                 "--bundle-out", str(tmp_path / "x")]) != 0
    assert main(["bundle", "defaults", str(trained), "--set", "restarts=2",
                 "--bundle-out", str(tmp_path / "y")]) != 0  # no reason


def test_width_interval_brackets_the_width_and_shrinks_with_more_pulls():
    from zeta_payne.fitting.calibration import width_interval

    rng = np.random.default_rng(3)
    small, large = rng.normal(size=80), rng.normal(size=2000)
    lo, hi = width_interval(small)
    assert lo < robust_width(small) < hi
    assert 0.15 < hi - lo < 0.4  # ≈ 2 × 1.17/√80 = 0.26
    lo2, hi2 = width_interval(large)
    # √(80/2000) = 0.2; the bootstrap of a median is coarse
    assert lo2 < 1.0 < hi2 and (hi2 - lo2) < 0.45 * (hi - lo)
    assert np.isnan(width_interval([1.0, np.nan])[0])


def test_regional_models_round_trip_and_are_picked_by_the_fitted_label():
    cal = ErrorCalibration(
        {"logg": ErrorModel(2.0)},
        region_label="teff",
        region_edges=(10000.0, 15000.0),
        regional={"logg": (ErrorModel(1.0), None, ErrorModel(4.0))},
    )
    again = ErrorCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again == cal
    names = ("teff", "logg")

    def e_logg(teff):
        return again.apply(names, [teff, 4.0], [100.0, 0.1], 0.0, 1.0)[0][1]

    assert e_logg(8000.0) == pytest.approx(0.1)  # region 0: its own model
    assert e_logg(12000.0) == pytest.approx(0.2)  # region 1 has none: the global model
    assert e_logg(15000.0) == pytest.approx(0.4)  # an edge belongs to the region above it
    assert e_logg(np.nan) == pytest.approx(0.2)  # no fitted teff: the global model
    with pytest.raises(ValueError, match="regional models for"):
        ErrorCalibration({}, region_label="teff", region_edges=(1.0,), regional={"logg": (None,)})
    with pytest.raises(ValueError, match="increase"):
        ErrorCalibration({}, region_label="teff", region_edges=(2.0, 1.0))


def test_calibrate_with_regions_finds_each_regions_scale(toy_boss):
    from dataclasses import replace

    from zeta_payne.validation.calibrate import apply_calibration, calibrate

    names = list(toy_boss.manifest.label_names)
    j, t = names.index("logg"), names.index("teff")
    studies = []
    for i, snr in enumerate(SNRS):
        st = _study(toy_boss, snr, 40 + i, scale=1.0, floor=0.0)
        hot = st.labels[:, t] >= 15000.0
        # the hot stars' logg errors are 3× their covariance error, the others' 1×
        labels = st.labels.copy()
        labels[:, j] = st.true_labels[:, j] + (labels[:, j] - st.true_labels[:, j]) * np.where(hot, 3.0, 1.0)
        studies.append(replace(st, labels=labels))
    free = [s.name for s in toy_boss.labels if s.free]
    glob = calibrate(studies, free + ["v_rad"], regions=None)
    reg = calibrate(studies, free + ["v_rad"], regions=("teff", (15000.0,)))
    cool, hot = reg.calibration.regional["logg"]
    assert cool.apply([1.0], [4.0], [1.0])[0] == pytest.approx(1.0, rel=0.2)
    assert hot.apply([1.0], [4.0], [1.0])[0] == pytest.approx(3.0, rel=0.2)
    # the hot region's widths: the global model is off by ~1.5–2, the regional one is not
    def hot_width(calibration):
        studied = [apply_calibration(st, calibration) for st in studies]
        return robust_width(np.concatenate([
            ((st.labels[:, j] - st.true_labels[:, j]) / st.e_labels[:, j])[st.labels[:, t] >= 15000.0]
            for st in studied
        ]))

    hot_rows = [r["calibrated"] for r in reg.widths if r["name"] == "logg" and r["region"] == 1]
    assert 0.85 < np.median(hot_rows) < 1.15, hot_rows
    assert hot_width(glob.calibration) > 1.3
    assert 0.85 < hot_width(reg.calibration) < 1.15  # what the fitter would report with it


def test_calibrate_command_with_regions_and_an_independent_check(toy_boss, tmp_path):
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.validation.report import write_report

    write_report([_study(toy_boss, s, i) for i, s in enumerate(SNRS)], tmp_path / "study")
    checks = [_study(toy_boss, s, 20 + i) for i, s in enumerate(SNRS)]
    for st in checks:
        st.meta["bundle"] = {"name": toy_boss.name, "version": toy_boss.version, "sha256": toy_boss.sha256}
    write_report(checks, tmp_path / "check")
    for st in checks:
        st.meta["bundle"] = {"name": "other", "version": "9.9.9", "sha256": "0" * 64}
    write_report(checks, tmp_path / "foreign")

    def run(check, out):
        return subprocess.run(
            [sys.executable, "-m", "zeta_payne.cli", "bundle", "calibrate", str(toy_boss.path),
             "--study", str(tmp_path / "study"), "--regions", "teff:12000", "--check-study", str(check),
             "--bundle-out", str(out), "-o", str(tmp_path / "report")],
            capture_output=True, text=True,
        )

    done = run(tmp_path / "check", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    assert "independent check" in done.stdout
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## Independent check" in report and "teff < 12000" in report
    rows = list(csv.DictReader(open(tmp_path / "report" / "check-widths.csv")))
    every = [r for r in rows if r["region"] == "-1" and r["name"] == "logg"]
    assert len(every) == len(SNRS) and all(0.75 < float(r["reported"]) < 1.33 for r in every), every
    cal = load_bundle(tmp_path / "b").error_calibration
    assert cal.region_label == "teff" and cal.region_edges == (12000.0,) and "logg" in cal.regional
    refused = run(tmp_path / "foreign", tmp_path / "c")
    assert refused.returncode == 1 and "fitted with other@9.9.9" in refused.stderr


def test_box_rms_is_the_rms_distance_to_a_truth_uniform_over_the_box():
    from zeta_payne.fitting.calibration import box_rms

    lo, hi = -2.0, 0.8
    w = hi - lo
    got = box_rms([lo + w / 2, lo, hi, hi + 5.0, np.nan], lo, hi)
    np.testing.assert_allclose(got[:4], [w / np.sqrt(12), w / np.sqrt(3), w / np.sqrt(3), w / np.sqrt(3)])
    assert np.isnan(got[4])
    truth = np.random.default_rng(2).uniform(lo, hi, 200000)
    assert box_rms([0.3], lo, hi)[0] == pytest.approx(np.sqrt(np.mean((0.3 - truth) ** 2)), rel=0.01)
    with pytest.raises(ValueError, match="lo < hi"):
        box_rms([1.0], 1.0, 1.0)


def _half_unconstrained(seed, lo=-2.0, hi=0.8, n=600):
    """[M/H]-like cases: half constrained (Δ ~ N(0, σ)), half where the spectrum says nothing
    (fit and truth independent and uniform over the box), their σ larger than the box."""
    rng = np.random.default_rng(seed)
    snr = np.repeat(SNRS, n)
    free = rng.uniform(size=snr.size) < 0.5
    truth = rng.uniform(lo, hi, snr.size)
    sigma = np.where(free, 1.0 + 20.0 / snr, 1.0 / snr)
    value = np.where(free, rng.uniform(lo, hi, snr.size), truth + rng.normal(size=snr.size) * sigma)
    return value - truth, sigma, value, snr, free


def test_a_box_bound_calibrates_fits_the_spectrum_does_not_constrain():
    from zeta_payne.fitting.calibration import box_rms

    lo, hi = -2.0, 0.8
    delta, sigma, value, snr, _ = _half_unconstrained(5)
    plain = fit_error_model(delta, sigma, value, snr)
    bounded = fit_error_model(delta, sigma, value, snr, cap=box_rms(value, lo, hi))
    d2, s2, v2, snr2, free = _half_unconstrained(6)  # scored on fresh cases
    e_plain = plain.apply(s2, v2)
    e_bounded = np.minimum(bounded.apply(s2, v2), box_rms(v2, lo, hi))

    def widths(e, subset):
        return [robust_width(d2[subset & (snr2 == s)] / e[subset & (snr2 == s)]) for s in SNRS]

    every = np.ones(d2.size, bool)
    assert all(0.88 < w < 1.12 for w in widths(e_bounded, every)), widths(e_bounded, every)
    assert any(not 0.88 < w < 1.12 for w in widths(e_plain, every)), widths(e_plain, every)

    def worst(e):  # the worst width of either kind of fit alone, as |ln w|
        return max(abs(np.log(w)) for subset in (free, ~free) for w in widths(e, subset))

    # without the bound the unconstrained fits' errors run from 2× too large (S/N 10, σ above
    # the box) to too small; with it neither kind is off by as much (a truth uniform about
    # the fit has a robust width of up to 1.4826 · √3 / 2 = 1.28 in units of its RMS)
    assert worst(e_bounded) < worst(e_plain)
    assert min(widths(e_plain, free)) < 0.6 < min(widths(e_bounded, free))


def test_bounds_round_trip_cap_the_reported_error_and_leave_fixed_labels_nan():
    cal = ErrorCalibration({"m_h": ErrorModel(1.0), "logg": ErrorModel(1.0)}, bounds={"m_h": (-2.0, 0.8)})
    again = ErrorCalibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again == cal
    names = ("logg", "m_h", "v_micro")
    e, _ = again.apply(names, [4.0, -0.6, 2.0], [5.0, 5.0, np.nan], 0.0, 1.0)
    assert e[0] == pytest.approx(5.0)  # no bound on logg here
    assert e[1] == pytest.approx(2.8 / np.sqrt(12))  # bounded at the box's centre
    assert np.isnan(e[2])  # a held label stays without an error
    e, _ = again.apply(names, [4.0, -0.6, 2.0], [0.1, 0.1, np.nan], 0.0, 1.0)
    assert e[1] == pytest.approx(0.1)  # below the bound: unchanged
    unbounded = ErrorCalibration.from_dict({k: v for k, v in cal.to_dict().items() if k != "bounds"})
    assert unbounded.apply(names, [4.0, -0.6, 2.0], [5.0, 5.0, np.nan], 0.0, 1.0)[0][1] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="lo < hi"):
        ErrorCalibration({}, bounds={"m_h": (1.0, 0.0)})


def test_calibrate_stores_the_box_bounds_of_the_labels_it_models(toy_boss):
    from zeta_payne.validation.calibrate import calibrate

    studies = [_study(toy_boss, snr, 60 + i) for i, snr in enumerate(SNRS)]
    free = [s.name for s in toy_boss.labels if s.free]
    box = {s.name: (s.lower, s.upper) for s in toy_boss.labels if s.free}
    report = calibrate(studies, free + ["v_rad"], bounds={**box, "not_a_label": (0.0, 1.0)})
    assert report.calibration.bounds == box  # and none for the RV
    assert "bounds" in report.calibration.to_dict()


def test_calibrate_command_stores_box_bounds_only_when_asked(toy_boss, tmp_path):
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.validation.report import write_report

    write_report([_study(toy_boss, s, 80 + i) for i, s in enumerate(SNRS)], tmp_path / "study")
    box = {s.name: (s.lower, s.upper) for s in toy_boss.labels if s.free}
    for extra, expected in (([], {}), (["--box-bound"], box)):
        out = tmp_path / f"calibrated{len(extra)}"
        run = subprocess.run(
            [sys.executable, "-m", "zeta_payne.cli", "bundle", "calibrate", str(toy_boss.path),
             "--study", str(tmp_path / "study"), "--bundle-out", str(out),
             "-o", str(tmp_path / f"report{len(extra)}"), *extra],
            capture_output=True, text=True,
        )
        assert run.returncode == 0, run.stderr
        assert load_bundle(out).error_calibration.bounds == expected
        table = (tmp_path / f"report{len(extra)}" / "report.md").read_text()
        assert ("box_rms" in table) == bool(expected)


def test_a_label_study_enters_its_labels_model_only(toy_boss):
    """``label_studies``: a study whose cases calibrate one label (v_micro fitted at 6–10 kK only
    in the shipped bundles) — its own error structure sets that label's model, and every other
    label's model is the one the main studies give."""
    from zeta_payne.validation.calibrate import calibrate

    free = [s.name for s in toy_boss.labels if s.free]
    main = [_study(toy_boss, snr, 60 + i, scale=1.0, floor=0.0) for i, snr in enumerate(SNRS)]
    more = [_study(toy_boss, snr, 70 + i, scale=3.0, floor=0.0) for i, snr in enumerate(SNRS)]
    alone = calibrate(main, free + ["v_rad"])
    both = calibrate(main, free + ["v_rad"], label_studies={"logg": more})
    assert alone.calibration.models["logg"].scale == pytest.approx(1.0, rel=0.15)
    assert both.calibration.models["logg"].scale > 1.5  # the extra cases (3×) pull it up ...
    for name in ("teff", "m_h", "v_rad"):  # ... and nothing else moves
        assert both.calibration.models[name] == alone.calibration.models[name]
    n = {name: sum(r["n"] for r in rep.widths if r["name"] == "logg") for name, rep in
         (("alone", alone), ("both", both))}
    assert n["both"] == 2 * n["alone"]
    with pytest.raises(ValueError, match="not one of"):
        calibrate(main, free + ["v_rad"], label_studies={"vmicro": more})


def test_calibrate_command_takes_a_label_study(toy_boss, tmp_path):
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.validation.report import write_report

    write_report([_study(toy_boss, s, 80 + i, scale=1.0, floor=0.0) for i, s in enumerate(SNRS)],
                 tmp_path / "study")
    write_report([_study(toy_boss, s, 90 + i, scale=3.0, floor=0.0) for i, s in enumerate(SNRS)],
                 tmp_path / "logg-study")
    base = [sys.executable, "-m", "zeta_payne.cli", "bundle", "calibrate", str(toy_boss.path),
            "--study", str(tmp_path / "study")]
    for extra, out in (([], "plain"), (["--label-study", f"logg:{tmp_path / 'logg-study'}"], "with")):
        run = subprocess.run([*base, *extra, "--bundle-out", str(tmp_path / out)], capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr
    plain, with_ = (load_bundle(tmp_path / n).error_calibration for n in ("plain", "with"))
    assert with_.models["logg"].scale > 1.5 * plain.models["logg"].scale
    assert with_.models["teff"] == plain.models["teff"]
    assert with_.provenance["label_studies"] == [f"logg:{tmp_path / 'logg-study'}"]
    bad = subprocess.run([*base, "--label-study", "nolabel:x", "--bundle-out", str(tmp_path / "x")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "--label-study takes" in bad.stderr


def test_independent_check_takes_a_label_study(toy_boss, tmp_path):
    """``--check-label-study LABEL:DIR``: an independent study whose cases enter one label's
    check widths only — more fits for the check of a label fitted in part of the box — is
    counted there and nowhere else, and must be of the same network as the other checks."""
    from zeta_payne.validation.report import write_report

    def studies(seed, scale, folder, made_with=(toy_boss.name, toy_boss.version, toy_boss.sha256)):
        made = [_study(toy_boss, s, seed + i, scale=scale, floor=0.0) for i, s in enumerate(SNRS)]
        for st in made:
            st.meta["bundle"] = dict(zip(("name", "version", "sha256"), made_with, strict=True))
        write_report(made, tmp_path / folder)

    studies(100, 1.0, "study")
    studies(110, 1.0, "check")
    studies(120, 3.0, "logg-check")  # errors three times too small for these fits
    studies(130, 3.0, "foreign", made_with=("other", "9.9.9", "0" * 64))
    base = [sys.executable, "-m", "zeta_payne.cli", "bundle", "calibrate", str(toy_boss.path),
            "--study", str(tmp_path / "study"), "--check-study", str(tmp_path / "check")]

    def widths(extra, out):
        run = subprocess.run([*base, *extra, "--bundle-out", str(tmp_path / f"{out}-bundle"),
                              "-o", str(tmp_path / out)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        rows = [r for r in csv.DictReader(open(tmp_path / out / "check-widths.csv")) if r["region"] == "-1"]
        return {(r["name"], float(r["snr"])): (int(r["n"]), float(r["reported"])) for r in rows}

    plain = widths([], "plain")
    more = widths(["--check-label-study", f"logg:{tmp_path / 'logg-check'}"], "more")
    report = (tmp_path / "more" / "report.md").read_text()
    assert f"for one label only: logg:{tmp_path / 'logg-check'}" in report
    for (name, snr), (n, w) in plain.items():
        if name == "logg":
            assert more[(name, snr)][0] == 2 * n and more[(name, snr)][1] > 1.3 * w
        else:
            assert more[(name, snr)] == (n, w)
    for extra, message in (
        (["--check-label-study", f"logg:{tmp_path / 'foreign'}"], "fitted with"),
        (["--check-label-study", "nolabel:x"], "--check-label-study takes"),
    ):
        bad = subprocess.run([*base, *extra, "--bundle-out", str(tmp_path / "x")], capture_output=True,
                             text=True)
        assert bad.returncode != 0 and message in bad.stderr, bad.stderr


def test_widths_rows_count_the_tails_of_the_reported_errors(toy_boss):
    """Each widths row carries the share of fits beyond 3 and 4 reported errors (what the
    robust width, set by the core, does not see)."""
    from dataclasses import replace

    from zeta_payne.validation.calibrate import calibrate

    free = [s.name for s in toy_boss.labels if s.free]
    st = _study(toy_boss, 50.0, 5, scale=1.0, floor=0.0)
    j = list(st.label_names).index("logg")
    d = st.labels[:, j] - st.true_labels[:, j]
    e = st.e_labels.copy()
    e[:, j] = np.abs(d) / 2.0  # every logg 2 reported errors off ...
    e[:12, j] = np.abs(d[:12]) / 3.5  # ... twelve 3.5 off ...
    e[:5, j] = np.abs(d[:5]) / 5.0  # ... five of them 5 off
    report = calibrate([replace(st, e_labels=e)], free + ["v_rad"], strict=False)
    (row,) = [r for r in report.widths if r["name"] == "logg"]
    assert row["beyond_3"] == pytest.approx(12 / d.size)
    assert row["beyond_4"] == pytest.approx(5 / d.size)
