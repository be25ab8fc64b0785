import numpy as np
import pytest
import torch

from zeta_payne.exceptions import SpectrumError
from zeta_payne.fitting import FitOptions, Fitter, ResultFlags, Spectrum

from ..conftest import BOSS_WAVELENGTH, simulate


@pytest.fixture(scope="module")
def fitter(toy_boss):
    return Fitter(
        toy_boss, FitOptions(**{**Fitter.default_options(toy_boss).__dict__, "presearch_points": 1024})
    )


def test_noiseless_recovery(toy_boss, fitter):
    truth = np.array([14500.0, 4.2, 150.0, 2.0, 0.25])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, v_rad=17.0)
    result = fitter.fit(spec)
    assert not result.flag_bad, result.flag_names
    width = fitter.upper - fitter.lower
    assert np.all(np.abs(result.labels - truth)[fitter.free] < 0.01 * width[fitter.free])
    assert abs(result.v_rad - 17.0) < 1.0
    assert result.rchi2 < 1e-3  # noiseless
    assert np.isfinite(result.model_flux[(BOSS_WAVELENGTH > 4600) & (BOSS_WAVELENGTH < 10000)]).all()


def test_chi2_at_matches_fit_and_ranks_labels(toy_boss, fitter):
    truth = np.array([8000.0, 3.6, 40.0, 2.0, -0.4])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, v_rad=-23.0, snr=50, seed=4)
    r = fitter.fit(spec)
    at_fit = fitter.chi2_at(spec, r.labels, r.v_rad)
    # the fit's χ² (response from the final least squares) equals the linearly solved one
    assert at_fit == pytest.approx(r.chi2, rel=1e-3)
    assert fitter.chi2_at(spec, truth, -23.0) == pytest.approx(r.dof, rel=0.1)  # noise only
    assert fitter.chi2_at(spec, truth, -3.0) > at_fit + 100  # a 20 km/s shift is far off
    assert np.isnan(fitter.chi2_at(Spectrum(BOSS_WAVELENGTH, np.full(BOSS_WAVELENGTH.size, np.nan),
                                            np.ones(BOSS_WAVELENGTH.size)), truth, 0.0))


def test_noisy_recovery_errors_and_flags(toy_boss, fitter):
    truth = np.array([8000.0, 3.6, 40.0, 2.0, -0.4])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, v_rad=-23.0, snr=50, seed=4)
    r = fitter.fit(spec)
    assert not r.flag_bad
    assert 0.9 < r.rchi2 < 1.1
    assert abs(r.snr - 50) < 5
    free = fitter.free
    assert np.all(np.isfinite(r.e_labels[free])) and np.all(np.isfinite(r.cov_e_labels[free]))
    # parabola (paper) errors are wider than the formal covariance errors
    assert np.all(r.e_labels[free] > r.cov_e_labels[free])
    assert np.all(np.abs(r.labels - truth)[free] < 5 * r.cov_e_labels[free] + 1e-9)
    assert ("teff", "logg") in r.correlations and -1 <= r.correlations[("teff", "logg")] <= 1
    row = r.as_row()
    assert {"teff", "e_teff", "v_rad", "rchi2", "result_flags"} <= set(row)


def test_bad_inputs_flag_not_crash(toy_boss, fitter):
    lam = BOSS_WAVELENGTH
    good = simulate(toy_boss, lam, np.array([12000.0, 4.0, 100.0, 2.0, 0.0]), 0.0, snr=80)
    # all ivar zero -> NO_PIXELS
    r = fitter.fit(Spectrum(lam, good.flux, np.zeros(lam.size)))
    assert r.flags & ResultFlags.NO_PIXELS and r.flag_bad and np.isnan(r.labels).all()
    # NaN / inf flux in part of the spectrum: flagged, the rest is fitted
    flux = good.flux.copy()
    flux[2000:2200] = np.nan
    flux[2400] = np.inf
    r = fitter.fit(Spectrum(lam, flux, good.ivar))
    assert r.flags & ResultFlags.BAD_INPUT_PIXELS and np.isfinite(r.labels[0])
    # outside the bundle's coverage (an APOGEE-like spectrum to a BOSS bundle)
    ir = np.linspace(15100, 16900, 3000)
    r = fitter.fit(Spectrum(ir, np.ones(ir.size), np.ones(ir.size)))
    assert r.flags & (ResultFlags.OUTSIDE_COVERAGE | ResultFlags.NO_PIXELS) and r.flag_bad
    # too few pixels
    ivar = np.zeros(lam.size)
    ivar[2000:2030] = 1.0
    r = fitter.fit(Spectrum(lam, good.flux, ivar))
    assert r.flags & ResultFlags.TOO_FEW_PIXELS
    # low S/N
    noisy = simulate(toy_boss, lam, np.array([12000.0, 4.0, 100.0, 2.0, 0.0]), 0.0, snr=5, seed=3)
    r = fitter.fit(noisy)
    assert r.flags & ResultFlags.LOW_SNR
    # something that is not a spectrum -> runtime flag, not an exception
    r = fitter.fit_batch([object()])[0]
    assert r.flags & ResultFlags.RUNTIME_EXCEPTION and "SpectrumError" in r.message


