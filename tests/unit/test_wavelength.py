import numpy as np

from zeta_payne.model.wavelength import air_to_vacuum, vacuum_to_air


def test_round_trip_and_known_value():
    air = np.array([4861.35, 6562.79, 15000.0, 16811.1])
    assert np.allclose(vacuum_to_air(air_to_vacuum(air)), air, atol=1e-8)
    # Hα: 6562.79 Å in air is 6564.6 Å in vacuum
    assert abs(air_to_vacuum(6562.79) - 6564.60) < 0.02
