"""Simulated observations for the paper's study (Section 4), independent of the fitter's code.

A true rest-frame spectrum from a generator is convolved with a constant-R Gaussian LSF
(in ln λ, the residual with respect to the generator's own resolution), Doppler-shifted,
sampled at the instrument's pixels with a cubic spline, multiplied by a random fifth-order
Chebyshev response and given Poisson noise at the requested S/N.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.ndimage import gaussian_filter1d

from zeta_payne.fitting.spectrum import Spectrum
from zeta_payne.model.doppler import log_doppler_factor
from zeta_payne.model.lsf import FWHM_TO_SIGMA
from zeta_payne.model.response import random_response

__all__ = ["INSTRUMENTS", "instrument_pixels", "observe"]

#: Wavelength grids (vacuum, log-linear) and resolving power of the two instruments.
INSTRUMENTS: dict[str, dict] = {
    "boss": {"log10_start": 3.5523, "log10_step": 1e-4, "n": 4648, "resolution": 2000.0, "gaps": ()},
    "apogee": {
        "log10_start": 4.179,
        "log10_step": 6e-6,
        "n": 8575,
        "resolution": 22500.0,
        # the two detector gaps of the APOGEE spectrographs (vacuum Å)
        "gaps": ((15808.0, 15865.0), (16432.0, 16488.0)),
    },
}


def instrument_pixels(instrument: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel wavelengths [Å] and a bool mask of usable pixels (False in detector gaps)."""
    spec = INSTRUMENTS[instrument]
    lam = 10 ** (spec["log10_start"] + spec["log10_step"] * np.arange(spec["n"]))
    ok = np.ones(lam.size, bool)
    for a, b in spec["gaps"]:
        ok &= ~((lam > a) & (lam < b))
    return lam, ok


def observe(
    wavelength_model: np.ndarray,
    flux_model: np.ndarray,
    model_resolution: float | None,
    instrument: str,
    v_rad: float,
    snr: float | None,
    rng: np.random.Generator,
    response_order: int = 5,
    level: float = 1000.0,
) -> tuple[Spectrum, np.ndarray]:
    """Turn one rest-frame model spectrum into a simulated observation.

    Parameters
    ----------
    wavelength_model : numpy.ndarray, shape (P,)
        Rest-frame vacuum wavelengths [Å], uniform in ln λ.
    flux_model : numpy.ndarray, shape (P,)
        Normalised flux.
    model_resolution : float or None
        Resolution of the model spectrum (the LSF applied is the residual).
    instrument : str
        "boss" or "apogee".
    v_rad : float
        Radial velocity [km/s].
    snr : float or None
        Median S/N per pixel (``None`` or inf: noiseless).
    rng : numpy.random.Generator
        Random generator (response and noise).
    response_order : int
        Order of the random Chebyshev response.
    level : float
        Mean counts scale of the spectrum.

    Returns
    -------
    spectrum : Spectrum
        The observation (pixels the model does not reach have ivar 0).
    response : numpy.ndarray, shape (N,)
        The response that was applied.
    """
    spec = INSTRUMENTS[instrument]
    lam, usable = instrument_pixels(instrument)
    loglam_m = np.log(np.asarray(wavelength_model, dtype=float))
    delta = (loglam_m[-1] - loglam_m[0]) / (loglam_m.size - 1)
    sig_inst = FWHM_TO_SIGMA / spec["resolution"]
    sig_model = 0.0 if not model_resolution else FWHM_TO_SIGMA / model_resolution
    sig = np.sqrt(max(sig_inst**2 - sig_model**2, 0.0)) / delta
    smooth = gaussian_filter1d(np.asarray(flux_model, dtype=float), sig, mode="nearest", truncate=6.0)
    spline = make_interp_spline(loglam_m, smooth, k=3)
    rest = np.log(lam) - float(log_doppler_factor(v_rad))
    inside = (rest > loglam_m[0] + 6 * sig * delta) & (rest < loglam_m[-1] - 6 * sig * delta)
    norm = np.ones(lam.size)
    norm[inside] = spline(rest[inside])
    response = random_response(lam, response_order, rng)
    expected = level * norm * response
    if snr is None or not np.isfinite(snr):
        flux = expected
        ivar = np.full(lam.size, 1e6 / level**2)
    else:
        # Poisson counts with a gain that gives the requested median S/N
        gain = snr**2 / np.median(expected[inside & usable])
        counts = rng.poisson(np.clip(expected * gain, 0, None)).astype(float)
        flux = counts / gain
        ivar = gain / np.clip(expected, 1e-6, None)
    ivar = np.where(inside & usable, ivar, 0.0)
    return Spectrum(lam, flux, ivar), response
