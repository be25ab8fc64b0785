import numpy as np

from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS, doppler_factor, log_doppler_factor


def test_plus_then_minus_is_identity():
    lam = np.linspace(4000, 9000, 11)
    for v in (-300.0, -12.5, 0.0, 7.0, 250.0):
        assert np.allclose(lam * doppler_factor(v) * doppler_factor(-v), lam, rtol=0, atol=1e-10)


def test_low_velocity_limit_and_log():
    v = 30.0
    assert abs(doppler_factor(v) - (1 + v / SPEED_OF_LIGHT_KMS)) < 1e-8
    assert np.isclose(np.exp(log_doppler_factor(v)), doppler_factor(v), rtol=1e-14)
