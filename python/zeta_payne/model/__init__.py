"""The forward model: emulator, Doppler shift, line-spread function, response.

Numerical code only: no I/O, no configuration, no database.
"""

from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS, doppler_factor
from zeta_payne.model.emulator import Emulator, EmulatorWeights
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.lsf import BandOperator, convolution_band, resampling_band
from zeta_payne.model.response import chebyshev_design
from zeta_payne.model.wavelength import air_to_vacuum, vacuum_to_air

__all__ = [
    "SPEED_OF_LIGHT_KMS",
    "BandOperator",
    "Emulator",
    "EmulatorWeights",
    "ForwardModel",
    "air_to_vacuum",
    "chebyshev_design",
    "convolution_band",
    "doppler_factor",
    "resampling_band",
    "vacuum_to_air",
]
