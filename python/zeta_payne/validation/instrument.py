"""What the spectrograph does to the light: throughput, resolving power, detectors, pixel flags.

Numbers (see ``docs/validation/simulation.md`` for their sources and accuracy):

- **BOSS** (Smee et al. 2013, AJ 146, 32): two channels split by a dichroic near 6,000–6,300 Å.
  Total throughput (atmosphere, telescope, fibre, spectrograph, CCD) rises from ~6 % at
  3,600 Å to ~28 % near 5,000 and 7,500 Å, dips at the dichroic crossover and falls to ~3 %
  at 10,400 Å (CCD red cut-off): a factor ~10 across the range. Resolving power grows
  linearly with λ in each channel, 1,560 (3,700 Å) → 2,270 (6,000 Å) in the blue and
  1,850 (6,000 Å) → 2,650 (9,000 Å) in the red.
- **APOGEE** (Wilson et al. 2019, PASP 131, 055001): three detectors (blue, green, red) with
  gaps between them; R ≈ 22,500 varying by a few per cent along and between the chips; the
  grating blaze peaks mid-band and the chips differ in throughput.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "APOGEE_BITS",
    "APOGEE_CHIPS",
    "BOSS_BITS",
    "BOSS_R_RANGE",
    "detector_coverage",
    "resolving_power",
    "throughput",
]

#: Total BOSS throughput (λ [Å], fraction), piecewise linear in log throughput between nodes.
BOSS_THROUGHPUT: tuple[tuple[float, float], ...] = (
    (3500.0, 0.04),
    (3600.0, 0.06),
    (3800.0, 0.11),
    (4000.0, 0.17),
    (4500.0, 0.25),
    (5000.0, 0.28),
    (5500.0, 0.26),
    (5900.0, 0.20),
    (6150.0, 0.15),
    (6400.0, 0.22),
    (7000.0, 0.28),
    (7500.0, 0.28),
    (8000.0, 0.27),
    (8500.0, 0.24),
    (9000.0, 0.19),
    (9500.0, 0.13),
    (10000.0, 0.07),
    (10400.0, 0.03),
    (10500.0, 0.025),
)
#: BOSS resolving power: (λ₁, R₁, λ₂, R₂) of the linear law of each channel.
BOSS_R_BLUE = (3700.0, 1560.0, 6000.0, 2270.0)
BOSS_R_RED = (6000.0, 1850.0, 9000.0, 2650.0)
#: Centre and width [Å] of the blend between the channels in the combined spectrum.
BOSS_CROSSOVER = (6200.0, 60.0)
#: Range of BOSS resolving power (the linear laws clipped to it).
BOSS_R_RANGE = (1560.0, 2650.0)

#: APOGEE detectors: (first, last) vacuum wavelength [Å] of the blue, green and red chips.
APOGEE_CHIPS: tuple[tuple[float, float], ...] = ((15140.0, 15808.0), (15865.0, 16432.0), (16488.0, 16960.0))
#: Relative throughput of the three chips (quantum efficiency and optics), assumed.
APOGEE_CHIP_THROUGHPUT = (0.80, 1.00, 0.90)
#: Resolving power at the two ends of each chip, assumed (a few per cent along and between chips).
APOGEE_CHIP_R: tuple[tuple[float, float], ...] = ((22000.0, 23200.0), (22300.0, 23300.0), (21800.0, 22700.0))

#: Pixel-flag bits used by the simulator (bit numbers of BOSS ``or_mask`` / ``pixel_flags``).
BOSS_BITS = {"BADFLAT": 2, "FULLREJECT": 18, "BRIGHTSKY": 23, "NODATA": 24}
#: Bits of ``APOGEE_PIXMASK``.
APOGEE_BITS = {"BADPIX": 0, "CRPIX": 1, "SIG_SKYLINE": 12, "SIG_TELLURIC": 13}


def throughput(instrument: str, wavelength: npt.ArrayLike) -> np.ndarray:
    """Total system throughput (fraction of photons detected).

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    wavelength : array_like, shape (N,)
        Vacuum wavelengths [Å].

    Returns
    -------
    numpy.ndarray, shape (N,)
        Throughput in (0, 1); for APOGEE 0 off the detectors.
    """
    lam = np.asarray(wavelength, dtype=float)
    if instrument == "boss":
        nodes = np.array(BOSS_THROUGHPUT)
        return np.exp(np.interp(lam, nodes[:, 0], np.log(nodes[:, 1])))
    if instrument == "apogee":
        # grating blaze: a broad parabola peaking at 16,000 Å, 25 % lower at the band's ends
        blaze = 0.18 * (1.0 - 0.25 * ((lam - 16000.0) / 900.0) ** 2)
        out = np.zeros_like(lam)
        for (a, b), qe in zip(APOGEE_CHIPS, APOGEE_CHIP_THROUGHPUT, strict=True):
            on = (lam >= a) & (lam <= b)
            out[on] = qe * blaze[on]
        return np.clip(out, 0.0, None)
    raise ValueError(f"unknown instrument {instrument!r}")


def _linear(lam: np.ndarray, law: tuple[float, float, float, float]) -> np.ndarray:
    l1, r1, l2, r2 = law
    return r1 + (r2 - r1) * (lam - l1) / (l2 - l1)


def resolving_power(instrument: str, wavelength: npt.ArrayLike) -> np.ndarray:
    """Resolving power λ/FWHM of the line-spread function at each pixel.

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    wavelength : array_like, shape (N,)
        Vacuum wavelengths [Å].

    Returns
    -------
    numpy.ndarray, shape (N,)
        R(λ); for APOGEE off the detectors the nearest chip's end value.
    """
    lam = np.asarray(wavelength, dtype=float)
    if instrument == "boss":
        centre, width = BOSS_CROSSOVER
        red = 1.0 / (1.0 + np.exp(-(lam - centre) / (0.25 * width)))
        r = (1.0 - red) * _linear(lam, BOSS_R_BLUE) + red * _linear(lam, BOSS_R_RED)
        return np.clip(r, *BOSS_R_RANGE)
    if instrument == "apogee":
        r = np.empty_like(lam)
        edges = [0.5 * (APOGEE_CHIPS[k][1] + APOGEE_CHIPS[k + 1][0]) for k in range(2)]
        chip = np.searchsorted(edges, lam)
        for k, ((a, b), (ra, rb)) in enumerate(zip(APOGEE_CHIPS, APOGEE_CHIP_R, strict=True)):
            on = chip == k
            r[on] = ra + (rb - ra) * np.clip((lam[on] - a) / (b - a), 0.0, 1.0)
        return r
    raise ValueError(f"unknown instrument {instrument!r}")


def detector_coverage(instrument: str, wavelength: npt.ArrayLike) -> np.ndarray:
    """Pixels that fall on a detector, shape (N,) bool (APOGEE: outside the chips and gaps)."""
    lam = np.asarray(wavelength, dtype=float)
    if instrument == "boss":
        return np.ones(lam.size, bool)
    if instrument == "apogee":
        return np.logical_or.reduce([(lam >= a) & (lam <= b) for a, b in APOGEE_CHIPS])
    raise ValueError(f"unknown instrument {instrument!r}")
