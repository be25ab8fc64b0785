"""The stand-in ``Source``: an astrophysical object with its identifiers."""

from __future__ import annotations

import datetime

from peewee import AutoField, BigIntegerField, DateTimeField, Expression, FloatField, IntegerField, TextField
from playhouse.hybrid import hybrid_method

from zeta_payne.astra.standin.base import BaseModel

__all__ = ["Source"]


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class Source(BaseModel):
    """An astronomical source (a subset of ASTRA's columns)."""

    pk = AutoField(primary_key=True)

    #> Identifiers
    sdss_id = BigIntegerField(index=True, unique=True, null=True, help_text="SDSS-5 unique identifier")
    sdss4_apogee_id = TextField(index=True, null=True, help_text="SDSS-4 APOGEE identifier")
    gaia_dr3_source_id = BigIntegerField(null=True, help_text="Gaia DR3 source identifier")
    catalogid = BigIntegerField(null=True, index=True, help_text="SDSS-V catalog identifier")
    healpix = IntegerField(null=True, help_text="HEALPix (128 side)")

    #> Targeting Provenance
    sdss5_programs = TextField(null=True, help_text="Targeting programs of the source's cartons, as ',a,b,'")

    #> Astrometry
    ra = FloatField(null=True, help_text="Right ascension [deg]")
    dec = FloatField(null=True, help_text="Declination [deg]")

    created = DateTimeField(default=datetime.datetime.now)
    modified = DateTimeField(default=datetime.datetime.now)

    @hybrid_method
    def assigned_to_program(self, program: str) -> bool:
        """Whether the source is a target of a carton in ``program`` (bool, or SQL on the class)."""
        return f",{program}," in (self.sdss5_programs or "")

    @assigned_to_program.expression
    def assigned_to_program(cls, program: str) -> Expression:  # noqa: N805
        return cls.sdss5_programs.contains(f",{program},")
# fmt: on
