"""The stand-in ``Spectrum`` registry and the base of the concrete spectrum models."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
from peewee import AutoField, DateTimeField, FloatField, ForeignKeyField, IntegerField, TextField

from zeta_payne.astra.standin.base import BaseModel
from zeta_payne.astra.standin.fields import BitField
from zeta_payne.astra.standin.source import Source

__all__ = ["Spectrum", "SpectrumMixin", "SpectrumModel"]


class Spectrum(BaseModel):
    """Global registry of spectra: every concrete spectrum row points at one ``pk`` here."""

    pk = AutoField(primary_key=True)
    spectrum_flags = BitField(default=0)


class SpectrumMixin:
    """Behaviour shared by the concrete spectrum models."""

    @property
    def e_flux(self) -> np.ndarray:
        """1σ flux uncertainty, ``ivar**-0.5`` (inf where ivar is 0), shape (N,)."""
        with np.errstate(divide="ignore"):
            return np.asarray(self.ivar, dtype=float) ** -0.5

    def load_pixels(self) -> dict[str, Any]:
        """Read every pixel array from the data product (called on first access)."""
        raise NotImplementedError

    def sdss_path(self) -> str:
        """The SAS path template of the data product (``$VARIABLES`` unexpanded)."""
        raise NotImplementedError

    @property
    def path(self) -> str:
        """The data product: ``file_path`` when set (local files), else the SAS path."""
        return self.file_path or self.sdss_path()


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class SpectrumModel(BaseModel, SpectrumMixin):
    """Columns every concrete stand-in spectrum model has (no table of its own)."""

    pk = AutoField()

    #> Identifiers
    spectrum_pk = ForeignKeyField(
        Spectrum,
        null=True,
        index=True,
        unique=True,
        lazy_load=False,
        column_name="spectrum_pk",
        backref="+",
        help_text="Unique spectrum primary key",
    )
    source = ForeignKeyField(
        Source, null=True, index=True, column_name="source_pk", backref="+", help_text="Source primary key"
    )

    #> Data Product Keywords
    release = TextField(null=True, help_text="SDSS release")
    filetype = TextField(null=True, help_text="SDSS file type")
    telescope = TextField(null=True, help_text="Telescope (apo25m, lco25m, apo1m)")
    file_path = TextField(null=True, help_text="Local path of the data product (overrides the SAS path)")
    row_index = IntegerField(default=0, help_text="Row of the spectrum in its extension")

    #> Metadata
    snr = FloatField(null=True, help_text="Signal-to-noise ratio")
    created = DateTimeField(default=datetime.datetime.now)
    modified = DateTimeField(default=datetime.datetime.now)
# fmt: on
