"""The batched fitter against the per-spectrum fitter (parity), and its pieces."""

import glob
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.optimize import least_squares

from zeta_payne.fitting import Fitter, Spectrum
from zeta_payne.fitting.batched_lm import batched_lm, trust_region_step
from zeta_payne.fitting.batched_model import BatchedForward
from zeta_payne.fitting.batched_presearch import product_moments, varpro_chi2_moments
from zeta_payne.fitting.presearch import varpro_chi2
from zeta_payne.model.response import chebyshev_design

from ..conftest import APOGEE_WAVELENGTH, BOSS_WAVELENGTH, simulate

# (teff, logg, v_sini, v_micro, m_h), RV, S/N
CASES = [
    (np.array([14500.0, 4.2, 150.0, 2.0, 0.25]), 17.0, 100.0),
    (np.array([8000.0, 3.6, 40.0, 2.0, -0.4]), -33.0, 50.0),
    (np.array([21000.0, 4.7, 300.0, 2.0, 0.5]), 4.0, 200.0),
    (np.array([11000.0, 3.2, 0.5, 2.0, 0.0]), 45.0, 30.0),
]


def _options(bundle, **changes):
    return Fitter.default_options(bundle).updated(presearch_points=512, **changes)


def _spectra(bundle, wavelength):
    out = [
        simulate(bundle, wavelength, labels, v, snr=snr, seed=k) for k, (labels, v, snr) in enumerate(CASES)
    ]
    # different pixel counts in one batch: a masked stretch in one spectrum
    s = out[1]
    ivar = s.ivar.copy()
    ivar[400:900] = 0.0
    out[1] = Spectrum(s.wavelength, s.flux, ivar)
    return out


def _assert_parity(old, new):
    for o, n in zip(old, new, strict=True):
        assert n.flags == o.flags
        assert n.n_pixels == o.n_pixels and n.dof == o.dof
        # both pre-searches re-check their shortlist in float64: the same start
        np.testing.assert_array_equal(n.initial_labels, o.initial_labels)
        assert n.initial_v_rad == o.initial_v_rad
        free = np.isfinite(o.raw_e_labels)
        # labels within 5 % of the reported (χ²-parabola) error, RV within 5 % of its error;
        # or, where the batched pre-search started elsewhere in a flat valley and found a
        # lower χ², within 15 %
        better = n.chi2 < o.chi2 - 0.05
        tol = 0.15 if better else 0.05
        assert np.all(np.abs(n.labels - o.labels)[free] <= tol * o.raw_e_labels[free])
        assert abs(n.v_rad - o.v_rad) <= tol * o.e_v_rad
        if "v_sini_unresolved" not in o.flag_names:
            # at v sin i's bound the errors are ill-defined: SciPy's TRF stays strictly
            # inside the box, the projected LM may rest on the bound itself
            assert np.allclose(n.raw_e_labels[free], o.raw_e_labels[free], rtol=0.1)
            assert np.allclose(n.cov_e_labels[free], o.cov_e_labels[free], rtol=0.1)
        assert better or abs(n.chi2 - o.chi2) <= 0.05 + 1e-6 * o.chi2
        assert n.label_names == o.label_names and set(n.as_row()) == set(o.as_row())
        np.testing.assert_array_equal(np.isfinite(n.edge_chi2), np.isfinite(o.edge_chi2))


def _parity(bundle, wavelength, device="cpu", **changes):
    spectra = _spectra(bundle, wavelength)
    reference = Fitter(bundle, _options(bundle, **changes))
    old = [reference.fit(s) for s in spectra]
    new = Fitter(bundle, _options(bundle, **changes), device=device, batch_size=8).fit_batch(spectra)
    _assert_parity(old, new)


def test_batched_equals_per_spectrum_boss(toy_boss):
    _parity(toy_boss, BOSS_WAVELENGTH)


def test_batched_equals_per_spectrum_apogee_segments(toy_apogee):
    _parity(toy_apogee, APOGEE_WAVELENGTH, response_segments=(15900.0, 16450.0), n_chebyshev=6)


def test_batched_observed_frame_refines(toy_boss):
    _parity(toy_boss, BOSS_WAVELENGTH, rv_range=(-500.0, 500.0))


@pytest.mark.gpu
def test_batched_equals_per_spectrum_on_cuda(toy_boss, toy_apogee):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    _parity(toy_boss, BOSS_WAVELENGTH, device="cuda")
    _parity(toy_apogee, APOGEE_WAVELENGTH, device="cuda")


