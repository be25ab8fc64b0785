"""Telluric absorption and what its correction leaves.

Bands (vacuum Å; optical depth at the zenith at the instrument's resolution, approximate):

- BOSS: O₂ B band 6,868–6,935 (peak τ 0.35), H₂O 7,160–7,340 (0.15), O₂ A band 7,595–7,700
  (1.0, the strongest), H₂O 8,130–8,350 (0.15), H₂O 8,950–9,800 (0.6).
- APOGEE: H₂O 15,100–15,300 and 16,800–17,000 (0.3), CO₂ 15,680–15,800 and 15,970–16,100
  (0.08), CH₄ 16,300–17,000 (0.15); lines drawn once with a fixed seed inside each band
  (positions statistical, as in :mod:`zeta_payne.validation.sky`).

The star is attenuated by exp(−X τ) at airmass X; the pipeline divides by its own estimate
exp(−X τ (1 + ε)), ε ~ N(0, ``error``) per band and spectrum, leaving a residual
exp(−X τ ε) — a fraction of each band's depth, as telluric-standard corrections do.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from zeta_payne.validation.lines import render_lines

__all__ = ["TELLURIC_BANDS", "telluric_depth", "telluric_lines"]

#: (first λ, last λ [Å], peak τ of a line, lines in the band) per instrument.
TELLURIC_BANDS: dict[str, tuple[tuple[float, float, float, int], ...]] = {
    "boss": (
        (6868.0, 6935.0, 0.35, 20),
        (7160.0, 7340.0, 0.15, 30),
        (7595.0, 7700.0, 1.0, 30),
        (8130.0, 8350.0, 0.15, 30),
        (8950.0, 9800.0, 0.6, 120),
    ),
    "apogee": (
        (15100.0, 15300.0, 0.3, 25),
        (15680.0, 15800.0, 0.08, 30),
        (15970.0, 16100.0, 0.08, 30),
        (16300.0, 17000.0, 0.15, 90),
        (16800.0, 17000.0, 0.3, 25),
    ),
}


@lru_cache(maxsize=4)
def telluric_lines(instrument: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed telluric line list of ``instrument``.

    Returns
    -------
    centres : numpy.ndarray, shape (K,)
        Vacuum wavelengths [Å].
    tau : numpy.ndarray, shape (K,)
        Peak optical depth at the zenith, at the instrument's resolution.
    band : numpy.ndarray of int, shape (K,)
        Index of the line's band in :data:`TELLURIC_BANDS`.
    """
    rng = np.random.default_rng(20_240_602)
    centres, tau, band = [], [], []
    for k, (a, b, peak, n) in enumerate(TELLURIC_BANDS[instrument]):
        c = np.sort(rng.uniform(a, b, n))
        # stronger towards the band head (its blue end), random line to line
        envelope = 0.4 + 0.6 * np.exp(-(c - a) / (0.5 * (b - a)))
        centres += list(c)
        tau += list(peak * envelope * rng.uniform(0.3, 1.0, n))
        band += [k] * n
    return np.asarray(centres), np.asarray(tau), np.asarray(band)


def telluric_depth(
    instrument: str, wavelength: npt.ArrayLike, fwhm: npt.ArrayLike, band_scale: npt.ArrayLike | None = None
) -> np.ndarray:
    """Zenith optical depth τ(λ) of the telluric lines, seen through the LSF.

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    wavelength : array_like, shape (N,)
        Pixel wavelengths [Å, vacuum, observed frame].
    fwhm : array_like, shape (N,)
        LSF FWHM per pixel [Å].
    band_scale : array_like, shape (B,), optional
        Factor per band (the correction's error: 1 + ε).

    Returns
    -------
    numpy.ndarray, shape (N,)
        τ ≥ 0; the transmission at airmass X is exp(−X τ).
    """
    centres, tau, band = telluric_lines(instrument)
    if band_scale is not None:
        tau = tau * np.asarray(band_scale, dtype=float)[band]
    return render_lines(wavelength, fwhm, centres, tau)
