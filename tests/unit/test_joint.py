"""Joint and multi-epoch fits (zeta_payne.fitting.joint) on toy-bundle spectra."""

import math

import numpy as np
import pytest

from zeta_payne.fitting import Fitter, ResultFlags, Spectrum
from zeta_payne.fitting.joint import (
    JointOptions,
    LabelSpace,
    companion_search,
    fit_epochs,
    fit_joint,
    rv_statistics,
)

from ..conftest import APOGEE_WAVELENGTH, BOSS_WAVELENGTH, simulate

TRUTH = np.array([14500.0, 4.2, 150.0, 2.0, 0.25])
OTHER = np.array([9000.0, 3.5, 60.0, 2.0, -0.3])


def _fitter(bundle, wavelength_range, rv_range=(-50.0, 50.0)):
    options = Fitter.default_options(bundle).updated(
        presearch_points=256, wavelength_range=wavelength_range, rv_range=rv_range, n_chebyshev=6
    )
    return Fitter(bundle, options)


@pytest.fixture(scope="module")
def fitters(toy_boss, toy_apogee):
    return _fitter(toy_boss, (4500.0, 6000.0)), _fitter(toy_apogee, (15200.0, 15700.0))


@pytest.fixture(scope="module")
def pair(toy_boss, toy_apogee, fitters):
    fb, fa = fitters
    sb = simulate(toy_boss, BOSS_WAVELENGTH, TRUTH, 12.0, snr=50, seed=1)
    sa = simulate(toy_apogee, APOGEE_WAVELENGTH, TRUTH, 12.0, snr=50, seed=2)
    return sb, sa, fit_joint([fb, fa], [sb, sa])


def test_label_space(fitters):
    space = LabelSpace(fitters)
    assert space.names == fitters[0].label_names
    assert space.n_free == 4 and not space.free[space.names.index("v_micro")]
    theta = np.array([10000.0, 4.0, 50.0, 0.1])
    lab = space.member_labels(fitters[1], theta)
    assert lab[fitters[1].label_names.index("v_micro")] == 2.0
    assert np.allclose(space.from_member(fitters[1], lab), theta)


def test_joint_pair_recovers_and_tightens(pair, fitters):
    _, _, jr = pair
    r = jr.result
    assert not r.flag_bad, r.flag_names
    free = LabelSpace(fitters).free
    assert np.all(np.abs(r.labels - TRUTH)[free] < 5 * r.cov_e_labels[free])
    singles = [m.single for m in jr.members]
    # more data: the joint covariance errors are no wider than either spectrum's own
    for s in singles:
        assert np.all(r.cov_e_labels[free] <= 1.05 * s.cov_e_labels[free])
    assert np.all(np.isfinite(r.e_labels[free])) and np.all(r.e_labels[free] > r.cov_e_labels[free])
    for m in jr.members:
        assert abs(m.v_rad - 12.0) < 5 * m.e_v_rad + 0.5
        assert 0 <= m.tension < JointOptions().tension_threshold
        assert not m.flags & ResultFlags.JOINT_TENSION
        assert m.chi2 >= m.chi2_single - 1e-6 or m.delta_chi2 == 0
    assert jr.result.n_pixels == sum(m.n_pixels for m in jr.members)
    assert abs(jr.result.chi2 - sum(m.chi2 for m in jr.members)) < 1e-6 * jr.result.chi2
    row = jr.as_row()
    assert {"teff", "e_teff", "raw_e_teff", "cov_e_teff", "max_tension", "rv_p_constant"} <= set(row)
    member_row = jr.members[1].as_row()
    assert {"tension", "single_teff", "single_e_teff", "v_rad"} <= set(member_row)


def test_mismatched_pair_flagged(toy_apogee, pair, fitters):
    sb, _, _ = pair
    sa = simulate(toy_apogee, APOGEE_WAVELENGTH, OTHER, 12.0, snr=50, seed=3)
    jr = fit_joint(list(fitters), [sb, sa])
    assert jr.flags & ResultFlags.JOINT_TENSION and jr.result.flag_bad
    assert max(m.tension for m in jr.members) > JointOptions().tension_threshold
    assert any(m.flags & ResultFlags.JOINT_TENSION for m in jr.members)


