"""The stand-in models of spectra in ASTRA's mwmStar / mwmVisit files (rest frame)."""

from __future__ import annotations

from typing import Any

from peewee import BigIntegerField, IntegerField, TextField

from zeta_payne.astra.standin.fields import PixelArray
from zeta_payne.astra.standin.spectrum import SpectrumModel
from zeta_payne.io.sdss.layout import mwm_hdu
from zeta_payne.io.sdss.mwm import load_mwm_pixels
from zeta_payne.io.sdss.paths import mwm_path

__all__ = [
    "ApogeeCombinedSpectrum",
    "ApogeeRestFrameVisitSpectrum",
    "BossCombinedSpectrum",
    "BossRestFrameVisitSpectrum",
]


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class _MwmSpectrum(SpectrumModel):
    """Columns and loading shared by the four mwm spectrum models."""

    #> Data Product Keywords
    v_astra = TextField(null=True, help_text="ASTRA version of the mwm file")
    sdss_id = BigIntegerField(null=True, index=True, help_text="SDSS-5 unique identifier")
    healpix = IntegerField(null=True, help_text="HEALPix (128 side)")
    min_mjd = IntegerField(null=True, help_text="First MJD")
    max_mjd = IntegerField(null=True, help_text="Last MJD")

    _instrument = "boss"
    _filetype = "mwmStar"

    def sdss_path(self) -> str:
        return mwm_path(self.filetype or self._filetype, self.v_astra, int(self.sdss_id or 0))

    def load_pixels(self) -> dict[str, Any]:
        hdu = mwm_hdu(self._instrument, self.telescope or "apo25m")
        return load_mwm_pixels(self.absolute_path, hdu, self.row_index or 0)
# fmt: on


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class _BossMwm(_MwmSpectrum):
    run2d = TextField(null=True, help_text="BOSS reduction pipeline version")

    #> Spectral Data
    wavelength = PixelArray(help_text="Vacuum wavelength [Angstrom]")
    flux = PixelArray(help_text="Flux [10^-17 erg/s/cm^2/Angstrom]")
    ivar = PixelArray(help_text="Inverse variance of flux")
    wresl = PixelArray(help_text="LSF FWHM [Angstrom]")
    pixel_flags = PixelArray(help_text="Pixel flags")
    continuum = PixelArray(help_text="NMF continuum")
# fmt: on


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class _ApogeeMwm(_MwmSpectrum):
    apred = TextField(null=True, help_text="APOGEE reduction pipeline version")
    obj = TextField(null=True, help_text="APOGEE object name")

    #> Spectral Data
    wavelength = PixelArray(help_text="Vacuum wavelength [Angstrom]")
    flux = PixelArray(help_text="Flux [10^-17 erg/s/cm^2/Angstrom]")
    ivar = PixelArray(help_text="Inverse variance of flux")
    pixel_flags = PixelArray(help_text="Pixel flags")
    continuum = PixelArray(help_text="NMF continuum")

    _instrument = "apogee"
# fmt: on


class BossCombinedSpectrum(_BossMwm):
    """A BOSS coadd in an mwmStar file."""

    _filetype = "mwmStar"


class BossRestFrameVisitSpectrum(_BossMwm):
    """A BOSS visit in an mwmVisit file (rest frame)."""

    _filetype = "mwmVisit"


class ApogeeCombinedSpectrum(_ApogeeMwm):
    """An APOGEE coadd in an mwmStar file."""

    _filetype = "mwmStar"


class ApogeeRestFrameVisitSpectrum(_ApogeeMwm):
    """An APOGEE visit in an mwmVisit file (rest frame)."""

    _filetype = "mwmVisit"
