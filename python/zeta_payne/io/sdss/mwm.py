"""mwmStar / mwmVisit files (written by ASTRA): read, describe, and write small fixtures.

Layout: HDU0 = source header; HDU1 BOSS/APO, HDU2 BOSS/LCO, HDU3 APOGEE/APO (incl. apo1m),
HDU4 APOGEE/LCO, each a binary table with one row per spectrum (mwmStar: one coadd;
mwmVisit: one row per visit) and columns ``flux``, ``ivar``, ``pixel_flags``, optional
``wresl`` (BOSS LSF FWHM [Å]) and ``continuum``, plus metadata. No wavelength column: the
header carries ``CRVAL``/``CDELT``/``NPIXELS`` of the rest-frame, vacuum log-linear grid.
An extension with no rows means no data for that instrument and site.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from astropy.io import fits

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.registry import register_reader
from zeta_payne.io.sdss.common import PixelData, SpectrumRecord, header_keywords, to_spectrum
from zeta_payne.io.sdss.fitsutil import (
    FITS_ERRORS,
    atomic_write,
    open_fits,
    read_column,
    set_cards,
    table_column,
    utc_now,
)
from zeta_payne.io.sdss.layout import MWM_EXTNAMES, LogLinearGrid, grid_for, mwm_hdu
from zeta_payne.spectrum import Spectrum

__all__ = ["describe_mwm", "identify_mwm", "load_mwm_pixels", "read_mwm", "write_mwm"]

#: ASTRA spectrum model of each (filetype, instrument).
MWM_KINDS: dict[tuple[str, str], str] = {
    ("mwmStar", "boss"): "BossCombinedSpectrum",
    ("mwmStar", "apogee"): "ApogeeCombinedSpectrum",
    ("mwmVisit", "boss"): "BossRestFrameVisitSpectrum",
    ("mwmVisit", "apogee"): "ApogeeRestFrameVisitSpectrum",
}

#: Source columns written to / read from the primary header.
SOURCE_CARDS: dict[str, str] = {
    "sdss_id": "SDSS_ID",
    "catalogid": "CATALOGID",
    "sdss4_apogee_id": "APOGEEID",
    "gaia_dr3_source_id": "GAIA_DR3",
    "healpix": "HEALPIX",
    "ra": "RA",
    "dec": "DEC",
    "carton_0": "CARTON_0",
    "programs": "PROGRAMS",
}

#: Data-product keywords an extension's header carries when all its rows share them (so
#: that a spectrum whose table data are unreadable is still described in full).
EXTENSION_CARDS: dict[str, str] = {
    "release": "RELEASE",
    "run2d": "RUN2D",
    "apred": "APRED",
    "obj": "OBJ",
}

#: Scalar metadata columns of a row that are kept as record keywords.
ROW_KEYWORDS: tuple[str, ...] = (
    "spectrum_pk",
    "release",
    "healpix",
    "telescope",
    "snr",
    "mjd",
    "run2d",
    "apred",
    "fieldid",
    "catalogid",
    "obj",
    "n_exp",
    "n_visits",
    "v_rad",
    "e_v_rad",
    "min_mjd",
    "max_mjd",
)

_PIXEL_COLUMNS = ("flux", "ivar", "pixel_flags", "wresl", "continuum")


def _filetype(path: str, header: Mapping[str, Any] | None) -> str | None:
    base = os.path.basename(path)
    for kind in ("mwmStar", "mwmVisit"):
        if base.startswith(kind):
            return kind
    if header is not None and str(header.get("FILETYPE", "")).strip() in ("mwmStar", "mwmVisit"):
        return str(header["FILETYPE"]).strip()
    return None


def identify_mwm(path: str) -> bool:
    """Whether ``path`` looks like an mwmStar/mwmVisit file (by name or FILETYPE card)."""
    if not path.lower().endswith((".fits", ".fits.gz", ".fit")):
        return False
    from zeta_payne.io.sdss.fitsutil import primary_header

    return _filetype(path, primary_header(path)) is not None


def _grid(header: Mapping[str, Any], instrument: str) -> LogLinearGrid:
    default = grid_for(instrument)
    try:
        return LogLinearGrid(
            float(header.get("CRVAL", default.crval)),
            float(header.get("CDELT", default.cdelt)),
            int(header.get("NPIXELS", default.n_pixels)),
        )
    except FITS_ERRORS:
        return default


def _instrument_of(index: int, header: Mapping[str, Any]) -> str:
    try:
        inst = str(header.get("INSTRMNT", "")).strip().lower()
    except FITS_ERRORS:
        inst = ""
    if inst in ("boss", "apogee"):
        return inst
    return "boss" if index in (1, 2) else "apogee"


def _rows_present(path: str, hdu: Any) -> int:
    """Rows of a table extension, no more than its bytes in the file can hold (a corrupt
    NAXIS2 must not make a million records; a truncated extension still gives its rows)."""
    header = hdu.header
    try:
        n_rows = int(header.get("NAXIS2", 0) or 0)
        width = int(header.get("NAXIS1", 0) or 0)
        fields = int(header.get("TFIELDS", 0) or 0)
    except FITS_ERRORS:
        return 0
    if n_rows <= 0 or width <= 0 or fields <= 0:
        return 0
    try:
        available = os.path.getsize(path) - int(hdu._data_offset)
    except (AttributeError, TypeError, OSError):
        return n_rows
    return min(n_rows, max(1, available // width))


def describe_mwm(path: str | os.PathLike) -> list[SpectrumRecord]:
    """Every spectrum in an mwmStar/mwmVisit file, from headers and metadata columns.

    Extensions whose data cannot be read (a truncated file) are still described from their
    headers, so that the spectrum is registered and its failure reported when it is fitted.

    Raises
    ------
    SpectrumError
        Not a FITS file, or not an mwm file.
    """
    path = os.fspath(path)
    records: list[SpectrumRecord] = []
    with open_fits(path) as hdul:
        primary = hdul[0].header
        filetype = _filetype(path, primary)
        if filetype is None:
            raise SpectrumError(f"{path}: not an mwmStar/mwmVisit file")
        source = header_keywords(primary, SOURCE_CARDS)
        v_astra = str(primary.get("V_ASTRA", "")).strip() or None
        for index in MWM_EXTNAMES:
            try:
                hdu = hdul[index]
                header = hdu.header
            except FITS_ERRORS:
                break  # truncated or damaged: no further extensions
            n_rows = _rows_present(path, hdu)
            if n_rows == 0:
                continue
            instrument = _instrument_of(index, header)
            obs = str(header.get("OBSRVTRY", "APO" if index in (1, 3) else "LCO")).strip().lower()
            shared = header_keywords(header, EXTENSION_CARDS)
            rows: list[dict[str, Any]] = [{} for _ in range(n_rows)]
            try:
                data = hdu.data
                names = {n.lower(): n for n in data.columns.names}
                for key in ROW_KEYWORDS:
                    if key in names:
                        column = data[names[key]]
                        for i in range(n_rows):
                            value = column[i]
                            value = value.strip() if isinstance(value, str) else np.asarray(value).item()
                            rows[i][key] = value
            except Exception:  # unreadable data: describe from the header alone
                pass
            for i, row in enumerate(rows):
                keywords = {**source, **shared, **row, "filetype": filetype}
                if v_astra:
                    keywords["v_astra"] = v_astra
                keywords.setdefault("telescope", f"{obs}25m")
                kind = MWM_KINDS[(filetype, instrument)]
                records.append(SpectrumRecord(path, kind, instrument, index, i, keywords))
    return records


def load_mwm_pixels(path: str | os.PathLike, hdu: int, row: int = 0) -> PixelData:
    """Pixel arrays of row ``row`` of extension ``hdu`` (see :data:`PixelData`).

    Raises
    ------
    SpectrumError
        Unreadable file or extension, empty extension, or arrays that do not match the grid.
    """
    with open_fits(path) as hdul:
        try:
            ext = hdul[hdu]
            header = ext.header
            instrument = _instrument_of(hdu, header)
            grid = _grid(header, instrument)
            n_rows = int(header.get("NAXIS2", 0) or 0)
            if row >= n_rows:
                raise SpectrumError(f"{path}: extension {hdu} has {n_rows} rows, no row {row}")
            out: PixelData = {}
            for name in _PIXEL_COLUMNS:
                values = read_column(ext, name, row)
                if values is not None:
                    out[name] = values
        except SpectrumError:
            raise
        except Exception as exc:
            raise SpectrumError(f"{path}: cannot read extension {hdu}: {type(exc).__name__}: {exc}") from exc
    for name in ("flux", "ivar"):
        if name not in out:
            raise SpectrumError(f"{path}: extension {hdu} has no {name!r} column")
        if out[name].size != grid.n_pixels:
            raise SpectrumError(
                f"{path}: extension {hdu} {name} has {out[name].size} pixels, header says {grid.n_pixels}"
            )
    out["wavelength"] = grid.wavelength
    return out


def read_mwm(path: str | os.PathLike, bad_bits: int | None = None) -> list[Spectrum]:
    """Read every spectrum of an mwmStar/mwmVisit file.

    ``meta`` holds ``instrument``, ``telescope``, ``file``, ``hdu``, ``row``, ``name`` and the
    record keywords (``sdss_id``, ...).
    """
    out = []
    for record in describe_mwm(path):
        pixels = load_mwm_pixels(record.path, record.hdu, record.row)
        meta = {
            **record.keywords,
            "instrument": record.instrument,
            "file": record.path,
            "hdu": record.hdu,
            "row": record.row,
            "kind": record.kind,
            "name": record.name,
        }
        out.append(to_spectrum(pixels, meta, bad_bits, frame="rest"))
    return out


def _extension_header(index: int, v_astra: str) -> fits.Header:
    instrument, observatory = MWM_EXTNAMES[index].split("/")
    grid = grid_for(instrument.lower())
    return fits.Header(
        [
            ("EXTNAME", MWM_EXTNAMES[index], "Extension name"),
            ("OBSRVTRY", observatory, "Observatory"),
            ("INSTRMNT", instrument, "Instrument"),
            ("V_ASTRA", v_astra, "Astra version"),
            ("CREATED", utc_now(), "File creation time (UTC)"),
            ("CRVAL", grid.crval, "Log10 of the first wavelength [Angstrom]"),
            ("CDELT", grid.cdelt, "Log10 wavelength step"),
            ("CTYPE", "LOG-LINEAR", "Wavelength axis type"),
            ("CUNIT", "Angstrom (Vacuum)", "Wavelength unit"),
            ("CRPIX", 1, "Reference pixel"),
            ("DC-FLAG", 1, "Linear (0) or log-linear (1) dispersion"),
            ("NPIXELS", grid.n_pixels, "Number of pixels per spectrum"),
        ]
    )


def write_mwm(
    path: str | os.PathLike,
    source: Mapping[str, Any],
    spectra: Sequence[Mapping[str, Any]],
    filetype: str = "mwmStar",
    v_astra: str = "0.8.0",
    overwrite: bool = False,
) -> str:
    """Write an mwmStar/mwmVisit file in ASTRA's layout (for fixtures and demo data).

    Parameters
    ----------
    path : path-like
        Destination (written atomically).
    source : mapping
        Source identifiers for the primary header (``sdss_id``, ``catalogid``, ``ra``, ``dec``,
        ``healpix``, ``programs`` ...; see :data:`SOURCE_CARDS`).
    spectra : sequence of mappings
        Each with ``instrument`` ("boss"/"apogee"), ``telescope`` (``apo25m``, ``lco25m``,
        ``apo1m``), ``flux`` and ``ivar`` (shape (N,) on the instrument's rest-frame grid),
        optional ``pixel_flags``, ``wresl`` [Å], ``continuum``, and scalar metadata columns
        (``snr``, ``mjd``, ``release``, ...). An mwmStar holds at most one per extension.
    filetype : {"mwmStar", "mwmVisit"}
    v_astra : str
        ASTRA version written to the headers.
    overwrite : bool
        Replace an existing file.
    """
    if filetype not in ("mwmStar", "mwmVisit"):
        raise ValueError(f"filetype must be mwmStar or mwmVisit, not {filetype!r}")
    by_hdu: dict[int, list[Mapping[str, Any]]] = {i: [] for i in MWM_EXTNAMES}
    for spec in spectra:
        by_hdu[mwm_hdu(spec["instrument"], spec["telescope"])].append(spec)
    primary = fits.PrimaryHDU()
    set_cards(primary.header, SOURCE_CARDS, source)
    primary.header["FILETYPE"] = (filetype, "Data product type")
    primary.header["V_ASTRA"] = (v_astra, "Astra version")
    primary.header["CREATED"] = (utc_now(), "File creation time (UTC)")
    hdus: list[fits.hdu.base.ExtensionHDU] = []
    for index, rows in by_hdu.items():
        header = _extension_header(index, v_astra)
        shared = {}
        for key in EXTENSION_CARDS:
            values = {r.get(key) for r in rows}
            if len(values) == 1 and None not in values:
                shared[key] = values.pop()
        set_cards(header, EXTENSION_CARDS, shared)
        if not rows:
            hdus.append(fits.BinTableHDU(header=header))
            continue
        if filetype == "mwmStar" and len(rows) > 1:
            raise ValueError(f"an mwmStar holds one spectrum per extension; {len(rows)} for {index}")
        n = len(rows)
        scalar_names = [k for k in rows[0] if k not in _PIXEL_COLUMNS and k != "instrument"]
        columns = [table_column(k, [r.get(k) for r in rows], n) for k in scalar_names]
        for name in _PIXEL_COLUMNS:
            if all(r.get(name) is not None for r in rows):
                values = np.array([np.asarray(r[name]) for r in rows])
                if name == "pixel_flags":
                    values = values.astype(np.int32)
                else:
                    values = values.astype(np.float32)
                columns.append(table_column(name, values, n))
        hdus.append(fits.BinTableHDU.from_columns(columns, header=header))
    return atomic_write(fits.HDUList([primary, *hdus]), path, overwrite=overwrite)


register_reader("mwm", identify_mwm, read_mwm, "SDSS-V mwmStar / mwmVisit (ASTRA)")
