"""Reader of LAMOST low-resolution (LRS) spectra, which the BOSS bundle fits (R≈1,800 vs 2,000).

Two layouts of the LAMOST LRS 1-D spectrum files (``spec-<lmjd>-<planid>_sp<nn>-<fiber>.fits``),
both with ``TELESCOP = 'LAMOST'`` in the primary header:

* **DR1–DR7** — the primary HDU is a float32 image of 5 rows × N pixels: flux, inverse
  variance, wavelength [Å], ``andmask``, ``ormask``;
* **DR8 and later** — an empty primary HDU and a binary table ``COADD`` of one row with the
  array columns ``FLUX``, ``IVAR``, ``WAVELENGTH``, ``ANDMASK``, ``ORMASK``.

Wavelengths are in vacuum (``VACUUM = T``) and heliocentric, not shifted to the star's rest
frame: the spectra are read in the **observed** frame (RV searched over ±500 km/s). The
flux is relative (LAMOST's flux calibration is relative). LAMOST files carry no per-pixel
LSF: the nominal resolving power :data:`LAMOST_RESOLUTION` is used as the LSF (FWHM = λ/R),
so a fit is not flagged ``lsf_from_bundle``. Pixels with a non-zero ``andmask`` are masked.

:func:`write_lamost` writes either layout (the test fixtures are made with it).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.registry import register_reader
from zeta_payne.spectrum import Spectrum

__all__ = ["LAMOST_RESOLUTION", "identify_lamost", "read_lamost", "write_lamost"]

#: Nominal resolving power of LAMOST LRS (λ/FWHM at 5,500 Å; Cui et al. 2012, RAA 12, 1197).
LAMOST_RESOLUTION: float = 1800.0

_ROWS = ("flux", "ivar", "wavelength", "andmask", "ormask")


def identify_lamost(path: str) -> bool:
    """Whether ``path`` is a LAMOST LRS spectrum (a FITS file with ``TELESCOP = 'LAMOST'``)."""
    if not path.lower().endswith((".fits", ".fits.gz", ".fit")):
        return False
    from astropy.io import fits

    header = fits.getheader(path, 0)
    return str(header.get("TELESCOP", "")).strip().upper() == "LAMOST"


def _arrays(hdul: Any, path: str) -> tuple[dict[str, np.ndarray], int]:
    if "COADD" in hdul:
        data = hdul["COADD"].data
        if data is None or len(data) == 0:
            raise SpectrumError(f"{path}: the COADD table is empty")
        names = {n.upper() for n in data.columns.names}
        missing = [n.upper() for n in ("flux", "ivar", "wavelength") if n.upper() not in names]
        if missing:
            raise SpectrumError(f"{path}: the COADD table has no {', '.join(missing)} column")
        arrays = {n: np.asarray(data[n.upper()][0], float) for n in _ROWS if n.upper() in names}
        return arrays, hdul.index_of("COADD")
    image = hdul[0].data
    if image is None or np.ndim(image) != 2 or image.shape[0] < 3:
        raise SpectrumError(f"{path}: expected a 5 × N primary image (flux, ivar, wavelength, masks)")
    return {name: np.asarray(image[i], float) for i, name in enumerate(_ROWS) if i < image.shape[0]}, 0


def read_lamost(path: str | os.PathLike) -> list[Spectrum]:
    """Read a LAMOST LRS spectrum (see the module docstring for both layouts).

    Returns
    -------
    list of Spectrum
        One spectrum: vacuum wavelengths, frame ``"observed"``, LSF FWHM = λ / 1,800,
        ``meta`` with ``instrument="lamost"``, ``obsid``, ``designation``, ``ra``, ``dec``,
        ``z`` (LAMOST's redshift), ``file``, ``hdu``, ``name``.

    Raises
    ------
    SpectrumError
        Missing arrays, arrays of different lengths, no finite wavelengths.
    """
    from astropy.io import fits

    path = os.fspath(path)
    with fits.open(path, memmap=False) as hdul:
        header = hdul[0].header
        arrays, hdu = _arrays(hdul, path)
    lengths = {name: a.size for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise SpectrumError(f"{path}: arrays of different lengths {lengths}")
    if str(header.get("VACUUM", "T")).strip().upper() in ("F", "FALSE", "0"):
        from zeta_payne.model.wavelength import air_to_vacuum

        arrays["wavelength"] = air_to_vacuum(arrays["wavelength"])
    wavelength = arrays["wavelength"]
    if not np.isfinite(wavelength).any():
        raise SpectrumError(f"{path}: no finite wavelengths")
    mask = arrays.get("andmask", np.zeros(wavelength.size)) != 0
    obsid = header.get("OBSID")
    meta = {
        "instrument": "lamost",
        "telescope": "lamost",
        "obsid": None if obsid is None else int(obsid),
        "designation": str(header.get("DESIG", "")).strip(),
        "ra": header.get("RA"),
        "dec": header.get("DEC"),
        "z": header.get("Z"),
        "file": path,
        "hdu": hdu,
        "name": str(
            header.get("DESIG") or (f"LAMOST {obsid}" if obsid is not None else os.path.basename(path))
        ),
    }
    spectrum = Spectrum(
        wavelength,
        arrays["flux"],
        np.clip(np.nan_to_num(arrays["ivar"], nan=0.0), 0.0, None),
        lsf_fwhm=wavelength / LAMOST_RESOLUTION,
        pixel_mask=mask,
        meta=meta,
        frame="observed",
    )
    return [spectrum]


def write_lamost(
    path: str | os.PathLike,
    wavelength: np.ndarray,
    flux: np.ndarray,
    ivar: np.ndarray,
    obsid: int = 1,
    designation: str = "J000000.00+000000.0",
    andmask: np.ndarray | None = None,
    layout: str = "dr8",
    ra: float = 0.0,
    dec: float = 0.0,
) -> str:
    """Write a LAMOST LRS file in the ``"dr8"`` (COADD table) or ``"dr7"`` (5-row image) layout."""
    from astropy.io import fits

    n = np.asarray(wavelength).size
    andmask = np.zeros(n, np.int32) if andmask is None else np.asarray(andmask, np.int32)
    rows = [np.asarray(flux), np.asarray(ivar), np.asarray(wavelength), andmask, np.zeros(n, np.int32)]
    cards = {
        "TELESCOP": ("LAMOST", "Telescope name"),
        "OBSID": (int(obsid), "Unique number ID of this spectrum"),
        "DESIG": (designation, "Designation of LAMOST target"),
        "RA": (float(ra), "Right ascension [deg]"),
        "DEC": (float(dec), "Declination [deg]"),
        "VACUUM": (True, "Wavelengths are in vacuum"),
        "Z": (0.0, "Redshift (LAMOST 1D pipeline)"),
    }
    if layout == "dr7":
        primary = fits.PrimaryHDU(np.array(rows, dtype=np.float32))
        hdul = fits.HDUList([primary])
    elif layout == "dr8":
        primary = fits.PrimaryHDU()
        columns = [
            fits.Column(
                name=name.upper(), format=f"{n}{'J' if 'mask' in name else 'E'}", array=np.array([row])
            )
            for name, row in zip(_ROWS, rows, strict=True)
        ]
        hdul = fits.HDUList([primary, fits.BinTableHDU.from_columns(columns, name="COADD")])
    else:
        raise ValueError(f"layout must be 'dr7' or 'dr8', not {layout!r}")
    for key, value in cards.items():
        hdul[0].header[key] = value
    hdul.writeto(os.fspath(path), overwrite=True)
    return os.fspath(path)


register_reader(
    "lamost",
    identify_lamost,
    read_lamost,
    "LAMOST low-resolution spectrum (DR1-DR7 image, DR8+ COADD)",
    priority=10,  # before the BOSS spec reader, which takes any file with a COADD table
)
