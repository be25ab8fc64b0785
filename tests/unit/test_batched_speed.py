"""Issue 16's speed work on the fit paths: each cheaper evaluation against the plain one.

A model grid much finer than the observed pixels (as an authors'-format 57,800-pixel
network under BOSS pixels) takes the composed-band paths; the per-spectrum pre-search
re-checks its float32 shortlist in float64.
"""

import numpy as np
import pytest
import torch

from zeta_payne.fitting import Fitter, Spectrum
from zeta_payne.fitting.batched_model import BatchedForward
from zeta_payne.fitting.batched_presearch import _level_bases, candidate_factors
from zeta_payne.fitting.presearch import varpro_chi2
from zeta_payne.model.forward import ForwardModel

from ..conftest import APOGEE_WAVELENGTH, BOSS_WAVELENGTH, simulate


@pytest.fixture(scope="module")
def fine_boss(tmp_path_factory):
    """A BOSS toy bundle on a model grid ~13× finer than the BOSS pixels, unresolved (R = 10⁶)."""
    from zeta_payne.bundles.toy import make_toy_bundle

    return make_toy_bundle(
        tmp_path_factory.mktemp("fine") / "fine-boss",
        "boss",
        n_pixels=50000,
        n_hidden=16,
        resolution=1e6,
        n_lines=150,
    )


def _models(fitter, spectra):
    out = []
    for s in spectra:
        prep = fitter._prepare(s)
        out.append(fitter._forward(prep, prep.used))
    return out


