"""The results table: ``ZetaPayne`` rows (with the source's ``sdss_id``) as FITS or CSV.

The FITS table carries each column's help text as its ``TTYPE`` comment and the model's
``#>`` headings as header sections, as ASTRA's summary files do.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy.io import fits
from peewee import JOIN, DateTimeField, Field, FloatField, TextField

from zeta_payne.astra import compat
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.standin.fields import FloatArrayField
from zeta_payne.fitting.flags import flag_names
from zeta_payne.io.sdss.fitsutil import atomic_write, utc_now

__all__ = ["result_rows", "write_results"]


def _fields() -> list[Field]:
    return [f for f in ZetaPayne._meta.sorted_fields if f.name != "v_astra_major_minor"]


def result_rows(instrument: str | None = None, all_versions: bool = False) -> tuple[list[str], list[dict]]:
    """Columns and rows of the results (current ASTRA major.minor version unless ``all_versions``).

    Returns
    -------
    columns : list of str
    rows : list of dict
        Values as stored (``None`` for NULL), ``chebyshev_coeffs`` as arrays.
    """
    source = compat.Source
    fields = _fields()
    query = (
        ZetaPayne.select(*fields, source.sdss_id)
        .join(source, JOIN.LEFT_OUTER, on=(ZetaPayne.source_pk == source.pk))
        .order_by(ZetaPayne.spectrum_pk, ZetaPayne.task_pk)
    )
    if instrument:
        query = query.where(ZetaPayne.instrument == instrument)
    if not all_versions:
        query = query.where(ZetaPayne.v_astra_major_minor == compat.current_v_astra() // 1000)
    rows = []
    for row in query.dicts():
        row["flag_names"] = ",".join(flag_names(int(row.get("result_flags") or 0)))
        rows.append(row)
    columns = ["sdss_id", *[f.name for f in fields], "flag_names"]
    return columns, rows


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, np.ndarray):
        return json.dumps([None if not np.isfinite(v) else float(v) for v in value])
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _fits_column(name: str, field: Field | None, values: list[Any]) -> fits.Column:
    if isinstance(field, FloatArrayField):
        width = max([len(v) for v in values if v is not None] or [1])
        array = np.full((len(values), width), np.nan)
        for i, v in enumerate(values):
            if v is not None:
                array[i, : len(v)] = v
        return fits.Column(name=name, format=f"{width}D", array=array)
    if isinstance(field, DateTimeField):
        text = [v.isoformat() if isinstance(v, datetime.datetime) else str(v or "") for v in values]
        return fits.Column(name=name, format="A26", array=np.array(text))
    if isinstance(field, FloatField):
        return fits.Column(
            name=name, format="E", array=np.array([np.nan if v is None else v for v in values])
        )
    if isinstance(field, TextField) or field is None and name == "flag_names":
        text = [str(v or "") for v in values]
        width = max([len(t) for t in text] or [1]) or 1
        return fits.Column(name=name, format=f"A{width}", array=np.array(text))
    array = np.array([-1 if v is None else int(v) for v in values], dtype=np.int64)
    return fits.Column(name=name, format="K", array=array)


def _results_hdu(columns: Sequence[str], rows: Sequence[dict]) -> fits.BinTableHDU:
    by_name = {f.name: f for f in _fields()}
    cols = [_fits_column(name, by_name.get(name), [r.get(name) for r in rows]) for name in columns]
    hdu = fits.BinTableHDU.from_columns(cols, name="ZETA_PAYNE")
    help_texts = {"sdss_id": "SDSS-5 unique identifier", "flag_names": "Names of the set result flags"}
    for i, name in enumerate(columns, start=1):
        text = help_texts.get(name) or getattr(by_name.get(name), "help_text", None) or ""
        hdu.header.comments[f"TTYPE{i}"] = text[:47]
    for heading, first in compat.category_headers(ZetaPayne):
        if first in columns:
            key = f"TTYPE{list(columns).index(first) + 1}"
            hdu.header.insert(key, ("", ""))
            hdu.header.insert(key, ("", heading))
            hdu.header.insert(key, ("", ""))
    hdu.header["V_ASTRA"] = (compat.astra_version, "Astra version")
    hdu.header["CREATED"] = (utc_now(), "File creation time (UTC)")
    return hdu


def write_results(path: str | os.PathLike, columns: Sequence[str], rows: Sequence[dict]) -> str:
    """Write the results as FITS (``.fits``, ``.fits.gz``) or CSV (anything else)."""
    path = os.fspath(path)
    if path.lower().endswith((".fits", ".fits.gz", ".fit")):
        return atomic_write(fits.HDUList([fits.PrimaryHDU(), _results_hdu(columns, rows)]), path)
    import csv

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row.get(c)) for c in columns])
    return path
