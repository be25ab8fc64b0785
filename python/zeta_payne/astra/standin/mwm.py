"""The stand-in models of spectra in ASTRA's mwmStar / mwmVisit files (rest frame)."""

from __future__ import annotations

from typing import Any

from peewee import BigIntegerField, ForeignKeyField, IntegerField, TextField

from zeta_payne.astra.standin.fields import PixelArray
from zeta_payne.astra.standin.spectrum import Spectrum, SpectrumModel
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
    # ASTRA's BOSS mwm models name this column spectrum_pk_id (peewee's default), unlike
    # every other spectrum table: mirrored, so that raw SQL written against the stand-in holds.
    spectrum_pk = ForeignKeyField(
        Spectrum, null=True, index=True, unique=True, lazy_load=False, backref="+",
        help_text="Unique spectrum primary key",
    )
    run2d = TextField(null=True, help_text="BOSS reduction pipeline version")

    #> Spectral Data
    wavelength = PixelArray(help_text="Vacuum wavelength [Angstrom]")
    flux = PixelArray(help_text="Flux [10^-17 erg/s/cm^2/Angstrom]")
    ivar = PixelArray(help_text="Inverse variance of flux")
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


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class BossCombinedSpectrum(_BossMwm):
    """A BOSS coadd in an mwmStar file.

    As ASTRA's: ``release``, ``sdss_id``, ``run2d`` and ``telescope`` are NOT NULL, and there
    is no ``wresl`` pixel array (the plugin reads the LSF from the file).
    """

    #> Data Product Keywords
    release = TextField(help_text="SDSS release")
    sdss_id = BigIntegerField(index=True, help_text="SDSS-5 unique identifier")
    run2d = TextField(help_text="BOSS reduction pipeline version")
    telescope = TextField(index=True, help_text="Telescope (apo25m, lco25m)")
    min_mjd = IntegerField(null=True, help_text="First MJD")
    max_mjd = IntegerField(null=True, help_text="Last MJD")

    _filetype = "mwmStar"
# fmt: on


class BossRestFrameVisitSpectrum(_BossMwm):
    """A BOSS visit in an mwmVisit file (rest frame)."""

    mjd = IntegerField(null=True, help_text="MJD of the visit")
    wresl = PixelArray(help_text="LSF FWHM [Angstrom]")

    _filetype = "mwmVisit"


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class ApogeeCombinedSpectrum(_ApogeeMwm):
    """An APOGEE coadd in an mwmStar file.

    As ASTRA's: ``release``, ``healpix``, ``apred``, ``obj`` and ``telescope`` are NOT NULL.
    """

    #> Data Product Keywords
    release = TextField(help_text="SDSS release")
    healpix = IntegerField(help_text="HEALPix (128 side)")
    apred = TextField(help_text="APOGEE reduction pipeline version")
    obj = TextField(help_text="APOGEE object name")
    telescope = TextField(help_text="Telescope (apo1m, apo25m, lco25m)")
    min_mjd = IntegerField(null=True, help_text="First MJD")
    max_mjd = IntegerField(null=True, help_text="Last MJD")

    _filetype = "mwmStar"
# fmt: on


class ApogeeRestFrameVisitSpectrum(_ApogeeMwm):
    """An APOGEE visit in an mwmVisit file (rest frame)."""

    mjd = IntegerField(null=True, help_text="MJD of the visit")

    _filetype = "mwmVisit"
