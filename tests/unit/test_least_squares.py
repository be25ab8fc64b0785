"""The shared TRF driver: bounds, caching of residual and Jacobian, the extra value."""

import numpy as np

from zeta_payne.fitting.least_squares import relative_ftol, trf


def test_trf_fits_a_line_and_returns_extra():
    x = np.linspace(0.0, 1.0, 50)
    y = 2.0 + 3.0 * x
    calls = []

    def evaluate(p):
        calls.append(p.copy())
        return p[0] + p[1] * x - y, np.stack([np.ones_like(x), x], axis=1), float(p[1])

    result, slope = trf(evaluate, np.array([0.0, 0.0]), np.array([-10.0, -10.0]), np.array([10.0, 10.0]),
                        50, 1e-10)
    np.testing.assert_allclose(result.x, [2.0, 3.0], atol=1e-6)
    assert slope == result.x[1]
    # residual and Jacobian at one point are computed once
    keys = [c.tobytes() for c in calls]
    assert len(keys) == len(set(keys))


def test_trf_respects_bounds_and_starts_inside():
    x = np.linspace(0.0, 1.0, 20)

    def evaluate(p):
        return p[0] * x - 5.0 * x, x[:, None], None

    result, _ = trf(evaluate, np.array([0.0]), np.array([0.0]), np.array([1.0]), 50, 1e-10)
    assert 0.0 <= result.x[0] <= 1.0 and result.x[0] > 0.99


def test_relative_ftol():
    assert relative_ftol(0.01, 1e4) == 1e-6
    assert relative_ftol(0.01, 1.0) == 1e-3  # clipped
