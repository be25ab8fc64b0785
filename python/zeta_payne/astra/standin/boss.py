"""The stand-in BOSS visit spectrum (a BOSS pipeline specFull/spec-lite file)."""

from __future__ import annotations

from typing import Any

from peewee import BigIntegerField, FloatField, IntegerField, TextField

from zeta_payne.astra.standin.fields import PixelArray
from zeta_payne.astra.standin.spectrum import SpectrumModel
from zeta_payne.io.sdss.boss_spec import load_boss_spec_pixels

__all__ = ["BossVisitSpectrum"]


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class BossVisitSpectrum(SpectrumModel):
    """A BOSS coadd of one visit (heliocentric frame)."""

    #> Related Data Product Keywords
    run2d = TextField(null=True, help_text="BOSS reduction pipeline version")
    mjd = IntegerField(null=True, help_text="Modified Julian date of the observation")
    fieldid = IntegerField(null=True, help_text="Field identifier")
    catalogid = BigIntegerField(null=True, help_text="SDSS-V catalog identifier")
    healpix = IntegerField(null=True, help_text="HEALPix (128 side)")
    spec_file = TextField(null=True, help_text="BOSS specFull basename")
    xcsao_v_rad = FloatField(null=True, help_text="Radial velocity from XCSAO [km/s]")

    #> Spectral Data
    wavelength = PixelArray(help_text="Vacuum wavelength [Angstrom]")
    flux = PixelArray(help_text="Flux [10^-17 erg/s/cm^2/Angstrom]")
    ivar = PixelArray(help_text="Inverse variance of flux")
    wresl = PixelArray(help_text="LSF FWHM [Angstrom]")
    pixel_flags = PixelArray(help_text="Pixel flags (or_mask)")

    def sdss_path(self) -> str:
        return (
            f"$BOSS_SPECTRO_REDUX/{self.run2d}/spectra/full/{int(self.fieldid or 0):0>6d}/{self.mjd}/"
            f"spec-{int(self.fieldid or 0):0>6d}-{self.mjd}-{self.catalogid}.fits"
        )

    def load_pixels(self) -> dict[str, Any]:
        return load_boss_spec_pixels(self.absolute_path)
# fmt: on