def test_rejected_member_is_a_flagged_row(toy_boss, pair, fitters):
    sb, sa, _ = pair
    empty = Spectrum(BOSS_WAVELENGTH, sb.flux, np.zeros(BOSS_WAVELENGTH.size))
    fb, fa = fitters
    jr = fit_joint([fb, fa, fb], [sb, sa, empty], singles=[m.single for m in pair[2].members] + [None])
    assert len(jr.members) == 3 and jr.members[2].flags & ResultFlags.NO_PIXELS
    assert np.isfinite(jr.result.labels[0]) and not jr.result.flag_bad
    assert np.isnan(jr.members[2].v_rad)


def test_epochs_rvs_and_variability(toy_apogee):
    fe = _fitter(toy_apogee, (15200.0, 15700.0), rv_range=(-100.0, 100.0))
    rvs = [-35.0, 8.0, 41.0]
    visits = [
        simulate(toy_apogee, APOGEE_WAVELENGTH, TRUTH, v, snr=30, seed=10 + i) for i, v in enumerate(rvs)
    ]
    jr = fit_epochs(fe, visits, JointOptions(sb2=False, single_fits=False))  # RV scans start the others
    assert sum(m.single is not None for m in jr.members) == 1
    assert [m.v_rad for m in jr.members] == pytest.approx(rvs, abs=1.0)
    for m, v in zip(jr.members, rvs, strict=True):
        assert abs(m.v_rad - v) < 5 * m.e_v_rad + 0.05
    assert jr.flags & ResultFlags.RV_VARIABLE and jr.rv.p_constant < 1e-6
    assert jr.rv.peak_to_peak == pytest.approx(76.0, abs=1.0)

    steady = [simulate(toy_apogee, APOGEE_WAVELENGTH, TRUTH, 5.0, snr=30, seed=20 + i) for i in range(3)]
    jr = fit_epochs(fe, steady, JointOptions(sb2=False, single_fits=True))
    assert not jr.flags & ResultFlags.RV_VARIABLE and jr.rv.p_constant > 1e-3
    assert not jr.flags & (ResultFlags.SB2_CANDIDATE | ResultFlags.JOINT_TENSION), jr.result.flag_names
    assert np.isfinite(jr.result.labels).all() and all(m.single is not None for m in jr.members)


def test_epochs_line_profile_flags_a_double_lined_star(toy_apogee):
    """Visits of a twin binary: the profile changes with the separation, the shared-label fit
    cannot follow it, the visits' own fits are much better: SB2_CANDIDATE (not JOINT_TENSION)."""
    fe = _fitter(toy_apogee, (15200.0, 15700.0), rv_range=(-100.0, 100.0))
    slow = np.array([12000.0, 4.0, 10.0, 2.0, 0.0])
    visits = []
    for i, sep in enumerate((0.0, 90.0, -90.0)):
        a = simulate(toy_apogee, APOGEE_WAVELENGTH, slow, 0.0, seed=40 + i)
        b = simulate(toy_apogee, APOGEE_WAVELENGTH, slow, sep, seed=40 + i)
        flux = 0.6 * a.flux + 0.4 * b.flux
        sigma = flux / 60.0
        noisy = flux + np.random.default_rng(i).normal(size=flux.size) * sigma
        visits.append(Spectrum(APOGEE_WAVELENGTH, noisy, 1 / sigma**2))
    jr = fit_epochs(fe, visits, JointOptions(sb2=False, single_fits=True))
    assert jr.flags & ResultFlags.SB2_CANDIDATE and not jr.flags & ResultFlags.JOINT_TENSION
    assert min(m.p_tension for m in jr.members) < JointOptions().sb2_p_threshold


def test_rv_statistics():
    st = rv_statistics([10.0, 10.0, 10.0], [1.0, 2.0, 1.0])
    assert st.chi2 == 0 and st.p_constant == pytest.approx(1.0) and st.peak_to_peak == 0
    st = rv_statistics([0.0, 2.0, np.nan], [1.0, 1.0, 1.0])
    assert st.n == 2 and st.mean == pytest.approx(1.0) and st.chi2 == pytest.approx(2.0)
    assert st.p_constant == pytest.approx(math.erfc(1.0), rel=1e-6)  # P(χ²_1 ≥ 2)
    floored = rv_statistics([0.0, 2.0], [1.0, 1.0], floor=1.0)
    assert floored.chi2 == pytest.approx(1.0)
    assert np.isnan(rv_statistics([1.0], [0.5]).chi2)


