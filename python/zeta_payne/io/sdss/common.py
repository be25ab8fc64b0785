"""What the SDSS readers share: the record of a spectrum inside a file, and pixels → Spectrum."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io.fits.verify import VerifyError

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.sdss.layout import (
    APOGEE_BAD_PIXEL_BITS,
    APOGEE_SKY_PIXEL_BITS,
    BOSS_BAD_PIXEL_BITS,
    BOSS_SKY_PIXEL_BITS,
)
from zeta_payne.spectrum import Spectrum

__all__ = ["PixelData", "SpectrumRecord", "bad_pixel_bits", "header_keywords", "to_spectrum"]

#: Pixel arrays of one spectrum: ``wavelength`` [Å, vacuum, increasing], ``flux``, ``ivar``,
#: ``pixel_flags`` (int), optionally ``wresl`` (LSF FWHM [Å]); all shape (N,).
PixelData = dict[str, np.ndarray]


@dataclass(frozen=True)
class SpectrumRecord:
    """One spectrum inside an SDSS file, described from headers and metadata only.

    Attributes
    ----------
    path : str
        The file.
    kind : str
        The ASTRA spectrum model it corresponds to (``BossCombinedSpectrum``, ...).
    instrument : str
        ``"boss"`` or ``"apogee"``.
    hdu : int
        Extension holding its pixels.
    row : int
        Row of that extension (visit index, apStar row).
    keywords : dict
        Identifiers and metadata in ASTRA's column vocabulary (``sdss_id``, ``telescope``,
        ``release``, ``filetype``, ``mjd``, ``snr``, ...).
    """

    path: str
    kind: str
    instrument: str
    hdu: int
    row: int = 0
    keywords: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A short human-readable identifier."""
        base = os.path.basename(self.path)
        tel = self.keywords.get("telescope", "")
        return f"{base}[{self.hdu}:{self.row}]" + (f" {tel}" if tel else "")


def bad_pixel_bits(instrument: str) -> int:
    """Default pixel-flag bits that exclude a pixel from the fit for ``instrument``: the
    unusable pixels and the sky-dominated ones (``BOSS_SKY_PIXEL_BITS``,
    ``APOGEE_SKY_PIXEL_BITS``)."""
    return {
        "boss": BOSS_BAD_PIXEL_BITS | BOSS_SKY_PIXEL_BITS,
        "apogee": APOGEE_BAD_PIXEL_BITS | APOGEE_SKY_PIXEL_BITS,
    }[instrument]


def to_spectrum(
    pixels: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    bad_bits: int | None = None,
    frame: str | None = None,
) -> Spectrum:
    """Build the fitter's :class:`Spectrum` from pixel arrays.

    Parameters
    ----------
    pixels : mapping
        ``wavelength``, ``flux``, ``ivar``, optional ``pixel_flags`` and ``wresl`` (see
        :data:`PixelData`).
    meta : mapping
        Stored as the spectrum's ``meta`` (must hold ``instrument``).
    bad_bits : int, optional
        Pixel-flag bits that exclude a pixel (default: the instrument's).
    frame : {"rest", "observed"} or None
        Reference frame of the wavelengths (:data:`zeta_payne.spectrum.FRAMES`).

    Raises
    ------
    SpectrumError
        Missing arrays or inconsistent shapes.
    """
    missing = {"wavelength", "flux", "ivar"} - set(pixels)
    if missing:
        raise SpectrumError(f"missing pixel arrays {sorted(missing)}")
    for name in ("wavelength", "flux", "ivar", "wresl"):
        values = pixels.get(name)
        if values is None and name != "wresl":
            raise SpectrumError(f"pixel array {name!r} is missing")
        kind = np.asarray(values).dtype.kind if values is not None else "f"
        if kind not in "fiub":
            raise SpectrumError(
                f"pixel array {name!r} has dtype {np.asarray(values).dtype}: real numbers needed"
            )
    instrument = str(meta.get("instrument", "boss"))
    bits = bad_pixel_bits(instrument) if bad_bits is None else int(bad_bits)
    mask = None
    flags = pixels.get("pixel_flags")
    if flags is not None and bits:
        flags = np.asarray(flags).ravel()
        mask = (flags.astype(np.int64) & bits) != 0
    wresl = pixels.get("wresl")
    if wresl is not None:
        wresl = np.asarray(wresl, dtype=float).ravel()
        if not np.any(np.isfinite(wresl) & (wresl > 0)):
            wresl = None  # an all-zero column means "not measured"
    return Spectrum(
        pixels["wavelength"],
        np.asarray(pixels["flux"], dtype=float),
        np.asarray(pixels["ivar"], dtype=float),
        lsf_fwhm=wresl,
        pixel_mask=mask,
        meta=dict(meta),
        frame=frame,
    )


def header_keywords(header: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Pick header cards into a dict: ``mapping`` is ``{column name: header keyword}``.

    Missing and unparsable cards are left out; string values are stripped.
    """
    out: dict[str, Any] = {}
    for name, key in mapping.items():
        if key in header:
            try:
                value = header[key]
            except (VerifyError, ValueError, TypeError):  # an unparsable card: as if missing
                continue
            if isinstance(value, str):
                value = value.strip()
            if isinstance(value, np.generic):
                value = value.item()
            out[name] = value
    return out
