"""APOGEE apVisit files: read, describe, and write small fixtures.

Three chips × 4096 pixels: HDU1 flux, HDU2 error, HDU3 mask, HDU4 wavelength (vacuum,
observed frame, descending within a chip, reddest chip first), HDU10 LSF coefficients,
HDU11 the visit table. Arrays are flipped to increasing wavelength; ivar = error⁻².
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from astropy.io import fits

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.registry import register_reader
from zeta_payne.io.sdss.common import PixelData, SpectrumRecord, header_keywords, to_spectrum
from zeta_payne.io.sdss.fitsutil import (
    atomic_write,
    open_fits,
    primary_header,
    set_cards,
    table_column,
    utc_now,
)
from zeta_payne.spectrum import Spectrum

__all__ = ["describe_apvisit", "identify_apvisit", "load_apvisit_pixels", "read_apvisit", "write_apvisit"]

#: Record keywords from the primary header.
PRIMARY_CARDS: dict[str, str] = {
    "obj": "OBJID",
    "telescope": "TELESCOP",
    "apred": "APRED",
    "plate": "PLATE",
    "mjd": "MJD5",
    "fiber": "FIBERID",
    "field": "FIELD",
    "sdss_id": "SDSS_ID",
    "catalogid": "CATALOGID",
    "healpix": "HEALPIX",
    "ra": "RA",
    "dec": "DEC",
    "snr": "SNR",
    "v_rad": "VHELIO",
    "programs": "PROGRAMS",
}


def identify_apvisit(path: str) -> bool:
    """Whether ``path`` is an apVisit/asVisit file (by name)."""
    base = os.path.basename(path)
    return base.startswith(("apVisit", "asVisit")) and base.endswith((".fits", ".fits.gz"))


def describe_apvisit(path: str | os.PathLike) -> list[SpectrumRecord]:
    """The one visit spectrum of an apVisit file."""
    path = os.fspath(path)
    header = primary_header(path)
    if header is None:
        raise SpectrumError(f"{path}: not a readable FITS file")
    keywords = {**header_keywords(header, PRIMARY_CARDS), "filetype": "apVisit"}
    return [SpectrumRecord(path, "ApogeeVisitSpectrum", "apogee", 1, 0, keywords)]


def load_apvisit_pixels(path: str | os.PathLike) -> PixelData:
    """Pixel arrays of an apVisit file, increasing in wavelength (see :data:`PixelData`)."""
    with open_fits(path) as hdul:
        try:
            raw = {
                name: np.asarray(hdul[ext].data)
                for name, ext in (("flux", 1), ("error", 2), ("pixel_flags", 3), ("wavelength", 4))
            }
        except Exception as exc:
            raise SpectrumError(f"{path}: cannot read apVisit pixels: {type(exc).__name__}: {exc}") from exc
    shape = raw["wavelength"].shape
    for name, values in raw.items():
        if values.shape != shape:
            raise SpectrumError(f"{path}: {name} has shape {values.shape}, wavelength {shape}")
    flat = {name: np.asarray(values[::-1, ::-1]).ravel() for name, values in raw.items()}
    order = np.argsort(flat["wavelength"], kind="stable")
    flat = {name: values[order] for name, values in flat.items()}
    if np.any(np.diff(flat["wavelength"]) <= 0):
        raise SpectrumError(f"{path}: duplicate wavelengths across chips")
    err = flat.pop("error").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        flat["ivar"] = np.where(np.isfinite(err) & (err > 0) & (err < 1e9), 1.0 / err**2, 0.0)
    flat["flux"] = flat["flux"].astype(float)
    flat["wavelength"] = flat["wavelength"].astype(float)
    flat["pixel_flags"] = flat["pixel_flags"].astype(np.int64)
    return flat


def read_apvisit(path: str | os.PathLike, bad_bits: int | None = None) -> list[Spectrum]:
    """Read an apVisit file (observed frame: its RV is not removed)."""
    (record,) = describe_apvisit(path)
    meta = {
        **record.keywords,
        "instrument": "apogee",
        "file": record.path,
        "hdu": 1,
        "row": 0,
        "kind": record.kind,
        "name": record.name,
    }
    return [to_spectrum(load_apvisit_pixels(path), meta, bad_bits, frame="observed")]


def write_apvisit(
    path: str | os.PathLike,
    wavelength: np.ndarray,
    flux: np.ndarray,
    error: np.ndarray,
    mask: np.ndarray | None = None,
    keywords: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> str:
    """Write an apVisit file in the APOGEE layout (for fixtures).

    Parameters
    ----------
    path : path-like
        Destination (written atomically).
    wavelength, flux, error : numpy.ndarray, shape (3, 4096)
        Per chip, descending wavelength, reddest chip first (as APOGEE writes them).
    mask : numpy.ndarray, shape (3, 4096), optional
        APOGEE_PIXMASK bits.
    keywords : mapping, optional
        Primary-header values by record keyword (see :data:`PRIMARY_CARDS`).
    overwrite : bool
        Replace an existing file.
    """
    wavelength = np.asarray(wavelength, dtype=np.float64)
    mask = np.zeros(wavelength.shape, np.int32) if mask is None else np.asarray(mask, np.int32)
    primary = fits.PrimaryHDU()
    set_cards(primary.header, PRIMARY_CARDS, keywords or {})
    primary.header["DATE"] = utc_now()
    hdus = [
        fits.ImageHDU(np.asarray(flux, np.float32), name="FLUX"),
        fits.ImageHDU(np.asarray(error, np.float32), name="ERROR"),
        fits.ImageHDU(mask, name="MASK"),
        fits.ImageHDU(wavelength, name="WAVELENGTH"),
    ]
    hdus += [fits.ImageHDU(name=n) for n in ("SKY", "SKYERR", "TELLURIC", "TELERR", "WCOEF")]
    hdus.append(fits.ImageHDU(np.zeros((3, 26), np.float64), name="LSFCOEF"))
    v = dict(keywords or {})
    visit = {"vrel": v.get("v_rad", 0.0), "vhelio": v.get("v_rad", 0.0), "snr": v.get("snr", 0.0)}
    hdus.append(fits.BinTableHDU.from_columns([table_column(k.upper(), [x], 1) for k, x in visit.items()]))
    return atomic_write(fits.HDUList([primary, *hdus]), path, overwrite=overwrite)


register_reader("apvisit", identify_apvisit, read_apvisit, "APOGEE apVisit (observed frame)")