def test_companion_search_finds_a_twin(toy_apogee):
    """A double-lined twin: the residuals of a one-star fit hold the companion's lines."""
    fe = _fitter(toy_apogee, (15200.0, 15700.0), rv_range=(-100.0, 100.0))
    slow = np.array([12000.0, 4.0, 10.0, 2.0, 0.0])
    a = simulate(toy_apogee, APOGEE_WAVELENGTH, slow, 0.0, seed=30)
    b = simulate(toy_apogee, APOGEE_WAVELENGTH, slow, 120.0, seed=30)  # same response (seed)
    flux = 0.7 * a.flux + 0.3 * b.flux
    rng = np.random.default_rng(3)
    sigma = flux / 60.0
    binary = Spectrum(APOGEE_WAVELENGTH, flux + rng.normal(size=flux.size) * sigma, 1 / sigma**2)
    single = simulate(toy_apogee, APOGEE_WAVELENGTH, slow, 0.0, snr=60, seed=31)
    out = {}
    for name, spec in (("binary", binary), ("single", single)):
        r = fe.fit(spec)
        prep = fe._prepare(spec)
        fm = fe._forward(prep, prep.used)
        shifts = np.arange(-200.0, 201.0, 5.0)
        shifts = shifts[np.abs(shifts) >= 40]
        gain, _ = companion_search(prep, fm, r.labels, r.v_rad, r.coeffs / prep.scale, shifts)
        out[name] = (gain / r.rchi2, shifts)
    gain, shifts = out["binary"]
    assert gain.max() > 10 * max(out["single"][0].max(), 10.0)
    assert abs(abs(shifts[np.argmax(gain)]) - 120.0) < 20.0


def test_weighting_scales_each_spectrum(pair, fitters):
    from zeta_payne.fitting.joint import noise_scale

    sb, sa, plain = pair
    singles = [m.single for m in plain.members]
    assert noise_scale(singles[0], fitters[0], "none") == 1.0
    assert noise_scale(singles[0], fitters[0], "rchi2") == pytest.approx(singles[0].rchi2)
    ratio = (singles[1].e_labels / singles[1].cov_e_labels)[fitters[1].free]
    assert noise_scale(singles[1], fitters[1], "calibrated") == pytest.approx(np.median(ratio**2))
    with pytest.raises(ValueError):
        noise_scale(singles[0], fitters[0], "bogus")
    jr = fit_joint(list(fitters), [sb, sa], JointOptions(weighting="calibrated", sb2=False), singles=singles)
    free = LabelSpace(fitters).free
    assert np.all(np.abs(jr.result.labels - TRUTH)[free] < 5 * jr.result.cov_e_labels[free])
    # χ² and tension stay in each spectrum's own units
    assert jr.result.chi2 == pytest.approx(sum(m.chi2 for m in jr.members))
    for m, p in zip(jr.members, plain.members, strict=True):
        assert m.rchi2 == pytest.approx(p.rchi2, rel=0.05) and m.delta_chi2 >= 0


def test_joint_errors_combine_calibrations(fitters):
    """Statistical parts from the joint covariance (largest scale), floors in inverse variance."""
    from types import SimpleNamespace

    from zeta_payne.fitting.joint import joint_errors

    class Model:
        def __init__(self, scale, floor):
            self.scale, self.floor = scale, floor

        def apply(self, names, labels, cov_e, v_rad, cov_e_v_rad, rchi2=1.0):
            return np.sqrt((self.scale * np.asarray(cov_e)) ** 2 + self.floor**2), float("nan")

    space = LabelSpace(fitters)
    cov_e = np.array([100.0, 0.01, 5.0, np.nan, 0.02])
    raw = 3 * cov_e
    a = SimpleNamespace(bundle=SimpleNamespace(), error_calibration=Model(2.0, 30.0))
    b = SimpleNamespace(bundle=SimpleNamespace(), error_calibration=Model(1.0, 40.0))
    e, calibrated = joint_errors(space, [a, b], np.zeros(5), cov_e, raw)
    floor2 = 1 / (1 / 30.0**2 + 1 / 40.0**2)
    assert calibrated and e[0] == pytest.approx(np.sqrt((2 * 100.0) ** 2 + floor2))
    assert np.isnan(e[3])
    one, _ = joint_errors(space, [a, a], np.zeros(5), cov_e, raw)  # one bundle: its own model
    assert one[0] == pytest.approx(np.sqrt(200.0**2 + 30.0**2))
    c = SimpleNamespace(bundle=SimpleNamespace(), error_calibration=None)
    e, calibrated = joint_errors(space, [a, c], np.zeros(5), cov_e, raw)
    assert not calibrated and np.array_equal(e, raw, equal_nan=True)