def test_structural_errors_raise_spectrum_error():
    lam = np.linspace(4000, 9000, 100)
    with pytest.raises(SpectrumError, match="pixels"):
        Spectrum(lam, np.ones(99), np.ones(100))
    with pytest.raises(SpectrumError, match="increasing"):
        Spectrum(lam[::-1], np.ones(100), np.ones(100))
    with pytest.raises(SpectrumError, match="empty"):
        Spectrum([], [], [])


def test_edge_flag(toy_boss, fitter):
    truth = np.array([6000.0, 5.0, 0.0, 2.0, 0.8])  # a corner of the box
    r = fitter.fit(simulate(toy_boss, BOSS_WAVELENGTH, truth, 5.0))
    names = set(r.flag_names)
    assert names & {"teff_at_edge", "teff_near_edge", "logg_at_edge", "logg_near_edge"}
    # a label at an edge has its edge χ² (how much the data want past it); the others NaN
    from zeta_payne.fitting.diagnostics import edge_sides

    sides = edge_sides(r.labels, fitter.free, fitter.lower, fitter.upper, fitter.options.at_edge)
    assert np.any(sides != 0)
    np.testing.assert_array_equal(np.isfinite(r.edge_chi2), sides != 0)
    assert np.all(r.edge_chi2[sides != 0] >= 0)
    at = r.label_names[int(np.flatnonzero(sides)[0])]
    assert np.isfinite(r.as_row()[f"edge_chi2_{at}"])


def test_fixed_label_option(toy_boss):
    f = Fitter(toy_boss, FitOptions(presearch_points=256, fixed={"m_h": 0.2}))
    truth = np.array([10000.0, 4.0, 90.0, 2.0, 0.2])
    r = f.fit(simulate(toy_boss, BOSS_WAVELENGTH, truth, 0.0, snr=100))
    assert r.labels[4] == 0.2 and np.isnan(r.e_labels[4])
    assert not r.flag_bad


def test_v_micro_can_be_freed_and_segments(toy_boss):
    f = Fitter(
        toy_boss,
        FitOptions(presearch_points=512, free=("v_micro",), response_segments=(7000.0,), n_chebyshev=6),
    )
    assert f.free.sum() == 5
    truth = np.array([9000.0, 3.9, 70.0, 2.6, -0.1])
    r = f.fit(simulate(toy_boss, BOSS_WAVELENGTH, truth, 3.0, snr=200, seed=8))
    assert np.isfinite(r.e_labels[3]) and r.coeffs.size == 12
    assert not r.flags & ResultFlags.RUNTIME_EXCEPTION


@pytest.mark.gpu
def test_same_fitter_on_cuda(toy_boss):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    truth = np.array([14500.0, 4.2, 150.0, 2.0, 0.25])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, v_rad=17.0, snr=100)
    cpu = Fitter(toy_boss, FitOptions(presearch_points=1024)).fit(spec)
    gpu = Fitter(toy_boss, FitOptions(presearch_points=1024), device="cuda").fit(spec)
    assert np.allclose(cpu.labels, gpu.labels, rtol=1e-3)