def test_fine_grid_batched_forward_matches_forward_model(fine_boss):
    fitter = Fitter(fine_boss, Fitter.default_options(fine_boss).updated(presearch_points=64))
    labels = np.array([[14500.0, 4.2, 150.0, 2.0, 0.25], [8000.0, 3.6, 40.0, 2.0, -0.4]])
    spectra = [
        simulate(fine_boss, BOSS_WAVELENGTH, lab, 10.0 * k, snr=50, seed=k) for k, lab in enumerate(labels)
    ]
    # the second spectrum with its own LSF (another band) and fewer pixels
    s = spectra[1]
    spectra[1] = Spectrum(
        s.wavelength[:3000], s.flux[:3000], s.ivar[:3000], lsf_fwhm=s.wavelength[:3000] / 1500.0
    )
    models = _models(fitter, spectra)
    assert models[0].n_window > 10 * models[0].n_pixels  # the fine-grid case
    batch = BatchedForward(models, fitter._emulator64, "cpu", emulator32=fitter.emulator)
    assert batch._w2_32 is not None
    lab_t = torch.as_tensor(labels)
    v = torch.tensor([-40.0, 55.0], dtype=torch.float64)
    norm, jac = batch.normalized_and_jacobian(lab_t, v, torch.arange(2))
    for b, fm in enumerate(models):
        ref, ref_jac = fm.normalized_and_jacobian(labels[b], float(v[b]))
        n = fm.n_pixels
        np.testing.assert_allclose(norm[b, :n].numpy(), ref, atol=1e-12)  # the model: float64
        # label derivatives through the float32 last layer, the RV's in float64
        np.testing.assert_allclose(
            jac[b, :n, :-1].numpy(), ref_jac[:, :-1], atol=1e-5 * np.abs(ref_jac).max()
        )
        np.testing.assert_allclose(
            jac[b, :n, -1].numpy(), ref_jac[:, -1], atol=1e-9 * np.abs(ref_jac[:, -1]).max()
        )
        assert np.all(norm[b, n:].numpy() == 0) and np.all(jac[b, n:].numpy() == 0)
    cols = torch.stack([lab_t, lab_t.flip(0)], dim=1)  # (2, 2, L)
    v_cols = torch.stack([v, v - 25.0], dim=1)
    many = batch.normalized_columns(cols, v_cols)
    single = batch.normalized_columns(cols, v_cols, dtype=torch.float32)
    for b, fm in enumerate(models):
        n = fm.n_pixels
        for k in range(2):
            ref = fm.normalized(cols[b, k].numpy(), float(v_cols[b, k]))
            np.testing.assert_allclose(many[b, k, :n].numpy(), ref, atol=1e-12)
            np.testing.assert_allclose(single[b, k, :n].numpy(), ref, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_level_bases_compose_or_fold_alike(fine_boss, stride):
    fitter = Fitter(fine_boss, Fitter.default_options(fine_boss).updated(presearch_points=64))
    spectrum = simulate(fine_boss, BOSS_WAVELENGTH, np.array([9000.0, 4.0, 50.0, 2.0, 0.0]), 5.0, snr=50)
    (fm,) = _models(fitter, [spectrum])
    basis = torch.as_tensor(
        np.random.default_rng(2).normal(size=(fine_boss.grid.n_pixels, 6)), dtype=torch.float32
    )
    levels = np.array([-60.0, -7.0, 60.0])
    pixels = np.arange(0, fm.n_pixels, stride)
    composed = _level_bases(fm, basis, levels, pixels, order="compose")
    folded = _level_bases(fm, basis, levels, pixels, order="fold")
    assert composed.shape == (3, pixels.size, 6)
    np.testing.assert_allclose(composed.numpy(), folded.numpy(), atol=2e-5 * float(folded.abs().max()))
    # the automatic choice composes here (fewer multiply-adds on a fine grid)
    np.testing.assert_array_equal(_level_bases(fm, basis, levels, pixels).numpy(), composed.numpy())
    # the order follows the cost of the call alone, never the cache: a band met again gives
    # the first result to the last bit (a pre-search must not depend on what came before)
    cache: dict = {}
    first = _level_bases(fm, basis, levels, pixels, folded_cache=cache)
    again = _level_bases(fm, basis, levels, pixels, folded_cache=cache)
    np.testing.assert_array_equal(first.numpy(), composed.numpy())
    np.testing.assert_array_equal(again.numpy(), first.numpy())
    assert not cache  # composed: nothing folded to keep
    # where folding is the cheaper order (many RV levels), the folded band is made once and kept
    many = np.linspace(-60.0, 60.0, 400)
    fold = _level_bases(fm, basis, many, pixels, order="fold")
    first = _level_bases(fm, basis, many, pixels, folded_cache=cache)
    assert len(cache) == 1 and next(iter(cache.values()))[2] is not None
    again = _level_bases(fm, basis, many, pixels, folded_cache=cache)
    np.testing.assert_array_equal(first.numpy(), fold.numpy())
    np.testing.assert_array_equal(again.numpy(), fold.numpy())


def test_candidate_factors_reconstruct_outputs():
    rng = np.random.default_rng(0)
    hidden = torch.as_tensor(rng.normal(size=(300, 12)))
    # outputs of rank 8 (a low-rank last layer) plus a small full-rank part
    weight = torch.as_tensor(
        rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 12)) + 1e-4 * rng.normal(size=(2000, 12))
    )
    bias = torch.as_tensor(rng.normal(size=2000))
    y = (
        torch.cat([hidden, torch.ones(300, 1, dtype=torch.float64)], 1)
        @ torch.cat([weight, bias[:, None]], 1).T
    )
    full = candidate_factors(hidden, weight, bias, 0.0)
    approx = full.coefficients.double() @ full.basis.double().T
    np.testing.assert_allclose(approx.numpy(), y.numpy(), atol=1e-5 * float(y.abs().max()))
    np.testing.assert_allclose(
        (full.basis.double().T @ full.basis.double()).numpy(), np.eye(full.rank), atol=1e-5
    )
    low = candidate_factors(hidden, weight, bias, 1e-3)
    assert low.rank == 9  # rank 8 + the bias
    rms = float(torch.sqrt(((low.coefficients.double() @ low.basis.double().T - y) ** 2).mean()))
    assert abs(rms - low.rms_residual) <= 0.05 * low.rms_residual + 1e-6 and rms <= 1e-3


def test_forward_models_share_one_lsf_band(toy_boss):
    lam = BOSS_WAVELENGTH[200:3000]
    design = np.ones((lam.size, 1))
    a = ForwardModel(toy_boss.emulator(), toy_boss.grid, lam, lam / 2000.0, design, rv_range=(-50, 50))
    b = ForwardModel(toy_boss.emulator(), toy_boss.grid, lam, lam / 2000.0, design, rv_range=(-50, 50))
    c = ForwardModel(toy_boss.emulator(), toy_boss.grid, lam, lam / 1900.0, design, rv_range=(-50, 50))
    assert a.conv_band is b.conv_band and a._conv64 is b._conv64  # the CSR built once, shared
    assert c.conv_band is not a.conv_band
    assert c.conv_band.weights.shape != a.conv_band.weights.shape or not np.allclose(
        c.conv_band.weights, a.conv_band.weights
    )


