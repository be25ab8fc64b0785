"""Rotational broadening on the log-λ model grid."""

import numpy as np
import pytest

from zeta_payne.grids.format import BOSS_MODEL_GRID
from zeta_payne.grids.rotation import SPEED_OF_LIGHT_KMS, rotate, rotation_kernel


@pytest.fixture
def spectrum():
    w = BOSS_MODEL_GRID.wavelength[8000:10000]
    f = 1 - 0.6 * np.exp(-0.5 * ((w - w[1000]) / 0.4) ** 2)
    f -= 0.3 * np.exp(-0.5 * ((w - w[600]) / 0.3) ** 2)
    return w, f


def test_zero_vsini_is_identity(spectrum):
    w, f = spectrum
    out = rotate(w, np.stack([f, f]), np.array([0.0, 0.0]))
    assert np.array_equal(out, np.stack([f, f]))
    assert np.array_equal(rotate(w, f, 0.0), f)


@pytest.mark.parametrize("vsini", [0.5, 5.0, 50.0, 200.0, 400.0])
def test_equivalent_width_is_conserved(spectrum, vsini):
    w, f = spectrum
    out = rotate(w, f[None], np.array([vsini]))[0]
    assert np.sum(1 - out) == pytest.approx(np.sum(1 - f), rel=1e-6)
    assert out.min() >= f.min() - 1e-9  # broadening makes lines shallower


def test_vectorised_rows_are_independent(spectrum):
    w, f = spectrum
    v = np.array([0.0, 30.0, 120.0])
    out = rotate(w, np.stack([f, f, f]), v)
    for i, vi in enumerate(v):
        assert np.allclose(out[i], rotate(w, f, vi), atol=1e-12)
    assert out[2].min() > out[1].min() > out[0].min()


def test_small_vsini_is_continuous(spectrum):
    w, f = spectrum
    d1 = np.abs(rotate(w, f, 0.1) - f).max()
    d2 = np.abs(rotate(w, f, 1.0) - f).max()
    assert d1 < 1e-4 and d1 < d2


def test_matches_direct_convolution_with_the_kernel(spectrum):
    w, f = spectrum
    step = np.log(w[1] / w[0])
    k = rotation_kernel(150.0, step)
    assert k.sum() == pytest.approx(1.0)
    assert k.size // 2 >= 150.0 / SPEED_OF_LIGHT_KMS / step
    direct = 1 - np.convolve(1 - f, k, mode="same")
    assert np.abs(rotate(w, f, 150.0) - direct)[200:-200].max() < 5e-3


def test_rejects_non_loglam_grid():
    w = np.linspace(5000, 5100, 500)
    with pytest.raises(ValueError):
        rotate(w, np.ones(500), 10.0)