def test_relative_rv_error_drops_the_zero_point_floor():
    """The visit-to-visit RV error: the calibration's scaled part only (its floors are the RV
    zero-point, shared by visits fitted with shared labels)."""
    from types import SimpleNamespace

    from zeta_payne.fitting.calibration import ErrorCalibration, ErrorModel
    from zeta_payne.fitting.joint_errors import relative_rv_error, rv_error

    model = ErrorModel(scale=1.38, floor=2.4, relative_floor=0.01, rchi2_power=0.0)
    fitter = SimpleNamespace(error_calibration=ErrorCalibration({"v_rad": model}), label_names=("teff",))
    # rchi2_power 0: the covariance error at the fit's rchi2 is brought back to the formal one
    assert relative_rv_error(fitter, 50.0, 5.0, 1.7) == pytest.approx(1.38 * 5.0 / 1.7**0.5)
    assert rv_error(fitter, np.array([1e4]), 50.0, 5.0, 1.7) == pytest.approx(
        math.sqrt((1.38 * 5.0 / 1.7**0.5) ** 2 + 2.4**2 + 0.5**2)
    )
    scaled = ErrorModel(scale=2.0, floor=1.0, rchi2_power=2.0)  # the rchi2 dependence is kept
    fitter2 = SimpleNamespace(error_calibration=ErrorCalibration({"v_rad": scaled}))
    assert relative_rv_error(fitter2, 0.0, 3.0, 4.0) == pytest.approx(2.0 * 3.0 * 4.0**0.5)
    bare = SimpleNamespace(error_calibration=None)
    assert relative_rv_error(bare, 0.0, 3.0, 1.0) == 3.0
    assert math.isnan(relative_rv_error(fitter, 0.0, float("nan"), 1.0))


def test_epochs_variability_uses_relative_errors(toy_apogee):
    """fit_epochs tests the RVs' constancy with the visit-to-visit errors by default
    (JointOptions.rv_errors), the absolute ones on request; p(constant) threshold 3e-3."""
    from dataclasses import replace

    from zeta_payne.fitting.calibration import ErrorCalibration, ErrorModel

    assert JointOptions().rv_errors == "relative" and JointOptions().rv_p_threshold == 3e-3
    fe = _fitter(toy_apogee, (15200.0, 15700.0), rv_range=(-100.0, 100.0))
    fe.error_calibration = ErrorCalibration(
        {"v_rad": ErrorModel(scale=1.5, floor=20.0, rchi2_power=1.0)}, provenance={}
    )
    visits = [
        simulate(toy_apogee, APOGEE_WAVELENGTH, TRUTH, v, snr=30, seed=60 + i)
        for i, v in enumerate((-6, 0, 6))
    ]
    options = JointOptions(sb2=False, single_fits=False)
    rel = fit_epochs(fe, visits, options)
    ab = fit_epochs(fe, visits, replace(options, rv_errors="absolute"))
    for m in rel.members:
        assert m.rel_e_v_rad == pytest.approx(1.5 * m.cov_e_v_rad)
        assert m.e_v_rad == pytest.approx(math.hypot(1.5 * m.cov_e_v_rad, 20.0))
    assert rel.rv.e_mean < ab.rv.e_mean and rel.rv.chi2 > ab.rv.chi2
    assert rel.flags & ResultFlags.RV_VARIABLE and not ab.flags & ResultFlags.RV_VARIABLE
    assert "rel_e_v_rad" in rel.members[0].as_row()
    bogus = fit_epochs(fe, visits, replace(options, rv_errors="bogus"))  # flagged, never raised
    assert bogus.flags & ResultFlags.RUNTIME_EXCEPTION and "rv_errors" in bogus.result.message