def test_batch_keeps_order_rejections_and_bad_objects(toy_boss):
    good = simulate(toy_boss, BOSS_WAVELENGTH, CASES[0][0], CASES[0][1], snr=100)
    empty = Spectrum(BOSS_WAVELENGTH, good.flux, np.zeros_like(good.ivar))
    fitter = Fitter(toy_boss, _options(toy_boss), batch_size=4)
    results = fitter.fit_batch([empty, good, empty])
    assert results[0].flag_bad and results[2].flag_bad and not results[1].flag_bad
    seen = []
    rows = fitter.fit_batch([good, object()], progress=lambda i, r: seen.append(i))
    assert seen == [0, 1] and rows[1].flag_bad and "runtime_exception" in rows[1].flag_names


def test_batched_forward_matches_forward_model(toy_boss):
    fitter = Fitter(toy_boss, _options(toy_boss))
    spectra = _spectra(toy_boss, BOSS_WAVELENGTH)
    models = []
    for s in spectra:
        prep = fitter._prepare(s)
        models.append(fitter._forward(prep, prep.used))
    batch = BatchedForward(models, fitter._emulator64, "cpu")
    labels = torch.as_tensor(np.array([c[0] for c in CASES]))
    v = torch.tensor([-80.0, -10.0, 30.0, 95.0], dtype=torch.float64)
    norm, jac = batch.normalized_and_jacobian(labels, v, torch.arange(4))
    for b, fm in enumerate(models):
        ref, ref_jac = fm.normalized_and_jacobian(labels[b].numpy(), float(v[b]))
        n = fm.n_pixels
        np.testing.assert_allclose(norm[b, :n].numpy(), ref, atol=1e-12)
        np.testing.assert_allclose(jac[b, :n].numpy(), ref_jac, atol=1e-9 * np.abs(ref_jac).max())
        assert np.all(norm[b, n:].numpy() == 0)
    # several columns per spectrum, each at its own RV: convolution first, then the cubic
    cols = torch.stack([labels, labels.flip(0), labels.roll(1, 0)], dim=1)  # (4, 3, L)
    v_cols = torch.stack([v, v + 7.5, v - 30.0], dim=1)
    many = batch.normalized_columns(cols, v_cols)
    single = batch.normalized_columns(cols, v_cols, dtype=torch.float32)
    for b, fm in enumerate(models):
        n = fm.n_pixels
        for k in range(3):
            ref = fm.normalized(cols[b, k].numpy(), float(v_cols[b, k]))
            np.testing.assert_allclose(many[b, k, :n].numpy(), ref, atol=1e-12)
            np.testing.assert_allclose(single[b, k, :n].numpy(), ref, atol=1e-5)
        assert np.all(many[b, :, n:].numpy() == 0)


def test_product_moments_give_the_same_chi2():
    rng = np.random.default_rng(3)
    lam = np.linspace(4500.0, 9000.0, 700)
    design = torch.as_tensor(chebyshev_design(lam, 7, segments=(6000.0,)))
    model = torch.as_tensor(1.0 + 0.1 * rng.normal(size=(1, 50, lam.size)))
    flux = torch.as_tensor(1.0 + 0.1 * rng.normal(size=(1, lam.size)))
    weight = torch.as_tensor(rng.uniform(10, 100, size=(1, lam.size)))
    moments, maps = product_moments(design[None], 7)
    chi2 = varpro_chi2_moments(model, flux, weight, design[None], moments, maps)
    ref, _ = varpro_chi2(model[0], flux[0], weight[0], design)
    np.testing.assert_allclose(chi2[0].numpy(), ref.numpy(), rtol=1e-8)


def test_batched_lm_bounds_and_per_problem_convergence():
    # r_b(x) = x − target_b, target outside the box for problem 1: it ends at the bound
    target = torch.tensor([[0.3, -0.2], [2.0, 0.5]], dtype=torch.float64)

    def evaluate(x, rows):
        jac = torch.eye(2, dtype=torch.float64).expand(x.shape[0], 2, 2).clone()
        return x - target[rows], jac, None

    lower = torch.full((2, 2), -1.0, dtype=torch.float64)
    upper = torch.full((2, 2), 1.0, dtype=torch.float64)
    res = batched_lm(evaluate, torch.zeros((2, 2), dtype=torch.float64), lower, upper, 20, 1e-10)
    np.testing.assert_allclose(res.x[0].numpy(), [0.3, -0.2], atol=1e-6)
    np.testing.assert_allclose(res.x[1].numpy(), [1.0, 0.5], atol=1e-6)
    assert (res.status > 0).all()


