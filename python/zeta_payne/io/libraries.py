"""What every reader of an empirical stellar library needs: noise model and LSF degradation.

Libraries of observed stellar spectra (MILES, STELIB, ...) ship flux-calibrated spectra
without per-pixel errors, on air wavelengths and at their own resolution. Their readers use:

* :func:`der_snr` — the DER_SNR estimate of a spectrum's S/N from its pixel-to-pixel scatter
  (Stoehr et al. 2008, ADASS XVII, ASP Conf. Ser. 394, 505), the stated noise model when a
  library has no errors;
* :func:`ivar_from_snr` — an inverse variance for a constant S/N per pixel;
* :func:`degrade_resolution` — a per-pixel Gaussian convolution that brings a spectrum from
  its own LSF FWHM to a broader one (e.g. R ≈ 2000, BOSS-like), leaving pixels alone where
  the target is not broader.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["FWHM_PER_SIGMA", "degrade_resolution", "der_snr", "ivar_from_snr", "target_fwhm"]

#: FWHM of a Gaussian in units of its σ, 2 √(2 ln 2).
FWHM_PER_SIGMA: float = 2.0 * np.sqrt(2.0 * np.log(2.0))


def der_snr(flux: npt.ArrayLike) -> float:
    """Median S/N per pixel from the pixel-to-pixel scatter (DER_SNR, Stoehr et al. 2008).

    ``N = 1.482602 / √6 · median |2 f_i − f_{i−2} − f_{i+2}|`` and ``S = median f``; pixels
    that are not finite or not positive are left out.

    Parameters
    ----------
    flux : array_like, shape (N,)
        Flux of one spectrum.

    Returns
    -------
    float
        S/N per pixel (``nan`` with fewer than 5 usable pixels, ``inf`` for a noiseless
        spectrum).
    """
    f = np.asarray(flux, dtype=float)
    f = f[np.isfinite(f) & (f > 0)]
    if f.size < 5:
        return float("nan")
    signal = float(np.median(f))
    noise = 1.482602 / np.sqrt(6.0) * float(np.median(np.abs(2.0 * f[2:-2] - f[:-4] - f[4:])))
    return float("inf") if noise == 0 else signal / noise


def ivar_from_snr(flux: npt.ArrayLike, snr: float) -> np.ndarray:
    """Inverse variance of a constant S/N per pixel: σ_i = |f_i| / snr (0 where f_i ≤ 0).

    Parameters
    ----------
    flux : array_like, shape (N,)
    snr : float
        S/N per pixel.

    Returns
    -------
    numpy.ndarray, shape (N,)
    """
    f = np.asarray(flux, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ivar = (snr / f) ** 2
    ivar[~np.isfinite(ivar) | ~(f > 0)] = 0.0
    return ivar


def target_fwhm(wavelength: npt.ArrayLike, native_fwhm: npt.ArrayLike, resolution: float) -> np.ndarray:
    """The LSF FWHM after :func:`degrade_resolution`: max(native, λ / R) [Å], shape (N,)."""
    lam = np.asarray(wavelength, dtype=float)
    return np.maximum(
        np.broadcast_to(np.asarray(native_fwhm, dtype=float), lam.shape), lam / float(resolution)
    )


def degrade_resolution(
    wavelength: npt.ArrayLike,
    flux: npt.ArrayLike,
    native_fwhm: npt.ArrayLike,
    resolution: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Convolve a spectrum to the LSF FWHM ``max(native, λ/R)`` at every pixel.

    The kernel at pixel i is a Gaussian of σ_i = √(FWHM_target² − FWHM_native²) / 2.3548 [Å],
    evaluated on the neighbouring pixels out to ±5 σ_i and normalised to unit sum over the
    pixels that exist (a gather convolution: it conserves a flat spectrum exactly, and the
    kernel width follows the pixel). Pixels whose target equals the native FWHM are copied.

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Wavelengths [Å], increasing.
    flux : array_like, shape (N,)
    native_fwhm : float or array_like, shape (N,)
        The spectrum's own LSF FWHM [Å].
    resolution : float
        Target resolving power R.

    Returns
    -------
    flux : numpy.ndarray, shape (N,)
        The degraded flux.
    fwhm : numpy.ndarray, shape (N,)
        Its LSF FWHM [Å] (:func:`target_fwhm`).
    """
    lam = np.asarray(wavelength, dtype=float)
    f = np.asarray(flux, dtype=float)
    native = np.broadcast_to(np.asarray(native_fwhm, dtype=float), lam.shape)
    fwhm = target_fwhm(lam, native, resolution)
    sigma = np.sqrt(np.clip(fwhm**2 - native**2, 0.0, None)) / FWHM_PER_SIGMA
    out = f.copy()
    step = np.median(np.diff(lam))
    half = int(np.ceil(5.0 * sigma.max() / step)) + 1
    if not np.any(sigma > 0):
        return out, fwhm
    n = lam.size
    offsets = np.arange(-half, half + 1)
    todo = np.flatnonzero(sigma > 0)
    for start in range(0, todo.size, 4096):
        rows = todo[start : start + 4096]
        idx = rows[:, None] + offsets[None, :]
        valid = (idx >= 0) & (idx < n)
        idx_c = np.clip(idx, 0, n - 1)
        d = (lam[idx_c] - lam[rows, None]) / sigma[rows, None]
        w = np.where(valid & (np.abs(d) <= 5.0), np.exp(-0.5 * d**2), 0.0)
        vals = np.where(np.isfinite(f[idx_c]), f[idx_c], 0.0)
        w = np.where(np.isfinite(f[idx_c]), w, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = (w * vals).sum(axis=1) / w.sum(axis=1)
    return out, fwhm
