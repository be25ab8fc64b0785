"""Reader of the STELIB stellar library (Le Borgne et al. 2003, A&A 402, 433), v3.2.

Layout (facts of the files, as shipped by the MaNGA DAP, ``sdss-mangadap`` on PyPI, under
``mangadap/data/spectral_templates/stelib/STELIB_v3.2_<star>.fits``): one FITS file per star,
a 1-D float32 primary array of flux [erg s⁻¹ cm⁻² Å⁻¹] (corrected for interstellar extinction
``ISEXTINC``), linear **air** wavelength ``CRVAL1 + CDELT1 · (i + 1 − CRPIX1)``
(≈ 3200–9900 Å, 1 Å pixels), zeros where a star has no data. The header carries the
library's literature labels: ``TEFF``, ``LOG_G``, ``FE_H`` (``'-'`` where unknown),
``SPECTYPE``, ``RADVEL`` (km/s) and ``OBJECT``. No per-pixel errors.

The LSF of STELIB is ≈ 3 Å FWHM (Le Borgne et al. 2003); the MaNGA DAP uses 3.4 Å, taken here
(:data:`FWHM`). The spectra are in the rest frame (``frame="rest"``): fitted RVs of STELIB
stars scatter around 0, not around their ``RADVEL`` (kept in ``meta["reference"]`` as the
literature RV).
"""

from __future__ import annotations

import io
import os

import numpy as np

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.libraries import der_snr, ivar_from_snr
from zeta_payne.io.registry import register_reader
from zeta_payne.model.wavelength import air_to_vacuum
from zeta_payne.spectrum import Spectrum

__all__ = ["FWHM", "MAX_SNR", "identify_stelib", "read_stelib"]

#: LSF FWHM of STELIB v3.2 [Å] (the value the MaNGA DAP assigns).
FWHM: float = 3.4
#: Cap of the DER_SNR noise model [per pixel].
MAX_SNR: float = 200.0


def identify_stelib(path: str) -> bool:
    """True for a 1-D FITS file with the STELIB label cards ``TEFF``, ``LOG_G``, ``FE_H``, ``SPECTYPE``."""
    if not path.lower().endswith((".fits", ".fit", ".fits.gz")):
        return False
    from astropy.io import fits

    header = fits.getheader(path, 0)
    return header.get("NAXIS") == 1 and all(k in header for k in ("TEFF", "LOG_G", "FE_H", "SPECTYPE"))


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def read_stelib(
    path: str | os.PathLike | bytes,
    name: str | None = None,
    max_snr: float = MAX_SNR,
) -> list[Spectrum]:
    """Read one STELIB spectrum.

    Parameters
    ----------
    path : path-like or bytes
        The FITS file (or its bytes, with ``name`` giving the file name).
    name : str, optional
        File name when ``path`` is bytes.
    max_snr : float
        Cap of the DER_SNR noise model.

    Returns
    -------
    list of Spectrum
        One spectrum: vacuum wavelengths, frame ``"rest"``, ``lsf_fwhm`` = :data:`FWHM`,
        pixels without data (flux ≤ 0 at the ends) masked; the header labels in
        ``meta["reference"]``.
    """
    from astropy.io import fits

    fname = name or (os.fspath(path) if not isinstance(path, bytes) else "stelib.fits")
    source = io.BytesIO(path) if isinstance(path, bytes) else os.fspath(path)
    with fits.open(source, memmap=False, output_verify="silentfix") as hdul:
        header = hdul[0].header
        flux = np.asarray(hdul[0].data, dtype=float).ravel()
    for key in ("CRVAL1", "CDELT1"):
        if key not in header:
            raise SpectrumError(f"{fname}: no {key} in the STELIB header")
    pix = np.arange(flux.size, dtype=float) + 1.0 - float(header.get("CRPIX1", 1.0))
    air = float(header["CRVAL1"]) + float(header["CDELT1"]) * pix
    empty = ~np.isfinite(flux) | (flux <= 0)
    snr = min(der_snr(flux[~empty]), max_snr)
    obj = str(header.get("OBJECT", header.get("STARIDEN", ""))).strip()
    meta = {
        "file": fname,
        "library": "STELIB",
        "name": f"STELIB {obj}",
        "snr_model": snr,
        "reference": {
            "teff": _number(header.get("TEFF")),
            "logg": _number(header.get("LOG_G")),
            "m_h": _number(header.get("FE_H")),
            "v_rad": _number(header.get("RADVEL")),
            "spectral_type": str(header.get("SPECTYPE", "")).strip(),
            "star": obj,
        },
    }
    spectrum = Spectrum(
        air_to_vacuum(air),
        flux,
        ivar_from_snr(flux, snr),
        lsf_fwhm=np.full(flux.size, FWHM),
        pixel_mask=empty,
        meta=meta,
        frame="rest",
    )
    return [spectrum]


register_reader("stelib", identify_stelib, read_stelib, "STELIB v3.2 stellar library spectrum (FITS)")
