"""The stand-in APOGEE spectrum models (apStar coadds and visits, apVisit files)."""

from __future__ import annotations

from typing import Any

from peewee import FloatField, IntegerField, TextField

from zeta_payne.astra.standin.fields import PixelArray
from zeta_payne.astra.standin.spectrum import SpectrumModel
from zeta_payne.io.sdss.apstar import load_apstar_pixels
from zeta_payne.io.sdss.apvisit import load_apvisit_pixels

__all__ = ["ApogeeCoaddedSpectrumInApStar", "ApogeeVisitSpectrum", "ApogeeVisitSpectrumInApStar"]


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class _ApStar(SpectrumModel):
    #> Data Product Keywords
    apred = TextField(null=True, help_text="APOGEE reduction pipeline version")
    obj = TextField(null=True, help_text="APOGEE object name")
    healpix = IntegerField(null=True, help_text="HEALPix (128 side)")
    field = TextField(null=True, help_text="APOGEE field")

    #> Spectral Data
    wavelength = PixelArray(help_text="Vacuum wavelength [Angstrom]")
    flux = PixelArray(help_text="Flux [10^-17 erg/s/cm^2/Angstrom]")
    ivar = PixelArray(help_text="Inverse variance of flux")
    pixel_flags = PixelArray(help_text="APOGEE_PIXMASK bits")

    def sdss_path(self) -> str:
        healpix = int(self.healpix or 0)
        return (
            f"$APOGEE_REDUX/{self.apred}/stars/{self.telescope}/{healpix // 1000}/{healpix}/"
            f"apStar-{self.apred}-{self.telescope}-{self.obj}.fits"
        )

    def load_pixels(self) -> dict[str, Any]:
        return load_apstar_pixels(self.absolute_path, self.row_index or 0)
# fmt: on


class ApogeeCoaddedSpectrumInApStar(_ApStar):
    """The coadd (row 0) of an apStar file (rest frame)."""


class ApogeeVisitSpectrumInApStar(_ApStar):
    """A visit resampled into an apStar file (rest frame)."""

    plate = TextField(null=True, help_text="Plate identifier")
    mjd = IntegerField(null=True, help_text="Modified Julian date of the visit")
    fiber = IntegerField(null=True, help_text="Fiber number")


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class ApogeeVisitSpectrum(SpectrumModel):
    """An apVisit file: one visit in the observed frame."""

    #> Data Product Keywords
    apred = TextField(null=True, help_text="APOGEE reduction pipeline version")
    plate = TextField(null=True, help_text="Plate identifier")
    field = TextField(null=True, help_text="APOGEE field")
    fiber = IntegerField(null=True, help_text="Fiber number")
    mjd = IntegerField(null=True, help_text="Modified Julian date of the visit")
    obj = TextField(null=True, help_text="APOGEE object name")
    v_rad = FloatField(null=True, help_text="Heliocentric radial velocity [km/s]")

    #> Spectral Data
    wavelength = PixelArray(help_text="Vacuum wavelength [Angstrom]")
    flux = PixelArray(help_text="Flux [10^-17 erg/s/cm^2/Angstrom]")
    ivar = PixelArray(help_text="Inverse variance of flux")
    pixel_flags = PixelArray(help_text="APOGEE_PIXMASK bits")

    def sdss_path(self) -> str:
        return (
            f"$APOGEE_REDUX/{self.apred}/visit/{self.telescope}/{self.field}/{self.plate}/{self.mjd}/"
            f"apVisit-{self.apred}-{self.telescope}-{self.plate}-{self.mjd}-{int(self.fiber or 0):0>3d}.fits"
        )

    def load_pixels(self) -> dict[str, Any]:
        return load_apvisit_pixels(self.absolute_path)
# fmt: on
