"""Rotational broadening on a log-λ grid (Gray's profile with linear limb darkening).

The profile for projected equatorial velocity v_L = v sin i and limb-darkening coefficient ε,
in x = v / v_L (|x| ≤ 1), is

    G(x) = [2 (1 − ε) √(1 − x²) + (π ε / 2)(1 − x²)] / [π (1 − ε/3)],

normalised to unit area. On a grid uniform in ln λ a Doppler shift v is a translation by
v/c, so one kernel serves the whole spectrum. :func:`rotate` multiplies in Fourier space by
the analytic transform of G; :func:`rotation_kernel` gives the equivalent pixel-space kernel
(G integrated against the linear-interpolation basis) for inspection and tests.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SPEED_OF_LIGHT_KMS", "rotation_kernel", "rotation_transfer", "rotate"]

SPEED_OF_LIGHT_KMS = 299792.458


def _p0(x: np.ndarray, eps: float) -> np.ndarray:
    """∫_{-1}^{x} G(x') dx' (x clipped to [−1, 1])."""
    x = np.clip(x, -1.0, 1.0)
    s = np.sqrt(1.0 - x * x)
    a = 0.5 * (x * s + np.arcsin(x)) + 0.25 * np.pi
    b = x - x**3 / 3.0 + 2.0 / 3.0
    return (2.0 * (1.0 - eps) * a + 0.5 * np.pi * eps * b) / (np.pi * (1.0 - eps / 3.0))


def _p1(x: np.ndarray, eps: float) -> np.ndarray:
    """∫_{-1}^{x} x' G(x') dx' (x clipped to [−1, 1])."""
    x = np.clip(x, -1.0, 1.0)
    a = -((1.0 - x * x) ** 1.5) / 3.0
    b = 0.5 * x * x - 0.25 * x**4 - 0.25
    return (2.0 * (1.0 - eps) * a + 0.5 * np.pi * eps * b) / (np.pi * (1.0 - eps / 3.0))


def rotation_kernel(v_sini: float, dlnlambda: float, epsilon: float = 0.6) -> np.ndarray:
    """Discrete rotation kernel on a uniform ln λ grid.

    Parameters
    ----------
    v_sini : float
        Projected rotational velocity [km/s], ≥ 0.
    dlnlambda : float
        Grid step in ln λ.
    epsilon : float
        Linear limb-darkening coefficient.

    Returns
    -------
    numpy.ndarray, shape (2H + 1,)
        Kernel weights (sum 1), centred; H = ceil(v sin i / (c Δ ln λ)) + 1.
    """
    s = float(v_sini) / SPEED_OF_LIGHT_KMS / float(dlnlambda)  # half-width in pixels
    if s <= 0.0:
        return np.ones(1)
    half = int(np.ceil(s)) + 1
    k = np.arange(-half, half + 1, dtype=float)
    # Rising half of the hat on [k−1, k]: weight (u − (k − 1)); falling on [k, k+1]: (k+1 − u).
    xa, xb, xc = (k - 1.0) / s, k / s, (k + 1.0) / s
    rise = -(k - 1.0) * (_p0(xb, epsilon) - _p0(xa, epsilon)) + s * (
        _p1(xb, epsilon) - _p1(xa, epsilon))
    fall = (k + 1.0) * (_p0(xc, epsilon) - _p0(xb, epsilon)) - s * (
        _p1(xc, epsilon) - _p1(xb, epsilon))
    w = np.clip(rise + fall, 0.0, None)
    return w / w.sum()


def rotation_transfer(k: np.ndarray, epsilon: float = 0.6) -> np.ndarray:
    """Fourier transform of the unit-area rotation profile, ĝ(k) = ∫ G(x) e^{-ikx} dx.

    ĝ(k) = [2(1 − ε) π J1(k)/k + 2 π ε j1(k)/k] / [π (1 − ε/3)], with J1 the Bessel and j1
    the spherical Bessel function of order one; ĝ(0) = 1.
    """
    from scipy.special import j1, spherical_jn

    k = np.abs(np.asarray(k, dtype=float))
    small = k < 1e-3
    kk = np.where(small, 1.0, k)
    bessel = np.where(small, 0.5 - k * k / 16.0, j1(kk) / kk)
    sph = np.where(small, 1.0 / 3.0 - k * k / 30.0, spherical_jn(1, kk) / kk)
    return (2.0 * (1.0 - epsilon) * np.pi * bessel + 2.0 * np.pi * epsilon * sph) / (
        np.pi * (1.0 - epsilon / 3.0))


def rotate(
    wavelength: np.ndarray,
    flux: np.ndarray,
    v_sini: np.ndarray | float,
    epsilon: float = 0.6,
) -> np.ndarray:
    """Apply rotational broadening to continuum-normalised spectra on a log-λ grid.

    The convolution is done in Fourier space with the analytic transform of the profile
    (:func:`rotation_transfer`), treating the sampled spectrum as band-limited — accurate for
    spectra already smoothed to R_model (≥ 3 pixels per FWHM) and smooth in v sin i down to
    0, also when v sin i is below one pixel. The zero-frequency gain is exactly 1, so
    equivalent widths are conserved.

    Parameters
    ----------
    wavelength : numpy.ndarray, shape (npix,)
        Wavelengths [Å], uniform in ln λ (any medium).
    flux : numpy.ndarray, shape (M, npix) or (npix,)
        Continuum-normalised flux.
    v_sini : numpy.ndarray, shape (M,), or float
        Projected rotational velocity per spectrum [km/s]; 0 returns the input row unchanged.
    epsilon : float
        Linear limb-darkening coefficient (default 0.6).

    Returns
    -------
    numpy.ndarray, same shape as ``flux`` (float32 or float64, following the input)
        Broadened spectra. Beyond the array ends the continuum (1) is assumed.
    """
    wavelength = np.asarray(wavelength, dtype=float)
    flux_in = np.asarray(flux)
    single = flux_in.ndim == 1
    f = np.atleast_2d(flux_in)
    m, npix = f.shape
    v = np.broadcast_to(np.asarray(v_sini, dtype=float), (m,))
    if np.any(v < 0):
        raise ValueError("v_sini must be >= 0")
    lnw = np.log(wavelength)
    step = (lnw[-1] - lnw[0]) / (npix - 1)
    if np.max(np.abs(np.diff(lnw) - step)) > 1e-3 * step:
        raise ValueError("wavelength must be uniform in ln(lambda)")
    out = f.astype(np.result_type(f.dtype, np.float32), copy=True)
    todo = np.flatnonzero(v > 0)
    if todo.size == 0:
        return out[0] if single else out
    half = int(np.ceil(np.max(v) / SPEED_OF_LIGHT_KMS / step)) + 2
    nfft = int(2 ** np.ceil(np.log2(npix + 2 * half)))
    freq = np.fft.rfftfreq(nfft)  # cycles per pixel
    s = v[todo] / SPEED_OF_LIGHT_KMS / step  # half-width [pixels]
    transfer = rotation_transfer(2.0 * np.pi * freq[None, :] * s[:, None], epsilon)
    depth = np.zeros((todo.size, nfft))
    depth[:, :npix] = 1.0 - f[todo].astype(np.float64)  # zero outside = continuum
    conv = np.fft.irfft(np.fft.rfft(depth, axis=1) * transfer, n=nfft, axis=1)
    out[todo] = (1.0 - conv[:, :npix]).astype(out.dtype)
    return out[0] if single else out
