"""Loading classifier probabilities: the routing input ASTRA ``dev`` itself does not make.

ASTRA ``dev`` has no classifier model, so nothing in production writes the
``spectrum_classification`` rows the plugin routes on. This loads them from a table that a
classifier (or a person) wrote: CSV or a FITS binary table with

* ``spectrum_pk`` — one spectrum, or
* ``sdss_id`` — every spectrum of that source (narrowed by an optional ``instrument``
  column, ``boss`` or ``apogee``),

and ``p_<class>`` columns for some of the classes ``cv, fgkm, oba, wd, sb2, yso`` (missing
classes count as 0; the probabilities are normalised). Loading the same spectra again
replaces their rows. Works the same with real ASTRA and the stand-in.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zeta_payne.astra import compat
from zeta_payne.astra.classification import CLASSES, classification_values
from zeta_payne.astra.convert import instrument_of
from zeta_payne.astra.database import present_models
from zeta_payne.astra.standin.task import bulk_upsert
from zeta_payne.exceptions import ZetaPayneError

__all__ = ["ClassifyReport", "load_classifications", "read_probability_table"]


@dataclass
class ClassifyReport:
    """What a load did."""

    rows: int = 0
    classified: int = 0
    unmatched: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line."""
        return (
            f"{self.rows} table rows: {self.classified} spectra classified, {len(self.unmatched)} rows "
            f"matched no spectrum, {len(self.invalid)} rows invalid"
        )


def read_probability_table(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of a CSV or FITS table of class probabilities (see the module docstring).

    Raises
    ------
    ZetaPayneError
        Unreadable, or without an identifier column or any ``p_<class>`` column.
    """
    from astropy.table import Table

    name = os.fspath(path)
    try:
        fmt = "ascii.csv" if name.lower().endswith((".csv", ".txt")) else None
        table = Table.read(name, format=fmt) if fmt else Table.read(name)
    except Exception as exc:
        raise ZetaPayneError(f"{name}: cannot read the table ({type(exc).__name__}: {exc})") from exc
    columns = {c.lower(): c for c in table.colnames}
    if "spectrum_pk" not in columns and "sdss_id" not in columns:
        have = ", ".join(table.colnames)
        raise ZetaPayneError(f"{name}: needs a spectrum_pk or an sdss_id column (has {have})")
    if not any(f"p_{c}" in columns for c in CLASSES):
        raise ZetaPayneError(f"{name}: needs p_<class> columns for some of {', '.join(CLASSES)}")
    rows = []
    for record in table:
        rows.append({key: _scalar(record[original]) for key, original in columns.items()})
    return rows


def _scalar(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode()
    return value.strip() if isinstance(value, str) else value


def _spectra_of(row: Mapping[str, Any], models: Iterable[type]) -> list[Any]:
    instrument = str(row.get("instrument") or "").strip().lower() or None
    if row.get("spectrum_pk") not in (None, ""):
        pk = int(row["spectrum_pk"])
        found = [m.get_or_none(m.spectrum_pk == pk) for m in models]
        return [s for s in found if s is not None]
    sdss_id = int(row["sdss_id"])
    source = compat.Source
    out: list[Any] = []
    for model in models:
        if instrument and instrument_of(model) != instrument:
            continue
        query = model.select().join(source, on=(model.source == source.pk)).where(source.sdss_id == sdss_id)
        out.extend(query)
    return out


def load_classifications(rows: Iterable[Mapping[str, Any]]) -> ClassifyReport:
    """Write a ``SpectrumClassification`` row per matched spectrum (replacing older ones)."""
    report = ClassifyReport()
    models = present_models(compat.SPECTRUM_MODELS)
    model = compat.SpectrumClassification
    pending: list[Any] = []
    for row in rows:
        report.rows += 1
        label = f"spectrum_pk={row.get('spectrum_pk')}" if row.get("spectrum_pk") not in (None, "") else (
            f"sdss_id={row.get('sdss_id')}"
        )
        try:
            probabilities = {
                c: float(row[f"p_{c}"]) for c in CLASSES
                if row.get(f"p_{c}") not in (None, "") and math.isfinite(float(row[f"p_{c}"]))
            }
            values = classification_values(probabilities)
            spectra = _spectra_of(row, models)
        except (TypeError, ValueError) as exc:
            report.invalid.append(f"{label}: {exc}")
            continue
        if not spectra:
            report.unmatched.append(label)
            continue
        pending.extend(model.from_spectrum(s, **values) for s in spectra)
    database = model._meta.database
    for start in range(0, len(pending), 500):
        with database.atomic():
            report.classified += len(bulk_upsert(pending[start : start + 500]))
    return report
