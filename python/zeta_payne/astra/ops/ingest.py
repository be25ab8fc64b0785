"""Registering SDSS spectrum files in the database (for files loaded outside ASTRA).

Each spectrum found in a file (:func:`zeta_payne.io.sdss.describe_file`) gets a ``Source``
(matched on ``sdss_id``, else ``catalogid``), a ``Spectrum`` registry row and a row of its
spectrum model. Ingesting a file again updates that row; if the file changed since (its
mtime is newer than the row's ``modified``) ``modified`` is bumped so the spectrum is
refitted. Optionally a ``SpectrumClassification`` row is written per spectrum.

Where the row says the file is:

* the stand-in's spectrum models have a ``file_path`` column: the row points at the file
  where it is;
* real ASTRA's models locate their data product by a fixed path template (mwmStar:
  ``$MWM_ASTRA/<v_astra>/spectra/star/<NN>/<NN>/mwmStar-<v_astra>-<sdss_id>.fits``). A file
  that is not already there is linked there (a symbolic link under ``$MWM_ASTRA``, given as
  ``product_root`` or taken from the environment). Only models whose every NOT NULL column
  the file carries can be registered this way — with ASTRA ``dev`` the mwmStar spectra
  (``BossCombinedSpectrum``, ``ApogeeCombinedSpectrum``) and APOGEE mwmVisit rows; the rest
  (BOSS mwmVisit rows need their ``BossVisitSpectrum``, apStar visits their apVisit) are
  refused with the reason, to be loaded by ASTRA's own migrations.
"""

from __future__ import annotations

import csv
import datetime
import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peewee import AutoField, BigIntegerField, FloatField, ForeignKeyField, IntegerField, TextField

from zeta_payne.astra import compat
from zeta_payne.astra.classification import CLASSES, classification_values
from zeta_payne.astra.standin.task import bulk_upsert
from zeta_payne.exceptions import SpectrumError, ZetaPayneError
from zeta_payne.io.sdss import SpectrumRecord, describe_file
from zeta_payne.io.sdss.paths import expand_path

__all__ = [
    "IngestRefused",
    "IngestReport",
    "class_probabilities",
    "classify",
    "ingest_files",
    "read_classification_table",
]

log = logging.getLogger(__name__)

#: Spectrum model classes by name.
MODELS: dict[str, type] = {model.__name__: model for model in compat.SPECTRUM_MODELS}


class IngestRefused(ZetaPayneError):
    """A spectrum cannot be registered as a row of its model (the message says why)."""


@dataclass
class IngestReport:
    """What an ingestion did."""

    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    classified: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    spectra: list[Any] = field(default_factory=list)

    def summary(self) -> str:
        """One line."""
        return (
            f"{self.files} files: {self.created} new spectra, {self.updated} updated, {self.unchanged} "
            f"unchanged, {self.classified} classified, {len(self.errors)} skipped (unreadable or "
            "not registrable)"
        )


def class_probabilities(name: str) -> dict[str, float]:
    """Probabilities that make ``name`` the one likely class (every other class 0)."""
    if name not in CLASSES:
        raise ValueError(f"unknown class {name!r}; known: {', '.join(CLASSES)}")
    return {c: float(c == name) for c in CLASSES}