def test_initial_fit_stage_and_rv_outside_search(toy_boss):
    truth = np.array([10500.0, 4.4, 30.0, 2.0, 0.3])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, 80.0, snr=100, seed=11)
    narrow = Fitter(toy_boss, FitOptions(presearch_points=512, rv_range=(-50.0, 50.0), rv_margin=100.0))
    r = narrow.fit(spec)
    assert r.flags & ResultFlags.RV_AT_SEARCH_EDGE  # true RV beyond the searched ±50 km/s
    staged = Fitter(toy_boss, FitOptions(presearch_points=512, rv_range=(-150.0, 150.0), initial_fit=True))
    r = staged.fit(spec)
    assert "initial_fit" in r.timing and not r.flags & ResultFlags.RV_AT_SEARCH_EDGE
    assert abs(r.v_rad - 80.0) < 2.0


def test_gapped_spectrum_short_of_a_segment_boundary_is_fitted(toy_boss):
    """A spectrum with a 1,900-Å gap whose valid pixels end before the response's segment
    boundary (an empty segment; a degree-17 series nearly degenerate over the gap) makes
    the float32 normal matrices of the pre-search indefinite for every candidate at the
    default ridge; the escalating ridge must still give a pre-search and a fit (the
    STELIB spectra that failed with "pre-search produced no finite χ²")."""
    truth = np.array([17000.0, 4.0, 40.0, 2.0, -0.3])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, 5.0, snr=150, seed=4)
    lam = spec.wavelength
    ivar = np.where(((lam > 5500.0) & (lam < 7400.0)) | (lam > 7520.0), 0.0, spec.ivar)
    gapped = Spectrum(lam, spec.flux, ivar, lsf_fwhm=spec.lsf_fwhm)
    options = FitOptions(presearch_points=1024, n_chebyshev=18, response_segments=(8208.0,),
                         wavelength_range=(4450.0, 10300.0))
    r = Fitter(toy_boss, options).fit(gapped)
    assert not r.flags & ResultFlags.RUNTIME_EXCEPTION, r.flag_names
    assert abs(r.labels[0] / truth[0] - 1) < 0.05
    batched = Fitter(toy_boss, options).fit_batch([gapped, gapped], batched=True)
    assert all(not b.flags & ResultFlags.RUNTIME_EXCEPTION for b in batched)
    assert np.allclose([b.labels[0] for b in batched], r.labels[0], rtol=0.02)


def test_a_masked_telluric_band_keeps_its_residuals_out_of_the_fit(toy_boss):
    # the A band's correction left 8 % of a forest of narrow absorption lines in the observed
    # frame; masking the band recovers the clean spectrum's labels and RV, not masking it
    # does not (teff 7,427 K for 7,000 here)
    truth = np.array([7000.0, 4.0, 10.0, 2.0, 0.0])
    clean = simulate(toy_boss, BOSS_WAVELENGTH, truth, v_rad=12.0)
    lam = BOSS_WAVELENGTH
    residual = np.zeros(lam.size)
    for centre in np.arange(7600.0, 7700.0, 4.3):
        residual += 0.08 * np.exp(-0.5 * ((lam - centre) / 1.2) ** 2)
    spoiled = Spectrum(lam, clean.flux * (1.0 - residual), clean.ivar, frame="observed")
    options = {**Fitter.default_options(toy_boss).__dict__, "presearch_points": 1024}
    plain = Fitter(toy_boss, FitOptions(**options)).fit(spoiled)
    masked = Fitter(toy_boss, FitOptions(**{**options, "masked_bands": ((7595.0, 7700.0),)})).fit(spoiled)
    assert abs(plain.labels[0] - truth[0]) > 100.0
    # no pixel constrains the response inside the band: no model flux is reported there
    band = (lam >= 7595.0) & (lam <= 7700.0)
    assert np.isnan(masked.model_flux[band]).all() and np.isfinite(plain.model_flux[band]).all()
    assert np.isfinite(masked.model_flux[(lam > 7400.0) & (lam < 7590.0)]).all()
    assert abs(masked.labels[0] - truth[0]) < 20.0 and abs(masked.labels[2] - truth[2]) < 1.0
    assert abs(masked.v_rad - 12.0) < 0.2


