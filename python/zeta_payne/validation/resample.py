"""A high-resolution model spectrum seen through a per-pixel Gaussian LSF at Doppler-shifted pixels.

The stored spectrum already carries a Gaussian of FWHM λ/R_model; each observed pixel i gets
the differential Gaussian that brings it to the instrument's FWHM there,
FWHM_res² = FWHM_inst,i² − FWHM_model², evaluated directly in ln λ (a velocity width, the
same in the rest and the observed frame) around the pixel's rest-frame wavelength.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["convolve_to_pixels"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def convolve_to_pixels(
    model_wavelength: npt.ArrayLike,
    model_flux: npt.ArrayLike,
    model_resolution: float | None,
    rest_wavelength: npt.ArrayLike,
    resolving_power: npt.ArrayLike,
    reach: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample a model spectrum, broadened to a per-pixel LSF, at rest-frame pixel wavelengths.

    Parameters
    ----------
    model_wavelength : array_like, shape (P,)
        Model wavelengths [Å], uniform in ln λ.
    model_flux : array_like, shape (P,)
        Normalised model flux (already broadened to R_model).
    model_resolution : float or None
        R_model (``None``: an unresolved model).
    rest_wavelength : array_like, shape (N,)
        Rest-frame wavelengths of the observed pixels [Å] (observed λ / Doppler factor).
    resolving_power : array_like, shape (N,)
        The instrument's λ/FWHM at each pixel (FWHM / λ is a velocity width, the same in
        the rest and the observed frame).
    reach : float
        The kernel is cut at ``reach`` σ.

    Returns
    -------
    flux : numpy.ndarray, shape (N,)
        The broadened model at each pixel (1 where not covered).
    covered : numpy.ndarray of bool, shape (N,)
        Pixels whose kernel lies wholly inside the model's range.

    Raises
    ------
    ValueError
        Where the instrument's LSF is narrower than the model's.
    """
    loglam = np.log(np.asarray(model_wavelength, dtype=float))
    flux = np.asarray(model_flux, dtype=float)
    step = (loglam[-1] - loglam[0]) / (loglam.size - 1)
    rest = np.log(np.asarray(rest_wavelength, dtype=float))
    sig_inst = _FWHM_TO_SIGMA / np.asarray(resolving_power, dtype=float)
    sig_model = 0.0 if not model_resolution else _FWHM_TO_SIGMA / float(model_resolution)
    var = sig_inst**2 - sig_model**2
    if np.any(var <= 0):
        raise ValueError("the instrument's LSF is narrower than the model's resolution")
    sig = np.sqrt(var) / step  # model pixels
    centre = (rest - loglam[0]) / step  # fractional model pixel
    half = int(np.ceil(reach * sig.max()))
    covered = (centre - reach * sig >= 0) & (centre + reach * sig <= loglam.size - 1)
    out = np.ones(rest.size)
    idx = np.flatnonzero(covered)
    for start in range(0, idx.size, 2048):  # blocks keep the (n, 2H+1) arrays small
        rows = idx[start : start + 2048]
        base = np.floor(centre[rows]).astype(np.int64)
        cols = base[:, None] + np.arange(-half, half + 2)[None, :]
        inside = (cols >= 0) & (cols < loglam.size)
        x = (cols - centre[rows, None]) / sig[rows, None]
        w = np.where(inside & (np.abs(x) <= reach), np.exp(-0.5 * x * x), 0.0)
        out[rows] = (w * flux[np.clip(cols, 0, loglam.size - 1)]).sum(1) / w.sum(1)
    return out, covered