def test_trust_region_step_fits_the_radius():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 6, 4))
    a = torch.as_tensor(m.transpose(0, 2, 1) @ m)
    a[2, :, 3] = a[2, 3, :] = 0.0  # a frozen parameter: zero row and column, no step
    g = torch.as_tensor(rng.normal(size=(3, 4)))
    g[2, 3] = 0.0
    gauss_newton = -np.linalg.lstsq(a[0].numpy(), g[0].numpy(), rcond=None)[0]
    radius = torch.tensor([1e6, 0.05, 0.05], dtype=torch.float64)
    step = trust_region_step(a, g, radius)
    np.testing.assert_allclose(step[0].numpy(), gauss_newton, rtol=1e-8)  # inside: Gauss–Newton
    norms = torch.linalg.vector_norm(step, dim=1)
    np.testing.assert_allclose(norms[1:].numpy(), [0.05, 0.05], rtol=1e-6)  # on the sphere
    # and it is a Levenberg–Marquardt step: (A + λ I) p = −g for one λ > 0
    lam = -((a[1] @ step[1] + g[1]) / step[1]).numpy()
    np.testing.assert_allclose(lam, lam.mean(), rtol=1e-5)
    assert lam.mean() > 0 and abs(float(step[2, 3])) < 1e-12


def test_batched_lm_matches_scipy_on_curved_problems():
    # exponential decays from a poor start: the Gauss–Newton step overshoots, the trust
    # region has to shrink fast enough to converge within the evaluation limit
    t = np.linspace(0.0, 4.0, 40)
    truth = np.array([[2.0, 1.5], [0.5, 3.0], [1.0, 0.2], [3.0, 0.8]])
    rng = np.random.default_rng(1)
    data = truth[:, :1] * np.exp(-truth[:, 1:] * t) + 0.01 * rng.normal(size=(4, t.size))
    data_t = torch.as_tensor(data)
    t_t = torch.as_tensor(t)

    def evaluate(x, rows):
        e = torch.exp(-x[:, 1:2] * t_t)
        resid = x[:, :1] * e - data_t[rows]
        jac = torch.stack([e, -x[:, :1] * t_t * e], dim=2)
        return resid, jac, None

    start = torch.tensor([[1.0, 0.01]] * 4, dtype=torch.float64)
    lower = torch.tensor([[0.0, 0.0]] * 4, dtype=torch.float64)
    upper = torch.tensor([[10.0, 10.0]] * 4, dtype=torch.float64)
    res = batched_lm(evaluate, start, lower, upper, 40, 1e-10)
    assert (res.status > 0).all()
    for b in range(4):
        ref = least_squares(
            lambda p, b=b: p[0] * np.exp(-p[1] * t) - data[b], [1.0, 0.01], bounds=([0, 0], [10, 10])
        )
        np.testing.assert_allclose(res.x[b].numpy(), ref.x, rtol=1e-4)
        assert float(res.chi2[b]) <= 2 * ref.cost + 1e-12


def test_unconverged_member_is_refitted_alone(toy_boss, monkeypatch):
    import zeta_payne.fitting.batched as batched_module

    spectra = _spectra(toy_boss, BOSS_WAVELENGTH)[:3]
    reference = Fitter(toy_boss, _options(toy_boss))
    alone = reference.fit(spectra[1])
    real = batched_module.batched_lm

    def out_of_evaluations(evaluate, start, lower, upper, max_nfev, tol, xtol=1e-8, x_scale=None):
        res = real(evaluate, start, lower, upper, max_nfev, tol, xtol, x_scale)
        if x_scale is not None:  # the polish: member 1 "still gaining" at the evaluation limit
            res.status[1] = 0
            res.chi2[1] -= 10.0
        return res

    monkeypatch.setattr(batched_module, "batched_lm", out_of_evaluations)
    results = Fitter(toy_boss, _options(toy_boss), batch_size=8).fit_batch(spectra)
    assert "refit_alone" in results[1].timing and "unconverged" not in results[1].flag_names
    np.testing.assert_array_equal(results[1].labels, alone.labels)  # the per-spectrum result itself
    assert results[1].chi2 == alone.chi2
    assert all("refit_alone" not in results[i].timing for i in (0, 2))


