"""Reader of the MILES stellar library (Sánchez-Blázquez et al. 2006, MNRAS 371, 703).

Layout (facts of the files, as shipped by the MaNGA DAP, ``sdss-mangadap`` on PyPI, under
``mangadap/data/spectral_templates/miles/``): one FITS file per star,
``MILES_res2.50_star_m????V.fits``, a 1-D float64 primary array of flux (flux-calibrated,
relative units, rest frame), wavelength ``CRVAL1 + CDELT1 · (i + 1 − CRPIX1)`` in **air**
(3540.5–7409.6 Å, 0.9 Å pixels), ``FWHM`` = 2.50 Å (the library's LSF, Falcón-Barroso et al.
2011, A&A 532, A95), ``TPLLIB = 'MILES'``. No per-pixel errors.

The parameter table ``paramsMILES_v9.1.txt`` (same folder) lists for each star its name,
MILES number, CaT number, spectral type, Teff, log g, [Fe/H], the source codes of the three
parameters and the libraries it is also in: the compilation of Cenarro et al. 2007 (MNRAS
374, 664), fixed-width text with ``--`` for missing values.

:func:`read_miles` returns a :class:`~zeta_payne.spectrum.Spectrum` in vacuum wavelengths,
frame ``"rest"``, LSF 2.5 Å FWHM, and an inverse variance from the stated noise model of
:mod:`zeta_payne.io.libraries` (constant S/N per pixel from DER_SNR, capped).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

import numpy as np

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.libraries import der_snr, ivar_from_snr
from zeta_payne.io.registry import register_reader
from zeta_payne.model.wavelength import air_to_vacuum
from zeta_payne.spectrum import Spectrum

__all__ = ["MilesStar", "MAX_SNR", "identify_miles", "miles_number", "read_miles", "read_miles_params"]

#: Cap of the DER_SNR estimate [per pixel]: the MILES spectra are resampled (correlated
#: pixels), so DER_SNR overestimates their S/N; the cap keeps χ² from being dominated by
#: model mismatch at S/N of several hundred.
MAX_SNR: float = 200.0

_FILE_NUMBER = re.compile(r"m(\d{4})V", re.IGNORECASE)
_PARAMS_TAIL = re.compile(
    r"\s(?P<teff>\d+|--)\s+(?P<logg>-?\d+\.\d+|--)\s+(?P<feh>-?\d+\.\d+|--)(?P<rest>.*)$"
)


@dataclass(frozen=True)
class MilesStar:
    """One row of ``paramsMILES_v9.1.txt``: literature labels of a MILES star.

    ``teff`` [K], ``logg`` [dex], ``feh`` [dex] are ``nan`` where the table has ``--``;
    ``refs`` is the table's source code of the three parameters (Cenarro et al. 2007).
    """

    name: str
    number: str
    spectral_type: str
    teff: float
    logg: float
    feh: float
    refs: str


def _open_bytes(source: str | os.PathLike | bytes) -> io.BytesIO | str:
    return io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source)


def identify_miles(path: str) -> bool:
    """True for a FITS file whose primary header says ``TPLLIB = 'MILES'``."""
    if not path.lower().endswith((".fits", ".fit", ".fits.gz")):
        return False
    from astropy.io import fits

    header = fits.getheader(path, 0)
    return str(header.get("TPLLIB", "")).strip().upper() == "MILES"


def miles_number(name: str) -> str | None:
    """The four-digit MILES number in a file name (``...m0123V.fits`` → ``"0123"``)."""
    match = _FILE_NUMBER.search(os.path.basename(name))
    return match.group(1) if match else None


def read_miles_params(source: str | os.PathLike | bytes) -> dict[str, MilesStar]:
    """Parse ``paramsMILES_v9.1.txt`` into {MILES number: :class:`MilesStar`}.

    Parameters
    ----------
    source : path-like or bytes
        The file, or its content.
    """
    if isinstance(source, bytes):
        text = source.decode("latin-1")
    else:
        with open(source, encoding="latin-1") as fh:
            text = fh.read()
    out: dict[str, MilesStar] = {}
    for line in text.splitlines():
        number = line[22:29].strip()
        if not re.fullmatch(r"\d{4}", number):
            continue
        tail = _PARAMS_TAIL.search(line, 40)
        if tail is None:
            continue

        def value(s: str) -> float:
            return float("nan") if s == "--" else float(s)

        rest = tail["rest"].split()
        out[number] = MilesStar(
            name=line[:22].strip(),
            number=number,
            spectral_type=line[36 : tail.start()].strip(),
            teff=value(tail["teff"]),
            logg=value(tail["logg"]),
            feh=value(tail["feh"]),
            refs=rest[0] if rest else "",
        )
    return out


def read_miles(
    path: str | os.PathLike | bytes,
    params: dict[str, MilesStar] | None = None,
    name: str | None = None,
    max_snr: float = MAX_SNR,
) -> list[Spectrum]:
    """Read one MILES spectrum.

    Parameters
    ----------
    path : path-like or bytes
        The FITS file (or its bytes, with ``name`` giving the file name).
    params : dict, optional
        :func:`read_miles_params` output; the star's literature labels go to
        ``meta["reference"]``.
    name : str, optional
        File name when ``path`` is bytes.
    max_snr : float
        Cap of the DER_SNR noise model.

    Returns
    -------
    list of Spectrum
        One spectrum: vacuum wavelengths, frame ``"rest"``, ``lsf_fwhm`` from ``FWHM``.
    """
    from astropy.io import fits

    fname = name or (os.fspath(path) if not isinstance(path, bytes) else "miles.fits")
    with fits.open(_open_bytes(path), memmap=False) as hdul:
        header = hdul[0].header
        flux = np.asarray(hdul[0].data, dtype=float).ravel()
    for key in ("CRVAL1", "CDELT1"):
        if key not in header:
            raise SpectrumError(f"{fname}: no {key} in the MILES header")
    pix = np.arange(flux.size, dtype=float) + 1.0 - float(header.get("CRPIX1", 1.0))
    air = float(header["CRVAL1"]) + float(header["CDELT1"]) * pix
    fwhm = float(header.get("FWHM", 2.5))
    snr = min(der_snr(flux), max_snr)
    number = miles_number(fname)
    meta: dict = {"file": fname, "library": "MILES", "miles_number": number, "snr_model": snr}
    star = (params or {}).get(number or "")
    meta["name"] = f"MILES m{number} {star.name}" if star else f"MILES m{number}"
    if star is not None:
        meta["reference"] = {
            "teff": star.teff,
            "logg": star.logg,
            "m_h": star.feh,
            "spectral_type": star.spectral_type,
            "refs": star.refs,
            "star": star.name,
        }
    spectrum = Spectrum(
        air_to_vacuum(air),
        flux,
        ivar_from_snr(flux, snr),
        lsf_fwhm=np.full(flux.size, fwhm),
        meta=meta,
        frame="rest",
    )
    return [spectrum]


register_reader("miles", identify_miles, read_miles, "MILES stellar library spectrum (FITS, TPLLIB='MILES')")
