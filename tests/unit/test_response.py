import numpy as np
import torch

from zeta_payne.fitting.presearch import solve_response, varpro_chi2
from zeta_payne.model.response import chebyshev_design


def test_design_maps_range_to_unit_interval():
    lam = np.linspace(4500, 10170, 1000)
    t = chebyshev_design(lam, 15)
    assert t.shape == (1000, 15)
    assert np.allclose(t[:, 0], 1.0)
    assert np.isclose(t[0, 1], -1.0) and np.isclose(t[-1, 1], 1.0)
    # masked pixels do not change the basis (wavelength, not pixel index)
    sub = lam[::3]
    assert np.allclose(chebyshev_design(sub, 15, (lam[0], lam[-1])), t[::3])


def test_segments_are_separate_series():
    lam = np.linspace(15100, 17000, 900)
    t = chebyshev_design(lam, 4, segments=[15800, 16450])
    assert t.shape == (900, 12)
    first = lam < 15800
    assert np.all(t[~first, :4] == 0) and np.allclose(t[first, 0], 1)


def test_linear_response_solve_matches_full_least_squares():
    from scipy.optimize import least_squares

    rng = np.random.default_rng(0)
    lam = np.linspace(4500, 10000, 800)
    design = chebyshev_design(lam, 6)
    model = 1 - 0.4 * np.exp(-0.5 * ((lam - 6563) / 20) ** 2)
    true_c = np.array([100, 5, -3, 1, 0.5, -0.2])
    flux = model * (design @ true_c) + rng.normal(0, 0.5, lam.size)
    ivar = np.full(lam.size, 4.0)
    c, chi2 = solve_response(model, flux, ivar, design)
    full = least_squares(lambda p: (flux - model * (design @ p)) * 2.0, np.ones(6))
    assert np.allclose(c, full.x, rtol=1e-6, atol=1e-6)
    assert np.isclose(chi2, 2 * full.cost, rtol=1e-8)
    # the batched torch version agrees
    models = torch.as_tensor(np.stack([model, model * 0.9 + 0.1]))
    chi, coeffs = varpro_chi2(
        models, torch.as_tensor(flux), torch.as_tensor(ivar), torch.as_tensor(design), ridge=0
    )
    assert np.allclose(coeffs[0].numpy(), c, rtol=1e-6)
    assert np.isclose(chi[0].item(), chi2, rtol=1e-6)
    assert chi[1].item() > chi[0].item()