def test_restart_starts_lie_in_other_basins(toy_boss):
    """``restarts``: the lowest-χ² candidates that differ from the best and from each other
    by more than ``restart_separation`` of the box in some free label (brute force agrees)."""
    opts = {**Fitter.default_options(toy_boss).__dict__, "presearch_points": 512, "restarts": 3}
    f = Fitter(toy_boss, FitOptions(**opts))
    rng = np.random.default_rng(1)
    chi2 = rng.uniform(100, 200, len(f._cand_labels))
    chi2[5] = np.inf  # not evaluated
    v = rng.uniform(-50, 50, chi2.size)
    best = int(np.argmin(chi2))
    starts = f._other_basins(best, chi2, v)
    assert len(starts) == 3
    width = (f.upper - f.lower)[f.free]
    chosen = [f._cand_labels[best]]
    for labels, v_rad in starts:
        j = int(np.flatnonzero((f._cand_labels == labels).all(axis=1))[0])
        assert v_rad == v[j]
        far = lambda k: all(np.max(np.abs(f._cand_labels[k] - c)[f.free] / width) > 0.15 for c in chosen)  # noqa: E731
        assert far(j)
        # no candidate with a lower χ² was far from every start so far
        assert not any(far(k) for k in np.flatnonzero(chi2 < chi2[j]))
        chosen.append(f._cand_labels[j])
    assert Fitter(toy_boss, FitOptions(**{**opts, "restarts": 0}))._other_basins(best, chi2, v) == []


def test_restart_keeps_the_lower_chi2(toy_boss, monkeypatch):
    """A start in the wrong place and a restart at the truth: with ``restarts`` the fit ends at
    the truth and reports that start; without, it stays where the short descent left it."""
    truth = np.array([9000.0, 3.8, 60.0, 2.0, -0.3])
    spec = simulate(toy_boss, BOSS_WAVELENGTH, truth, v_rad=12.0, snr=100, seed=2)
    wrong = np.array([20000.0, 4.6, 250.0, 2.0, 0.5])
    base = {**Fitter.default_options(toy_boss).__dict__, "presearch_points": 256, "max_nfev": 2,
            "polish_nfev": 2, "compute_uncertainties": False}
    def presearch(self, prep, fm):  # the wrong start first, the truth as the other basin
        return wrong.copy(), -30.0, 0.0, [(truth.copy(), 12.0)][: self.options.restarts]

    monkeypatch.setattr(Fitter, "_presearch", presearch)
    one = Fitter(toy_boss, FitOptions(**{**base, "restarts": 0})).fit(spec)
    two = Fitter(toy_boss, FitOptions(**{**base, "restarts": 1})).fit(spec)
    assert two.chi2 < 0.5 * one.chi2
    assert np.allclose(two.initial_labels, truth) and np.allclose(one.initial_labels, wrong)
    assert abs(two.labels[0] - truth[0]) < 200 and abs(one.labels[0] - truth[0]) > 2000


def test_batched_restart_rows_keep_the_lower_chi2(toy_boss, monkeypatch):
    """The batched fitter fits each further start as one more row and keeps, per spectrum,
    the row with the lower χ²: a wrong first start and a restart at the truth."""
    from zeta_payne.fitting.batched import BatchedFit

    truths = [np.array([9000.0, 3.8, 60.0, 2.0, -0.3]), np.array([15000.0, 4.2, 120.0, 2.0, 0.2])]
    spectra = [simulate(toy_boss, BOSS_WAVELENGTH, t, v_rad=12.0, snr=100, seed=2 + i)
               for i, t in enumerate(truths)]
    wrong = np.array([20000.0, 4.6, 250.0, 2.0, 0.5])

    def presearch(self, preps, models, exact_chi2, batch):  # spectrum 0 gets a restart, 1 none
        n = len(preps)
        labels = torch.as_tensor(np.array([wrong] * n), dtype=torch.float64)
        v = torch.full((n,), -30.0, dtype=torch.float64)
        return labels, v, [[(truths[0].copy(), 12.0)]] + [[] for _ in range(n - 1)]

    monkeypatch.setattr(BatchedFit, "_presearch", presearch)
    # keep the rows
    monkeypatch.setattr(BatchedFit, "_refit_alone", lambda self, spectrum, result, start=None: result)
    opts = {**Fitter.default_options(toy_boss).__dict__, "presearch_points": 256, "max_nfev": 3,
            "polish_nfev": 3, "compute_uncertainties": False, "restarts": 1}
    fitter = Fitter(toy_boss, FitOptions(**opts))
    first, second = BatchedFit(fitter).fit(spectra)
    assert np.allclose(first.initial_labels, truths[0]) and np.allclose(second.initial_labels, wrong)
    assert abs(first.labels[0] - truths[0][0]) < 200  # from the restart at the truth
    assert first.chi2 < 1.2 * first.dof and np.isfinite(second.chi2)  # rows put back per spectrum
