"""Night-sky emission and what its subtraction leaves: extra noise and residual spikes.

The line list is *statistical*: the strong atomic lines at their vacuum wavelengths
(O I 5578.9, Na D 5891.6/5897.6, O I 6302.0/6365.5 Å) plus OH Meinel-band lines drawn once,
with a fixed seed, inside the wavelength intervals where the OH bands lie (BOSS: from
~6,800 Å to the red end; APOGEE: the whole H band, where OH dominates the sky). Positions
within a band, and the strengths, are random but the same for every spectrum (sky lines
are fixed in the observed frame). Strengths are peak counts per pixel in units of the
star's median counts per pixel (a faint target), log-uniform within the limits below and
rising to the red, where OH is brighter.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from zeta_payne.validation.lines import render_lines

__all__ = ["sky_lines", "sky_residual", "sky_spectrum"]

#: Atomic night-sky lines in the BOSS range: (vacuum λ [Å], peak strength).
BOSS_ATOMIC = ((5578.9, 1.5), (5891.6, 0.4), (5897.6, 0.3), (6302.0, 0.8), (6365.5, 0.3))
#: Approximate intervals [Å, vacuum] of the OH bands in the BOSS red, lines per band.
BOSS_OH_BANDS = (
    (6830.0, 6980.0),
    (7240.0, 7420.0),
    (7750.0, 8080.0),
    (8280.0, 8480.0),
    (8760.0, 8960.0),
    (9280.0, 9480.0),
    (9700.0, 10060.0),
    (10100.0, 10400.0),
)
BOSS_OH_LINES_PER_BAND = 14
#: Log-uniform range of BOSS OH peak strengths at 6,800 Å (×1) rising linearly to ×4 at 10,000 Å.
BOSS_OH_STRENGTH = (0.05, 1.5)
#: APOGEE OH: number of Λ-doublets over 15,100–17,000 Å and their log-uniform strength range.
APOGEE_OH_DOUBLETS = 70
APOGEE_OH_STRENGTH = (0.2, 20.0)
#: Sky continuum per pixel in units of the star's median counts.
SKY_CONTINUUM = {"boss": 0.05, "apogee": 0.05}


@lru_cache(maxsize=4)
def sky_lines(instrument: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed sky-line list of ``instrument``.

    Returns
    -------
    centres : numpy.ndarray, shape (K,)
        Vacuum wavelengths [Å].
    strengths : numpy.ndarray, shape (K,)
        Peak counts per pixel relative to the star's median counts per pixel.
    """
    rng = np.random.default_rng(20_240_601)  # one list for ever
    if instrument == "boss":
        centres = [c for c, _ in BOSS_ATOMIC]
        strengths = [s for _, s in BOSS_ATOMIC]
        lo, hi = np.log(BOSS_OH_STRENGTH)
        for a, b in BOSS_OH_BANDS:
            c = np.sort(rng.uniform(a, b, BOSS_OH_LINES_PER_BAND))
            rise = 1.0 + 3.0 * np.clip((c - 6800.0) / 3200.0, 0.0, 1.0)
            centres += list(c)
            strengths += list(np.exp(rng.uniform(lo, hi, c.size)) * rise)
    elif instrument == "apogee":
        c = np.sort(rng.uniform(15100.0, 17000.0, APOGEE_OH_DOUBLETS))
        lo, hi = np.log(APOGEE_OH_STRENGTH)
        s = np.exp(rng.uniform(lo, hi, c.size))
        split = rng.uniform(0.5, 2.5, c.size)  # the two components of a Λ-doublet
        centres = list(c - 0.5 * split) + list(c + 0.5 * split)
        strengths = list(0.5 * s) + list(0.5 * s)
    else:
        raise ValueError(f"unknown instrument {instrument!r}")
    order = np.argsort(centres)
    return np.asarray(centres)[order], np.asarray(strengths)[order]


def sky_spectrum(
    instrument: str, wavelength: npt.ArrayLike, fwhm: npt.ArrayLike, brightness: float = 1.0
) -> np.ndarray:
    """Sky counts per pixel relative to the star's median counts per pixel.

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    wavelength : array_like, shape (N,)
        Pixel wavelengths [Å, vacuum, observed frame].
    fwhm : array_like, shape (N,)
        LSF FWHM per pixel [Å].
    brightness : float
        Scale of the whole sky (1: a faint target).

    Returns
    -------
    numpy.ndarray, shape (N,)
        Continuum plus lines, ≥ 0.
    """
    centres, strengths = sky_lines(instrument)
    lines = render_lines(wavelength, fwhm, centres, strengths)
    return brightness * (SKY_CONTINUUM[instrument] + lines)


def sky_residual(
    instrument: str,
    wavelength: npt.ArrayLike,
    fwhm: npt.ArrayLike,
    rng: np.random.Generator,
    scale_error: float = 0.03,
    shift_error: float = 0.02,
    brightness: float = 1.0,
) -> np.ndarray:
    """What sky subtraction leaves: each line scaled by (1 + ε) and shifted by δ, minus the line.

    ε ~ N(0, ``scale_error``) and δ ~ N(0, ``shift_error`` × FWHM) per line, independently for
    every spectrum (a mis-scaled sky model and a wavelength-solution error), giving the
    residual spikes and P-Cygni-shaped wiggles seen at bright sky lines.

    Returns
    -------
    numpy.ndarray, shape (N,)
        Residual counts relative to the star's median counts per pixel (signed).
    """
    lam = np.asarray(wavelength, dtype=float)
    width = np.asarray(fwhm, dtype=float)
    centres, strengths = sky_lines(instrument)
    eps = rng.normal(0.0, scale_error, centres.size)
    delta = rng.normal(0.0, shift_error, centres.size) * np.interp(centres, lam, width)
    model = render_lines(lam, width, centres, strengths * (1.0 + eps), shifts=delta)
    true = render_lines(lam, width, centres, strengths)
    return brightness * (model - true)
