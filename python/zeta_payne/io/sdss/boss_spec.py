"""BOSS specFull / spec-lite files (the BOSS pipeline): read, describe, write small fixtures.

HDU1 ``COADD`` is a table with ``loglam`` (log10 Å, vacuum, heliocentric), ``flux``
(1e-17 erg/s/cm²/Å), ``ivar``, ``and_mask``, ``or_mask``, the LSF as ``wresl`` (SDSS-V:
FWHM [Å]) or ``wdisp`` (SDSS-III/IV: Gaussian σ in units of the 1e-4 dex pixel), ``sky`` and
``model``; HDU2 ``SPALL`` holds one row of summary values; specFull adds per-exposure
extensions from HDU4 on. ``pixel_flags`` is the ``or_mask``.
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
from zeta_payne.io.sdss.fitsutil import atomic_write, open_fits, set_cards, table_column, utc_now
from zeta_payne.spectrum import Spectrum

__all__ = [
    "FWHM_PER_SIGMA",
    "describe_boss_spec",
    "identify_boss_spec",
    "load_boss_spec_pixels",
    "read_boss_spec",
    "wdisp_to_fwhm",
    "write_boss_spec",
]

#: FWHM / σ of a Gaussian.
FWHM_PER_SIGMA: float = 2.0 * np.sqrt(2.0 * np.log(2.0))

#: Record keywords from the primary header.
PRIMARY_CARDS: dict[str, str] = {
    "run2d": "RUN2D",
    "mjd": "MJD",
    "fieldid": "FIELDID",
    "catalogid": "CATALOGID",
    "sdss_id": "SDSS_ID",
    "ra": "PLUG_RA",
    "dec": "PLUG_DEC",
    "healpix": "HEALPIX",
    "observatory": "OBSERVAT",
    "programs": "PROGRAMS",
}
#: Record keywords from the SPALL row.
SPALL_COLUMNS: dict[str, str] = {"snr": "SN_MEDIAN_ALL", "xcsao_v_rad": "XCSAO_RV", "z": "Z"}


def identify_boss_spec(path: str) -> bool:
    """Whether ``path`` is a BOSS ``spec-…fits`` file (by name)."""
    base = os.path.basename(path)
    return base.startswith("spec-") and base.endswith((".fits", ".fits.gz"))


def wdisp_to_fwhm(wdisp: np.ndarray, loglam: np.ndarray) -> np.ndarray:
    """Convert ``wdisp`` (σ in pixels of ``Δlog10 λ``) to the LSF FWHM [Å].

    Parameters
    ----------
    wdisp : numpy.ndarray, shape (N,)
        Dispersion in pixels.
    loglam : numpy.ndarray, shape (N,)
        log10 wavelength [Å].
    """
    dlog = float(loglam[-1] - loglam[0]) / (loglam.size - 1) if loglam.size > 1 else 1e-4
    return np.asarray(wdisp, float) * FWHM_PER_SIGMA * (10.0**loglam) * np.log(10.0) * dlog


def describe_boss_spec(path: str | os.PathLike) -> list[SpectrumRecord]:
    """The coadded spectrum of a spec file."""
    path = os.fspath(path)
    with open_fits(path) as hdul:
        header = hdul[0].header
        keywords = header_keywords(header, PRIMARY_CARDS)
        n_hdus = 0
        try:
            spall = hdul[2].data
            names = {n.lower(): n for n in spall.columns.names}
            for name, column in SPALL_COLUMNS.items():
                if column.lower() in names:
                    keywords[name] = np.asarray(spall[names[column.lower()]][0]).item()
            n_hdus = len(hdul)
        except Exception:
            pass
    obs = str(keywords.pop("observatory", "APO")).strip().lower()[:3] or "apo"
    keywords.setdefault("telescope", f"{obs}25m")
    keywords["filetype"] = "specFull" if n_hdus > 4 else "specLite"
    keywords["spec_file"] = os.path.basename(path)
    return [SpectrumRecord(path, "BossVisitSpectrum", "boss", 1, 0, keywords)]


def load_boss_spec_pixels(path: str | os.PathLike) -> PixelData:
    """Pixel arrays of the coadd (see :data:`PixelData`; ``wresl`` from ``wresl`` or ``wdisp``)."""
    with open_fits(path) as hdul:
        try:
            data = hdul[1].data
            names = {n.lower(): n for n in data.columns.names}
            columns = {
                name: np.array(data[names[name]], dtype=float)
                for name in ("loglam", "flux", "ivar", "wresl", "wdisp")
                if name in names
            }
            if "or_mask" in names:
                columns["or_mask"] = np.array(data[names["or_mask"]], dtype=np.int64)
        except Exception as exc:
            raise SpectrumError(f"{path}: cannot read the COADD table: {type(exc).__name__}: {exc}") from exc
    for name in ("loglam", "flux", "ivar"):
        if name not in columns:
            raise SpectrumError(f"{path}: COADD table has no {name!r} column")
    loglam = columns["loglam"].ravel()
    with np.errstate(over="ignore"):  # absurd values give inf, which the spectrum rejects
        wavelength = 10.0**loglam
    out: PixelData = {
        "wavelength": wavelength,
        "flux": columns["flux"].ravel(),
        "ivar": columns["ivar"].ravel(),
    }
    if "or_mask" in columns:
        out["pixel_flags"] = columns["or_mask"].ravel()
    if "wresl" in columns:
        out["wresl"] = columns["wresl"].ravel()
    elif "wdisp" in columns:
        out["wresl"] = wdisp_to_fwhm(columns["wdisp"].ravel(), loglam)
    return out


def read_boss_spec(path: str | os.PathLike, bad_bits: int | None = None) -> list[Spectrum]:
    """Read the coadd of a BOSS spec file (heliocentric frame: its RV is not removed)."""
    (record,) = describe_boss_spec(path)
    meta = {
        **record.keywords,
        "instrument": "boss",
        "file": record.path,
        "hdu": 1,
        "row": 0,
        "kind": record.kind,
        "name": record.name,
    }
    return [to_spectrum(load_boss_spec_pixels(path), meta, bad_bits, frame="observed")]


def write_boss_spec(
    path: str | os.PathLike,
    loglam: np.ndarray,
    flux: np.ndarray,
    ivar: np.ndarray,
    or_mask: np.ndarray | None = None,
    wresl: np.ndarray | None = None,
    wdisp: np.ndarray | None = None,
    keywords: Mapping[str, Any] | None = None,
    exposures: Sequence[Mapping[str, np.ndarray]] = (),
    overwrite: bool = False,
) -> str:
    """Write a BOSS spec file (spec-lite; specFull when ``exposures`` are given).

    Parameters
    ----------
    path : path-like
        Destination (written atomically).
    loglam, flux, ivar : numpy.ndarray, shape (N,)
        log10 vacuum wavelength [Å], flux, inverse variance.
    or_mask : numpy.ndarray, shape (N,), optional
        Pixel mask (also written as ``and_mask``).
    wresl : numpy.ndarray, shape (N,), optional
        LSF FWHM [Å] (SDSS-V). Give this or ``wdisp``.
    wdisp : numpy.ndarray, shape (N,), optional
        LSF σ in pixels (SDSS-III/IV).
    keywords : mapping, optional
        Primary-header values by record keyword (see :data:`PRIMARY_CARDS`) and SPALL values
        (``snr``).
    exposures : sequence of mappings
        Per-exposure tables (``loglam``, ``flux``, ``ivar`` ...) written from HDU4 on.
    overwrite : bool
        Replace an existing file.
    """
    n = len(loglam)
    mask = np.zeros(n, np.int32) if or_mask is None else np.asarray(or_mask, np.int32)
    kw = dict(keywords or {})
    cols = {
        "flux": np.asarray(flux, np.float32),
        "loglam": np.asarray(loglam, np.float32),
        "ivar": np.asarray(ivar, np.float32),
        "and_mask": mask,
        "or_mask": mask,
    }
    if wresl is not None:
        cols["wresl"] = np.asarray(wresl, np.float32)
    if wdisp is not None:
        cols["wdisp"] = np.asarray(wdisp, np.float32)
    cols["sky"] = np.zeros(n, np.float32)
    cols["model"] = np.asarray(flux, np.float32)
    coadd = fits.BinTableHDU.from_columns(
        [fits.Column(name=k, format="E" if v.dtype.kind == "f" else "J", array=v) for k, v in cols.items()],
        name="COADD",
    )
    primary = fits.PrimaryHDU()
    set_cards(primary.header, PRIMARY_CARDS, kw)
    if "telescope" in kw and "OBSERVAT" not in primary.header:
        primary.header["OBSERVAT"] = str(kw["telescope"])[:3].upper()
    primary.header["DATE"] = utc_now()
    spall = {
        "CLASS": "STAR",
        "SUBCLASS": "B",
        "Z": kw.get("z", 0.0),
        "SN_MEDIAN_ALL": kw.get("snr", 0.0),
        "CATALOGID": kw.get("catalogid", 0),
        "MJD": kw.get("mjd", 0),
    }
    spall_columns = [table_column(k, [v], 1) for k, v in spall.items()]
    spall_hdu = fits.BinTableHDU.from_columns(spall_columns, name="SPALL")
    zline = fits.BinTableHDU(name="ZLINE")
    hdus = [primary, coadd, spall_hdu, zline]
    for i, exposure in enumerate(exposures):
        ecols = [table_column(k, np.asarray(v), 1) for k, v in exposure.items()]
        hdus.append(fits.BinTableHDU.from_columns(ecols, name=f"EXP{i}"))
    return atomic_write(fits.HDUList(hdus), path, overwrite=overwrite)


register_reader("boss_spec", identify_boss_spec, read_boss_spec, "BOSS specFull / spec-lite")
