"""The stand-in ``PipelineOutputModel``: the columns every pipeline result row has."""

from __future__ import annotations

import datetime
from typing import Any

from peewee import SQL, AutoField, DateTimeField, FloatField, ForeignKeyField, IntegerField, TextField

from zeta_payne.astra.standin import version
from zeta_payne.astra.standin.base import BaseModel
from zeta_payne.astra.standin.source import Source
from zeta_payne.astra.standin.spectrum import Spectrum

__all__ = ["PipelineOutputModel", "current_v_astra"]


def current_v_astra() -> int:
    """``v_astra`` of rows written now (the stand-in's version as an integer)."""
    return version.version_string_to_integer(version.__version__)


# ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.


# fmt: off
class PipelineOutputModel(BaseModel):
    """Base of pipeline outputs: one row per (spectrum, ASTRA major.minor version)."""

    source_pk = ForeignKeyField(
        Source,
        null=True,
        index=True,
        lazy_load=False,
        column_name="source_pk",
        on_delete="CASCADE",
        backref="+",
    )
    spectrum_pk = ForeignKeyField(
        Spectrum, index=True, lazy_load=False, column_name="spectrum_pk", on_delete="CASCADE", backref="+"
    )

    #> Astra Metadata
    task_pk = AutoField()
    v_astra = IntegerField(default=current_v_astra, help_text="Astra version (integer)")
    created = DateTimeField(default=datetime.datetime.now, help_text="When the task record was created")
    modified = DateTimeField(default=datetime.datetime.now, help_text="When the task record was updated")
    t_elapsed = FloatField(null=True, help_text="Core-time spent on this spectrum [s]")
    t_overhead = FloatField(null=True, help_text="Shared overhead attributed to this spectrum [s]")
    tag = TextField(default="", index=True, help_text="Experiment tag")
    v_astra_major_minor = IntegerField(
        constraints=[SQL("GENERATED ALWAYS AS (v_astra / 1000) STORED")], _hidden=True
    )

    class Meta:
        constraints = [SQL("UNIQUE (spectrum_pk, v_astra_major_minor)")]

    @classmethod
    def from_spectrum(cls, spectrum: Any, **kwargs: Any) -> PipelineOutputModel:
        """A row for ``spectrum`` (its ``spectrum_pk`` and ``source_pk`` filled in)."""
        for key in ("spectrum_pk", "source_pk"):
            given = kwargs.pop(key, None)
            actual = getattr(spectrum, key, None)
            if given is not None and actual is not None and given != actual:
                raise ValueError(f"{key} mismatch: spectrum has {actual}, argument {given}")
        return cls(
            spectrum_pk=getattr(spectrum, "spectrum_pk", None),
            source_pk=getattr(spectrum, "source_pk", None),
            **kwargs,
        )
# fmt: on
