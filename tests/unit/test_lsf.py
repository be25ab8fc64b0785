import numpy as np

from zeta_payne.model.lsf import FWHM_TO_SIGMA, convolution_band, resampling_band, residual_sigma


def test_convolution_conserves_flux_and_matches_direct():
    delta = 1e-5
    p = 2001
    sigma = np.full(p, 4.3 * delta)
    band = convolution_band(sigma, delta)
    x = np.zeros(p)
    x[1000] = 1.0  # a delta line
    y = band.to_dense() @ x
    assert np.isclose(y.sum(), 1.0, atol=1e-12)
    # direct convolution with a sampled, normalised Gaussian
    half = int(np.ceil(4 * 4.3))  # the band's truncation at 4σ
    k = np.exp(-0.5 * (np.arange(-half, half + 1) / 4.3) ** 2)
    k /= k.sum()
    direct = np.convolve(x, k, mode="same")
    assert np.allclose(y, direct, atol=1e-12)
    # and within 1e-4 of the untruncated Gaussian
    wide = np.exp(-0.5 * (np.arange(-60, 61) / 4.3) ** 2)
    assert np.allclose(y, np.convolve(x, wide / wide.sum(), mode="same"), atol=1e-4 * y.max())
    # a flat spectrum stays flat, including near the edges (renormalised kernels)
    assert np.allclose(band.to_dense() @ np.ones(p), 1.0)


def test_variable_width_rows_normalised():
    delta = 1e-5
    sigma = np.linspace(1, 6, 500) * delta
    band = convolution_band(sigma, delta)
    assert np.allclose(band.weights.sum(axis=1), 1.0)
    # the LSF is defined per output pixel (rows sum to one), so with a varying width the
    # equivalent width of a line is conserved to the order of the width gradient
    x = np.ones(500)
    x[240:260] -= 0.5
    y = band.to_dense() @ x
    assert np.isclose((1 - y).sum(), (1 - x).sum(), rtol=1e-3)


def test_residual_sigma():
    lam = np.array([5000.0])
    s = residual_sigma(lam, lam / 2000.0, 6000.0)
    expected = FWHM_TO_SIGMA * np.sqrt(1 / 2000.0**2 - 1 / 6000.0**2)
    assert np.isclose(s[0], expected)
    assert np.isclose(residual_sigma(lam, lam / 2000.0, None)[0], FWHM_TO_SIGMA / 2000.0)


def test_cubic_resampling_exact_for_cubics_and_derivative():
    delta = 1e-3
    x = np.arange(200) * delta
    f = 2 + 3 * x - 5 * x**2 + 7 * x**3
    target = np.linspace(0.01, 0.18, 57)
    value, deriv = resampling_band(0.0, delta, 200, target)
    # Keys cubic reproduces quadratics exactly
    quad = 1 + 2 * x - 3 * x**2
    assert np.allclose(value.to_dense() @ quad, 1 + 2 * target - 3 * target**2, atol=1e-10)
    assert np.allclose(value.to_dense() @ f, 2 + 3 * target - 5 * target**2 + 7 * target**3, atol=1e-6)
    # derivative weights: compare with finite differences of the interpolant
    h = 1e-7
    plus, _ = resampling_band(0.0, delta, 200, target + h)
    minus, _ = resampling_band(0.0, delta, 200, target - h)
    fd = (plus.to_dense() @ f - minus.to_dense() @ f) / (2 * h)
    assert np.allclose(deriv.to_dense() @ f, fd, rtol=1e-5, atol=1e-6)


def test_band_compose_matches_dense():
    delta = 1e-5
    conv = convolution_band(np.full(300, 3 * delta), delta)
    value, _ = resampling_band(0.0, delta, 300, np.linspace(20 * delta, 280 * delta, 77))
    composed = value.compose(conv)
    assert np.allclose(composed.to_dense(), value.to_dense() @ conv.to_dense(), atol=1e-12)


def test_convolution_band_edges_are_truncated_gaussians():
    """Edge rows keep the taps that fall inside the grid, centred on their own pixel."""
    import numpy as np

    from zeta_payne.model.lsf import convolution_band

    delta = 1e-5
    band = convolution_band(np.full(50, 2.0 * delta), delta)
    dense = band.to_scipy().toarray()
    for row in (0, 1, 5, 25, 44, 49):
        cols = np.arange(50)
        expected = np.exp(-0.5 * ((cols - row) / 2.0) ** 2)
        expected[np.abs(cols - row) > 8] = 0.0
        expected /= expected.sum()
        np.testing.assert_allclose(dense[row], expected, atol=1e-12)
