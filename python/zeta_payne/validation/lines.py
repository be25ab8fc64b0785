"""Gaussian lines of a given per-pixel width: the common shape of sky emission and telluric absorption."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["render_lines"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def render_lines(
    wavelength: npt.ArrayLike,
    fwhm: npt.ArrayLike,
    centres: npt.ArrayLike,
    amplitudes: npt.ArrayLike,
    shifts: npt.ArrayLike | None = None,
    reach: float = 5.0,
) -> np.ndarray:
    """Sum of Gaussian lines sampled at the pixels, each as wide as the LSF at its centre.

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Pixel wavelengths [Å], increasing.
    fwhm : array_like, shape (N,)
        LSF FWHM at every pixel [Å].
    centres : array_like, shape (K,)
        Line centres [Å].
    amplitudes : array_like, shape (K,)
        Peak values.
    shifts : array_like, shape (K,), optional
        Offsets added to the centres [Å].
    reach : float
        Lines are drawn out to ``reach`` σ.

    Returns
    -------
    numpy.ndarray, shape (N,)
    """
    lam = np.asarray(wavelength, dtype=float)
    width = np.asarray(fwhm, dtype=float)
    c = np.asarray(centres, dtype=float) + (0.0 if shifts is None else np.asarray(shifts, dtype=float))
    amp = np.asarray(amplitudes, dtype=float)
    out = np.zeros_like(lam)
    if c.size == 0:
        return out
    sigma = np.interp(c, lam, width) * _FWHM_TO_SIGMA
    lo = np.searchsorted(lam, c - reach * sigma)
    hi = np.searchsorted(lam, c + reach * sigma)
    for k in np.flatnonzero(hi > lo):
        sl = slice(lo[k], hi[k])
        out[sl] += amp[k] * np.exp(-0.5 * ((lam[sl] - c[k]) / sigma[k]) ** 2)
    return out
