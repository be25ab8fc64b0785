"""The star's spectral energy distribution: the slope of its continuum (a blackbody)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["planck_flambda"]

#: hc/k [Å K].
HC_OVER_K = 1.438776877e8


def planck_flambda(wavelength: npt.ArrayLike, teff: float) -> np.ndarray:
    """Shape of a blackbody's F_λ at temperature ``teff``, normalised to its maximum over ``wavelength``.

    The continuum of an A/B star differs from a blackbody by its Balmer and Paschen jumps
    and the H⁻/free–free slope; only the overall slope matters to the simulated response,
    which the fitter's Chebyshev series absorbs.

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Wavelengths [Å].
    teff : float
        Temperature [K].

    Returns
    -------
    numpy.ndarray, shape (N,)
        λ⁻⁵ / (exp(hc/λkT) − 1), divided by its maximum (dimensionless, ≤ 1).
    """
    lam = np.asarray(wavelength, dtype=float)
    f = lam**-5.0 / np.expm1(HC_OVER_K / (lam * float(teff)))
    return f / f.max()