DEMO = Path(__file__).parents[2] / "data" / "demo"


@pytest.mark.slow
def test_demo_apogee_batched_converges_and_agrees():
    """The shipped APOGEE bundle on the demo spectra: the batched fit converges on every one
    (one ended ``unconverged`` in the first batched LM) and agrees with the fit alone."""
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.cli.fit_inputs import read_inputs
    from zeta_payne.fitting.options import merge_options

    spectra, _ = read_inputs(sorted(glob.glob(str(DEMO / "mwmStar*.fits"))))
    spectra = [s for s in spectra if s.meta["instrument"] == "apogee"]
    assert len(spectra) >= 5
    bundle = find_bundle("apogee")
    fitter = Fitter(bundle, merge_options(bundle.manifest.fit_defaults, None, frame="rest"), batch_size=16)
    old = [fitter.fit(s) for s in spectra]
    new = fitter.fit_batch(spectra)
    for o, n in zip(old, new, strict=True):
        assert "refit_alone" not in n.timing and "unconverged" not in n.flag_names
        assert n.flags == o.flags
        free = np.isfinite(o.raw_e_labels)
        # the batched LM may continue past the per-spectrum TRF's early stop in a flat
        # valley: then its χ² is lower, and the labels differ by a third of an error at most
        tol = 0.35 if n.chi2 < o.chi2 - 0.5 else 0.15
        assert np.all(np.abs(n.labels - o.labels)[free] <= tol * o.raw_e_labels[free])
        assert n.chi2 <= o.chi2 + 0.5


@pytest.mark.slow
def test_shipped_apogee_batched_parity_on_simulated_spectra():
    """Shipped APOGEE bundle, 16 simulated spectra at S/N 50 (issue 16's parity bound).

    Both paths start from the same pre-search candidate (before the per-spectrum
    pre-search re-checked its float32 χ² in float64, 28 % started elsewhere). From the same
    start the two solvers (SciPy's TRF, the batched trust-region LM) stop at nearby points
    of the leaky-ReLU network's piecewise-quadratic χ² — a tighter tolerance moves neither
    — or the TRF stops early in a flat valley (χ² up to 5 above the batched fit here), so
    the bound is on the typical difference and on the worst where the χ² agree.
    """
    from zeta_payne.bundles.registry import find_bundle

    bundle = find_bundle("apogee")
    rng = np.random.default_rng(16)
    spectra = []
    for k in range(16):
        labels = np.array(
            [s.lower + rng.uniform() * (s.upper - s.lower) if s.free else s.value for s in bundle.labels]
        )
        spectra.append(simulate(bundle, APOGEE_WAVELENGTH, labels, rng.uniform(-50, 50), snr=50, seed=k))
    opts = Fitter.default_options(bundle).updated(presearch_points=4000, n_chebyshev=15)
    fitter = Fitter(bundle, opts, batch_size=16)
    old = [fitter.fit(s) for s in spectra]
    new = fitter.fit_batch(spectra)
    worst = []
    for o, n in zip(old, new, strict=True):
        np.testing.assert_array_equal(n.initial_labels, o.initial_labels)
        free = np.isfinite(o.raw_e_labels)
        dl = np.abs(n.labels - o.labels)[free] / o.raw_e_labels[free]
        d = max(np.max(dl), abs(n.v_rad - o.v_rad) / o.e_v_rad)
        worst.append(d)
        # a difference beyond a tenth of an error only between fits of equal χ² (± 0.6), or
        # where the per-spectrum TRF stopped early in a flat valley (the batched χ² lower)
        better = n.chi2 < o.chi2 - 0.6
        assert d <= 0.1 or abs(n.chi2 - o.chi2) <= 0.6 or better
        assert d <= 0.7 or better
        assert n.chi2 <= o.chi2 + 0.6
    assert np.median(worst) <= 0.03