def read_classification_table(path: str | os.PathLike) -> dict[tuple[str, str], dict[str, float]]:
    """Classifier probabilities from a CSV with ``file``, ``instrument`` and ``p_<class>`` columns.

    Returns ``{(file basename, instrument): {class: p}}``.
    """
    out: dict[tuple[str, str], dict[str, float]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            probs = {c: float(row[f"p_{c}"]) for c in CLASSES if row.get(f"p_{c}") not in (None, "")}
            if probs:
                out[(os.path.basename(row["file"]), row["instrument"].strip().lower())] = probs
    return out


_INT64 = 2**63 - 1


def _coerce(field: Any, value: Any) -> Any:
    """``value`` as the column type of ``field`` wants it, or ``None`` when it cannot be
    (a header card ``SDSS_ID = 'abc'`` or ``1E30``, a NaN ``SNR``): files are untrusted."""
    if isinstance(field, (IntegerField, BigIntegerField)) and not isinstance(field, AutoField):
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            return None
        limit = _INT64 if isinstance(field, BigIntegerField) else 2**31 - 1
        return number if -limit <= number <= limit and float(value) == number else None
    if isinstance(field, FloatField):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None
    if isinstance(field, TextField):
        return str(value)[:1000]
    return value


def _model_values(model: type, keywords: Mapping[str, Any]) -> dict[str, Any]:
    fields = model._meta.fields
    out = {}
    for key, value in keywords.items():
        if key in fields and value is not None and key != "source":
            value = _coerce(fields[key], value)
            if value is None:
                kind = type(fields[key]).__name__
                log.warning("ignoring %s = %r: not a valid %s", key, keywords[key], kind)
                continue
            out[key] = value
    return out


def _source_for(keywords: Mapping[str, Any]) -> Any:
    source = compat.Source
    row = None
    values = _model_values(source, keywords)
    if values.get("sdss_id") is not None:
        row = source.get_or_none(source.sdss_id == values["sdss_id"])
    elif values.get("catalogid") is not None:
        row = source.get_or_none(source.catalogid == values["catalogid"])
    programs = keywords.get("programs")
    if programs and "sdss5_programs" in source._meta.fields:
        names = [p.strip() for p in str(programs).replace(";", ",").split(",") if p.strip()]
        values["sdss5_programs"] = "," + ",".join(names) + ","
    if row is None:
        return source.create(**values)
    if values:
        source.update(**values).where(source.pk == row.pk).execute()
    return row


def required_columns(model: type) -> list[str]:
    """NOT NULL columns of ``model`` without a default (what a new row must be given)."""
    return [
        f.name
        for f in model._meta.sorted_fields
        if not f.null and f.default is None and not isinstance(f, AutoField)
    ]


#: Columns that identify a spectrum's row among its model's rows, where the model has them.
IDENTITY_COLUMNS: tuple[str, ...] = (
    "sdss_id", "telescope", "filetype", "v_astra", "release", "run2d", "apred", "obj", "mjd",
    "fieldid", "catalogid", "plate", "fiber",
)


def _checked_values(model: type, record: SpectrumRecord) -> dict[str, Any]:
    values = _model_values(model, record.keywords)
    required = [n for n in required_columns(model) if n not in ("spectrum_pk", "source")]
    links = [n for n in required if isinstance(model._meta.fields[n], ForeignKeyField)]
    if links:
        raise IngestRefused(
            f"{record.path}: a {model.__name__} row needs the {', '.join(links)} it was made from; "
            "load it with ASTRA's own migrations"
        )
    missing = [n for n in required if values.get(n) is None]
    if missing:
        raise IngestRefused(
            f"{record.path}: {model.__name__} needs {', '.join(missing)}, which the file does not carry "
            f"({record.instrument} extension {record.hdu})"
        )
    return values


def _product_location(model: type, values: Mapping[str, Any], record: SpectrumRecord) -> str:
    """Put the file where ``model``'s path template says it is (a link); that path."""
    try:
        template = model(**values).path
    except Exception as exc:
        raise IngestRefused(f"{record.path}: cannot form the {model.__name__} path: {exc}") from exc
    unset = [v for v in ("MWM_ASTRA", "SAS_BASE_DIR") if f"${v}" in template and not os.environ.get(v)]
    target = expand_path(template) if not unset else template
    if "$" in target:
        raise IngestRefused(
            f"{record.path}: {model.__name__} files live at {template}; set the variables it names "
            "(e.g. MWM_ASTRA, or --mwm-astra DIR) to register files"
        )
    source = os.path.abspath(record.path)
    if os.path.lexists(target):
        if os.path.exists(target) and os.path.samefile(target, source):
            return target
        raise IngestRefused(f"{record.path}: {target} exists and is another file")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.symlink(source, target)
    log.info("linked %s -> %s", target, source)
    return target


def _register(record: SpectrumRecord, report: IngestReport) -> Any:
    model = MODELS[record.kind]
    if not model.table_exists():
        raise IngestRefused(
            f"{record.path}: this database has no {model.__name__} table (with real ASTRA on SQLite "
            "the BOSS visit tables cannot exist: they need PostgreSQL)"
        )
    values = _checked_values(model, record)
    path = os.path.abspath(record.path)
    if "file_path" in model._meta.fields:  # the stand-in: the row points at the file
        values.update(file_path=path, row_index=record.row)
        where = (model.file_path == path) & (model.row_index == record.row)
        where &= model.telescope == values.get("telescope")
    else:  # real ASTRA: the file goes where the model's path template says
        path = _product_location(model, values, record)
        where = None
        for name in IDENTITY_COLUMNS:
            if name in model._meta.fields and values.get(name) is not None:
                term = getattr(model, name) == values[name]
                where = term if where is None else where & term
    existing = model.get_or_none(where)
    if existing is None:
        source = _source_for(record.keywords)
        registry = compat.Spectrum.create()
        row = model.create(spectrum_pk=registry.pk, source=source.pk, **values)
        report.created += 1
        return row
    mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path))
    if mtime > existing.modified:
        values["modified"] = datetime.datetime.now()
        report.updated += 1
    else:
        report.unchanged += 1
    model.update(**values).where(model.pk == existing.pk).execute()
    return model.get_by_id(existing.pk)


