"""Relativistic Doppler shift."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["SPEED_OF_LIGHT_KMS", "doppler_factor", "log_doppler_factor"]

#: Speed of light in vacuum [km/s].
SPEED_OF_LIGHT_KMS: float = 299_792.458


def doppler_factor(v_rad: npt.ArrayLike) -> np.ndarray:
    """Relativistic Doppler factor ``D = sqrt((1 + v/c) / (1 - v/c))``.

    A rest-frame wavelength ``λ_rest`` is observed at ``λ_obs = D · λ_rest``.

    Parameters
    ----------
    v_rad : array_like, shape (*)
        Radial velocity [km/s], positive for recession.

    Returns
    -------
    numpy.ndarray, shape (*)
        The dimensionless Doppler factor.
    """
    beta = np.asarray(v_rad, dtype=float) / SPEED_OF_LIGHT_KMS
    return np.sqrt((1.0 + beta) / (1.0 - beta))


def log_doppler_factor(v_rad: npt.ArrayLike) -> np.ndarray:
    """Natural logarithm of :func:`doppler_factor` (a shift in ln λ).

    Parameters
    ----------
    v_rad : array_like, shape (*)
        Radial velocity [km/s].

    Returns
    -------
    numpy.ndarray, shape (*)
        ``ln D`` = ``0.5 · (log1p(v/c) − log1p(−v/c))``.
    """
    beta = np.asarray(v_rad, dtype=float) / SPEED_OF_LIGHT_KMS
    return 0.5 * (np.log1p(beta) - np.log1p(-beta))