def test_per_spectrum_presearch_picks_the_float64_best(toy_apogee):
    """The per-spectrum pre-search re-checks its float32 shortlist in float64: its start has
    the lowest float64 pre-search χ² of all candidates (within rounding of the float32 model)."""
    opts = Fitter.default_options(toy_apogee).updated(presearch_points=512)
    fitter = Fitter(toy_apogee, opts)
    spectrum = simulate(toy_apogee, APOGEE_WAVELENGTH, np.array([12000.0, 4.0, 80.0, 2.0, 0.1]), 12.0, snr=50)
    prep = fitter._prepare(spectrum)
    fm = fitter._forward(prep, prep.used)
    lo, hi = opts.rv_range
    labels, v_rad, chi2, _ = fitter._presearch_range(prep, fm, lo, hi)
    levels = fitter._rv_levels(prep, lo, hi)
    level = np.clip(np.rint(fitter._cand_rv_unit * (len(levels) - 1)).astype(int), 0, len(levels) - 1)
    pixels = np.arange(0, prep.flux.size, opts.presearch_stride)
    design = fm.design.numpy()[pixels]

    # every candidate's χ² in float64 (the model in float32, as the re-check; ~1e-3 in χ²)
    f64 = torch.float64
    args = [torch.as_tensor(a, dtype=f64) for a in (prep.flux[pixels], prep.weight[pixels], design)]
    values = np.full(len(fitter._cand_labels), np.inf)
    for k in np.unique(level):
        members = np.flatnonzero(level == k)
        model = fm.normalized_batch(fitter._cand_labels[members], float(levels[k]))[:, pixels]
        values[members] = varpro_chi2(torch.as_tensor(model, dtype=f64), *args)[0].numpy()
    assert chi2 <= values.min() + 0.01
    # the re-check orders by the float64 χ², whatever the float32 order (reversed here)
    top = np.argsort(values)[:8]
    shortlist = [(float(-r), int(c), int(level[c])) for r, c in enumerate(top)][::-1]
    picked_chi2, picked, picked_v = fitter._recheck(prep, fm, pixels, shortlist, levels)
    assert picked == top[0] and picked_v == levels[level[top[0]]]
    assert abs(picked_chi2 - values[top[0]]) <= 1e-6 * values[top[0]]
    j = int(np.flatnonzero(np.all(fitter._cand_labels == labels, axis=1))[0])
    assert abs(values[j] - chi2) <= 0.01 and v_rad == levels[level[j]]


@pytest.mark.parametrize("v_rad", [-60.0, 0.0, 37.5])
def test_flux_at_composed_matches_the_convolved_window(fine_boss, v_rad):
    """``flux_at`` reads the LSF rows through composed bands: equal to ``S_v (C NN)``,
    window edges included (pixels past the window's ends clip the cubic's taps)."""
    fitter = Fitter(fine_boss, Fitter.default_options(fine_boss).updated(presearch_points=64))
    spectrum = simulate(fine_boss, BOSS_WAVELENGTH, np.array([9000.0, 4.0, 50.0, 2.0, 0.0]), 5.0, snr=50)
    (fm,) = _models(fitter, [spectrum])
    labels = np.array([15000.0, 4.1, 120.0, 2.0, 0.2])
    lam = spectrum.wavelength[(spectrum.wavelength > 4400.0) & (spectrum.wavelength < 10300.0)]
    coeffs = np.array([1.0, 0.1])
    design = np.stack([np.ones(lam.size), np.linspace(-1, 1, lam.size)], axis=1)
    got = fm.flux_at(lam, design, labels, v_rad, coeffs)
    from zeta_payne.model.doppler import log_doppler_factor
    from zeta_payne.model.lsf import resampling_band

    band, _ = resampling_band(
        fm.window_loglam0, fm.grid.delta, fm.n_window, np.log(lam) - log_doppler_factor(v_rad)
    )
    ref = band.to_scipy() @ fm.rest_flux(labels).numpy() * (design @ coeffs)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