def test_batched_lm_shrinks_fast_in_a_curved_valley():
    # Rosenbrock valleys: after a rejected step the trust region shrinks to a quarter of
    # that step at once (a fixed factor on λ wasted evaluations: 28 for k = 10 before)
    k = torch.tensor([1.0, 10.0], dtype=torch.float64)

    def evaluate(x, rows):
        resid = torch.stack([k[rows] * (x[:, 1] - x[:, 0] ** 2), 1.0 - x[:, 0]], dim=1)
        jac = torch.zeros((x.shape[0], 2, 2), dtype=torch.float64)
        jac[:, 0, 0] = -2.0 * k[rows] * x[:, 0]
        jac[:, 0, 1] = k[rows]
        jac[:, 1, 0] = -1.0
        return resid, jac, None

    start = torch.tensor([[-1.2, 1.0]] * 2, dtype=torch.float64)
    box = torch.full((2, 2), 5.0, dtype=torch.float64)
    res = batched_lm(evaluate, start, -box, box, 30, 1e-12)
    assert (res.status == 2).all() and int(res.nfev.max()) <= 20
    np.testing.assert_allclose(res.x.numpy(), 1.0, atol=1e-4)


def test_coarse_presearch_pass_keeps_the_best(toy_apogee):
    from zeta_payne.fitting.batched import BatchedFit
    from zeta_payne.fitting.batched_presearch import presearch_batch

    opts = _options(toy_apogee, response_segments=(15900.0, 16450.0), n_chebyshev=6)
    fitter = Fitter(toy_apogee, opts)
    spectra = _spectra(toy_apogee, APOGEE_WAVELENGTH)
    preps = [fitter._prepare(s) for s in spectra]
    models = [fitter._forward(p, p.used) for p in preps]
    lo, hi = opts.rv_range
    args = (
        BatchedFit(fitter).factors,
        fitter._cand_rv_unit,
        models,
        [p.flux for p in preps],
        [p.weight for p in preps],
        [fitter._rv_levels(p, lo, hi) for p in preps],
        opts.n_chebyshev,
        opts.presearch_stride,
        4,
    )
    full, _, chi_full = presearch_batch(*args)
    coarse, _, chi_coarse = presearch_batch(*args, coarse_stride=8, coarse_keep=64)
    np.testing.assert_array_equal(coarse[:, 0], full[:, 0])
    np.testing.assert_allclose(chi_coarse[:, 0], chi_full[:, 0], rtol=1e-6)
    # a coarse pass that keeps too few candidates loses them: the test can tell
    _, _, starved = presearch_batch(*args, coarse_stride=64, coarse_keep=1)
    assert np.isinf(starved[:, 1:]).all() and np.isfinite(starved[:, 0]).all()


def test_batched_sets_the_out_of_box_bits(toy_boss):
    from zeta_payne.fitting.flags import ResultFlags

    spectra = _spectra(toy_boss, BOSS_WAVELENGTH)[:2]
    s = spectra[0]
    bump = 1.0 + 0.6 * np.exp(-0.5 * ((BOSS_WAVELENGTH - 6564.6) / 2.5) ** 2)  # Hα emission
    spectra[0] = Spectrum(s.wavelength, s.flux * bump, s.ivar)
    alone = Fitter(toy_boss, _options(toy_boss)).fit(spectra[0])
    assert alone.flags & ResultFlags.EMISSION
    batched = Fitter(toy_boss, _options(toy_boss), batch_size=4).fit_batch(spectra)
    assert batched[0].flags == alone.flags and not batched[1].flags & ResultFlags.EMISSION


def test_memory_batch_size():
    from zeta_payne.fitting.batched import CPU_BATCH_CAP, memory_batch_size, working_set_bytes

    per = working_set_bytes(7800, 50, 5)
    assert memory_batch_size(7800, 50, 5, "cpu", available=64 * 2**30, resident=0) <= CPU_BATCH_CAP
    assert memory_batch_size(7800, 50, 5, "cpu", available=4 * 10 * per, resident=0) == 10  # a quarter
    assert memory_batch_size(7800, 50, 5, "cpu", available=1, resident=0) == 1
    # a worker that already holds much (a large network) keeps the rest under the limit
    from zeta_payne.fitting.batched import CPU_MIN_BUDGET, CPU_WORKER_LIMIT

    held = CPU_WORKER_LIMIT - 5 * per
    assert memory_batch_size(7800, 50, 5, "cpu", available=64 * 2**30, resident=held) == 5
    full = memory_batch_size(7800, 50, 5, "cpu", available=64 * 2**30, resident=2**40)
    assert full == max(1, CPU_MIN_BUDGET // per)
    # a GPU takes half its free memory, far more spectra than a CPU batch
    assert memory_batch_size(7800, 50, 5, "cuda", available=2 * 1000 * per) == 1000
