"""The forward model's exact Jacobians against central finite differences."""

import numpy as np
import pytest

from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.response import chebyshev_design

from ..conftest import BOSS_WAVELENGTH


@pytest.fixture(scope="module")
def model(toy_boss):
    lam = BOSS_WAVELENGTH[(BOSS_WAVELENGTH > 4600) & (BOSS_WAVELENGTH < 9000)]
    # a per-pixel LSF that varies along the spectrum (R 1,600 → 2,400)
    fwhm = lam / np.linspace(1600.0, 2400.0, lam.size)
    design = chebyshev_design(lam, 6, (lam[0], lam[-1]))
    return ForwardModel(toy_boss.emulator(), toy_boss.grid, lam, fwhm, design, rv_range=(-200, 200))


# labels well away from the box edges (teff, logg, v_sini, v_micro, m_h)
POINTS = [
    (np.array([11000.0, 3.9, 85.0, 2.0, 0.1]), 37.0),
    (np.array([7200.0, 4.4, 210.0, 1.5, -0.45]), -120.0),
]
COEFFS = np.array([1.0, 0.12, -0.05, 0.02, 0.01, -0.004])


def _central(f, x, i, h):
    up, down = x.copy(), x.copy()
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


@pytest.mark.parametrize(("labels", "v_rad"), POINTS)
def test_jacobian_matches_finite_differences(toy_boss, model, labels, v_rad):
    n_lab = labels.size
    widths = np.array([s.upper - s.lower for s in toy_boss.labels])
    params = np.concatenate([labels, [v_rad], COEFFS])

    def flux(p):
        return model.flux(p[:n_lab], float(p[n_lab]), p[n_lab + 1 :])

    value, _, jac = model.flux_and_jacobian(labels, v_rad, COEFFS)
    np.testing.assert_allclose(value, flux(params), rtol=1e-12)
    assert jac.shape == (value.size, n_lab + 1 + COEFFS.size)
    steps = np.concatenate([1e-5 * widths, [1e-3], np.full(COEFFS.size, 1e-4)])
    names = [s.name for s in toy_boss.labels] + ["v_rad"] + [f"c{k}" for k in range(COEFFS.size)]
    for i, name in enumerate(names):
        numeric = _central(flux, params, i, steps[i])
        scale = np.linalg.norm(numeric)
        assert scale > 0, f"{name}: the model does not depend on it"
        rel = np.linalg.norm(jac[:, i] - numeric) / scale
        assert rel < 1e-5, f"{name}: relative Jacobian error {rel:.2e}"


def test_normalized_jacobian_rv_column_is_not_a_label_column(model):
    """A wrong column order (RV derivative in a label slot) would pass a norm-only check."""
    labels, v_rad = POINTS[0]
    _, dnorm = model.normalized_and_jacobian(labels, v_rad)
    numeric = (model.normalized(labels, v_rad + 1e-3) - model.normalized(labels, v_rad - 1e-3)) / 2e-3
    errors = [np.linalg.norm(dnorm[:, k] - numeric) / np.linalg.norm(numeric) for k in range(dnorm.shape[1])]
    assert int(np.argmin(errors)) == dnorm.shape[1] - 1 and min(errors) < 1e-5
