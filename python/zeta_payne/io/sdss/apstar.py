"""APOGEE apStar files: read, describe, and write small fixtures.

HDU1–7 are images of shape (R, 8575) — flux, error, mask, sky, sky error, telluric,
telluric error — on the log-linear vacuum grid of ``CRVAL1``/``CDELT1``. With several visits,
row 0 is the pixel-weighted coadd, row 1 the global-weighted coadd and rows 2… the visits;
a single visit gives one row. HDU9 is the visit table. Inverse variance is ``error⁻²``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
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
from zeta_payne.io.sdss.layout import APOGEE_GRID, LogLinearGrid
from zeta_payne.spectrum import Spectrum

log = logging.getLogger(__name__)

__all__ = ["describe_apstar", "identify_apstar", "load_apstar_pixels", "read_apstar", "write_apstar"]

#: Record keywords from the primary header.
PRIMARY_CARDS: dict[str, str] = {
    "obj": "OBJID",
    "telescope": "TELESCOP",
    "apred": "APRED",
    "healpix": "HEALPIX",
    "sdss_id": "SDSS_ID",
    "catalogid": "CATALOGID",
    "ra": "RA",
    "dec": "DEC",
    "snr": "SNR",
    "n_visits": "NVISITS",
    "field": "FIELD",
    "programs": "PROGRAMS",
}


def identify_apstar(path: str) -> bool:
    """Whether ``path`` is an apStar/asStar file (by name)."""
    base = os.path.basename(path)
    return base.startswith(("apStar", "asStar")) and base.endswith((".fits", ".fits.gz"))


def _grid(header: Mapping[str, Any]) -> LogLinearGrid:
    return LogLinearGrid(
        float(header.get("CRVAL1", APOGEE_GRID.crval)),
        float(header.get("CDELT1", APOGEE_GRID.cdelt)),
        int(header.get("NAXIS1", APOGEE_GRID.n_pixels)),
    )


def _visits_in_data(path: str, declared: Any) -> int:
    """Visits (rows 2…) the flux image really holds; the header's NVISITS is only trusted up
    to that (an absurd NVISITS must not make a billion records)."""
    try:
        with open_fits(path) as hdul:
            rows = int(hdul[1].header.get("NAXIS2", 1) or 1) if hdul[1].header.get("NAXIS", 0) == 2 else 1
    except (SpectrumError, IndexError, OSError, ValueError, TypeError):
        rows = 1  # unreadable: described as the coadd, whose failure is reported when fitted
    in_data = max(0, rows - 2) if rows > 1 else 1
    try:
        if int(declared) != in_data:
            log.warning("%s: NVISITS says %s, the flux image holds %d visit(s)", path, declared, in_data)
    except (TypeError, ValueError, OverflowError):
        pass
    return in_data


def describe_apstar(path: str | os.PathLike) -> list[SpectrumRecord]:
    """The coadd (row 0) and, with several visits, each visit (rows 2…) of an apStar file."""
    path = os.fspath(path)
    header = primary_header(path)
    if header is None:
        raise SpectrumError(f"{path}: not a readable FITS file")
    keywords = {**header_keywords(header, PRIMARY_CARDS), "filetype": "apStar"}
    n_visits = _visits_in_data(path, keywords.get("n_visits"))
    records = [SpectrumRecord(path, "ApogeeCoaddedSpectrumInApStar", "apogee", 1, 0, dict(keywords))]
    if n_visits > 1:
        for k in range(n_visits):
            records.append(
                SpectrumRecord(path, "ApogeeVisitSpectrumInApStar", "apogee", 1, 2 + k, dict(keywords))
            )
    return records


def load_apstar_pixels(path: str | os.PathLike, row: int = 0) -> PixelData:
    """Pixel arrays of row ``row`` (0: coadd) of an apStar file (see :data:`PixelData`)."""
    with open_fits(path) as hdul:
        try:
            grid = _grid(hdul[1].header)
            arrays = {}
            for name, ext in (("flux", 1), ("error", 2), ("pixel_flags", 3)):
                data = np.atleast_2d(np.asarray(hdul[ext].data))
                if row >= data.shape[0]:
                    raise SpectrumError(f"{path}: HDU{ext} has {data.shape[0]} rows, no row {row}")
                arrays[name] = np.array(data[row], dtype=float if name != "pixel_flags" else np.int64)
        except SpectrumError:
            raise
        except Exception as exc:
            raise SpectrumError(f"{path}: cannot read apStar pixels: {type(exc).__name__}: {exc}") from exc
    for name, values in arrays.items():
        if values.size != grid.n_pixels:
            raise SpectrumError(f"{path}: {name} has {values.size} pixels, header says {grid.n_pixels}")
    err = arrays.pop("error")
    with np.errstate(divide="ignore", invalid="ignore"):
        ivar = np.where(np.isfinite(err) & (err > 0) & (err < 1e9), 1.0 / err**2, 0.0)
    return {
        "wavelength": grid.wavelength,
        "flux": arrays["flux"],
        "ivar": ivar,
        "pixel_flags": arrays["pixel_flags"],
    }


def read_apstar(path: str | os.PathLike, bad_bits: int | None = None) -> list[Spectrum]:
    """Read the coadd and visits of an apStar file."""
    out = []
    for record in describe_apstar(path):
        meta = {
            **record.keywords,
            "instrument": "apogee",
            "file": record.path,
            "hdu": record.hdu,
            "row": record.row,
            "kind": record.kind,
            "name": record.name,
        }
        out.append(to_spectrum(load_apstar_pixels(record.path, record.row), meta, bad_bits, frame="rest"))
    return out


def write_apstar(
    path: str | os.PathLike,
    flux: np.ndarray,
    error: np.ndarray,
    mask: np.ndarray | None = None,
    keywords: Mapping[str, Any] | None = None,
    visits: Sequence[Mapping[str, Any]] | None = None,
    overwrite: bool = False,
) -> str:
    """Write an apStar file in the APOGEE layout (for fixtures).

    Parameters
    ----------
    path : path-like
        Destination (written atomically).
    flux, error : numpy.ndarray, shape (R, 8575) or (8575,)
        Rows as in the module docstring (R = 1 for one visit, else N_visits + 2).
    mask : numpy.ndarray, shape like ``flux``, optional
        APOGEE_PIXMASK bits.
    keywords : mapping, optional
        Primary-header values by record keyword (``obj``, ``telescope``, ``apred``, ``sdss_id``,
        ``healpix``, ``snr``, ``n_visits`` ...; see :data:`PRIMARY_CARDS`).
    visits : sequence of mappings, optional
        Rows of the HDU9 visit table (e.g. ``mjd``, ``vrel``, ``snr``).
    overwrite : bool
        Replace an existing file.
    """
    flux = np.atleast_2d(np.asarray(flux, dtype=np.float32))
    error = np.atleast_2d(np.asarray(error, dtype=np.float32))
    mask = np.zeros(flux.shape, np.int32) if mask is None else np.atleast_2d(np.asarray(mask, np.int32))
    primary = fits.PrimaryHDU()
    set_cards(primary.header, PRIMARY_CARDS, keywords or {})
    primary.header.setdefault("NVISITS", 1 if flux.shape[0] == 1 else flux.shape[0] - 2)
    primary.header["DATE"] = utc_now()

    def image(data: np.ndarray, name: str) -> fits.ImageHDU:
        hdu = fits.ImageHDU(data, name=name)
        hdu.header["CRVAL1"] = APOGEE_GRID.crval
        hdu.header["CDELT1"] = APOGEE_GRID.cdelt
        hdu.header["CRPIX1"] = 1
        hdu.header["CTYPE1"] = "LOG-LINEAR"
        hdu.header["DC-FLAG"] = 1
        return hdu

    zeros = np.zeros_like(flux)
    hdus = [
        image(flux, "FLUX"),
        image(error, "ERROR"),
        image(mask, "MASK"),
        image(zeros, "SKY"),
        image(zeros, "SKYERR"),
        image(np.ones_like(flux), "TELLURIC"),
        image(zeros, "TELERR"),
        fits.ImageHDU(np.zeros((1, 1), np.float32), name="LSF"),
    ]
    rows = list(visits or [])
    if rows:
        cols = [table_column(k, [r.get(k) for r in rows], len(rows)) for k in rows[0]]
        hdus.append(fits.BinTableHDU.from_columns(cols, name="RV"))
    else:
        hdus.append(fits.BinTableHDU(name="RV"))
    return atomic_write(fits.HDUList([primary, *hdus]), path, overwrite=overwrite)


register_reader("apstar", identify_apstar, read_apstar, "APOGEE apStar (coadd and visits)")
