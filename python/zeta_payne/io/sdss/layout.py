"""Pixel grids, HDU layout and pixel-flag conventions of the SDSS spectrum products.

Wavelengths are vacuum. The common rest-frame grids of the Milky Way Mapper products are
log-linear: ``λ_i = 10**(crval + cdelt · i)`` [Å].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "APOGEE_BAD_PIXEL_BITS",
    "APOGEE_GRID",
    "APOGEE_SKY_PIXEL_BITS",
    "BOSS_BAD_PIXEL_BITS",
    "BOSS_GRID",
    "BOSS_SKY_PIXEL_BITS",
    "INSTRUMENTS",
    "LogLinearGrid",
    "MWM_EXTNAMES",
    "grid_for",
    "mwm_hdu",
    "observatory_of",
]

#: The two spectrographs.
INSTRUMENTS: tuple[str, ...] = ("boss", "apogee")


@dataclass(frozen=True)
class LogLinearGrid:
    """A wavelength grid uniform in log10 λ.

    Attributes
    ----------
    crval : float
        log10 λ [Å] of the first pixel.
    cdelt : float
        Step in log10 λ.
    n_pixels : int
        Number of pixels N.
    """

    crval: float
    cdelt: float
    n_pixels: int

    @property
    def wavelength(self) -> np.ndarray:
        """Vacuum wavelengths [Å], shape (N,)."""
        with np.errstate(over="ignore"):  # absurd headers give inf, which readers reject
            return 10.0 ** (self.crval + self.cdelt * np.arange(self.n_pixels))


#: BOSS rest-frame grid of mwmStar/mwmVisit (~3568–10400 Å).
BOSS_GRID = LogLinearGrid(3.5523, 1e-4, 4648)
#: APOGEE apStar / mwm grid (~15100–17000 Å).
APOGEE_GRID = LogLinearGrid(4.179, 6e-6, 8575)

#: mwmStar/mwmVisit extension numbers by (instrument, observatory).
_MWM_HDU: dict[tuple[str, str], int] = {
    ("boss", "apo"): 1,
    ("boss", "lco"): 2,
    ("apogee", "apo"): 3,
    ("apogee", "lco"): 4,
}
#: EXTNAME of each mwm extension.
MWM_EXTNAMES: dict[int, str] = {1: "BOSS/APO", 2: "BOSS/LCO", 3: "APOGEE/APO", 4: "APOGEE/LCO"}

#: BOSS ``or_mask``/``pixel_flags`` bits that make a pixel unusable: NOPLUG, BADTRACE,
#: BADFLAT, BADARC (bits 0–3), FULLREJECT (18), NODATA (24).
BOSS_BAD_PIXEL_BITS: int = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 18) | (1 << 24)
#: BOSS bits of pixels the pipeline keeps (ivar > 0) but the fit leaves out: BRIGHTSKY (23),
#: where the sky outshines the star and the sky subtraction's residual (a few per cent of the
#: sky line, shifted by a fraction of a pixel) is a P-Cygni-shaped feature larger than the
#: star's noise. Measured on realistic simulations (``docs/fitting.md``, "Masked pixels").
BOSS_SKY_PIXEL_BITS: int = 1 << 23
#: APOGEE ``APOGEE_PIXMASK`` bits that make a pixel unusable: BADPIX, CRPIX, SATPIX,
#: UNFIXABLE, BADDARK, BADFLAT, BADERR, NOSKY (bits 0–7), PERSIST_HIGH (9).
APOGEE_BAD_PIXEL_BITS: int = 0xFF | (1 << 9)
#: APOGEE bits of pixels the pipeline keeps but the fit leaves out: SIG_SKYLINE (12), where
#: an airglow line outshines the star and its subtraction residual biases RV, v sin i and
#: [M/H] (measured on realistic simulations: ``docs/fitting.md``, "Masked pixels"). ASTRA's
#: ASPCAP does the same in effect: it multiplies these pixels' errors by 100.
APOGEE_SKY_PIXEL_BITS: int = 1 << 12


def grid_for(instrument: str) -> LogLinearGrid:
    """The common rest-frame grid of ``instrument`` ("boss" or "apogee")."""
    return {"boss": BOSS_GRID, "apogee": APOGEE_GRID}[instrument.lower()]


def observatory_of(telescope: str) -> str:
    """``"apo"`` or ``"lco"`` from a telescope name (``apo25m``, ``apo1m``, ``lco25m``)."""
    obs = str(telescope).strip().lower()[:3]
    if obs not in ("apo", "lco"):
        raise ValueError(f"unknown telescope {telescope!r}")
    return obs


def mwm_hdu(instrument: str, telescope: str) -> int:
    """Extension of an mwmStar/mwmVisit file holding ``instrument`` spectra from ``telescope``."""
    return _MWM_HDU[(instrument.lower(), observatory_of(telescope))]