def classify(spectra: Iterable[Any], probabilities: Mapping[str, float]) -> int:
    """Write (or replace) a ``SpectrumClassification`` row with ``probabilities`` for each spectrum."""
    model = compat.SpectrumClassification
    values = classification_values(probabilities)
    rows = [model.from_spectrum(s, **values) for s in spectra]
    return len(bulk_upsert(rows)) if rows else 0


def ingest_files(
    paths: Iterable[str | os.PathLike],
    chosen_class: str | None = None,
    classifications: Mapping[tuple[str, str], Mapping[str, float]] | None = None,
    product_root: str | os.PathLike | None = None,
) -> IngestReport:
    """Register the spectra of SDSS files (see the module docstring).

    Parameters
    ----------
    paths : iterable of path-like
        mwmStar/mwmVisit, apStar, apVisit or BOSS spec files.
    chosen_class : str, optional
        Write a classifier row making this class the most likely (``--class oba``).
    classifications : mapping, optional
        ``{(file basename, instrument): {class: p}}`` classifier rows to write (these win
        over ``chosen_class``).
    product_root : path-like, optional
        ``$MWM_ASTRA``, where real ASTRA's models find mwm products (set in the process
        environment, as ASTRA reads it from there when it loads pixels).

    Unreadable files and spectra that cannot be registered (:class:`IngestRefused`) are
    reported in ``errors`` and skipped; the rest of the file and the other files go on.
    """
    if product_root is not None:
        os.environ["MWM_ASTRA"] = os.path.abspath(os.fspath(product_root))
    report = IngestReport()
    default = class_probabilities(chosen_class) if chosen_class else None
    database = compat.Spectrum._meta.database
    for path in paths:
        report.files += 1
        try:
            records = describe_file(path)
        except SpectrumError as exc:
            log.warning("%s", exc)
            report.errors.append((os.fspath(path), str(exc)))
            continue
        for record in records:
            try:
                with database.atomic():
                    row = _register(record, report)
                    key = (os.path.basename(record.path), record.instrument)
                    probs = (classifications or {}).get(key, default)
                    if probs:
                        report.classified += classify([row], probs)
            except IngestRefused as exc:
                log.warning("%s", exc)
                report.errors.append((os.fspath(path), str(exc)))
                continue
            report.spectra.append(row)
    return report
