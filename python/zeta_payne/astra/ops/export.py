"""The results table: ``ZetaPayne`` rows (with the source's ``sdss_id``) as FITS, CSV or ECSV.

The FITS table carries units (``TUNITn``), display formats (``TDISPn``), each column's help
text (``TCOMMn`` and the ``TTYPE`` comment), the model's ``#>`` headings as header sections
(as ASTRA's summary files do), ``flag_bad``/``flag_warn`` and a ``flag_<name>`` column per
result-flag bit, the bit definitions and the bundles' provenance in the header.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from peewee import JOIN, Field

from zeta_payne.astra import compat
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.fitting.flags import ResultFlags, flag_names
from zeta_payne.io.sdss.fitsutil import utc_now

__all__ = ["export_columns", "result_rows", "write_results"]


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


def _descriptions(columns: Sequence[str], fits_file: bool) -> dict[str, str]:
    from zeta_payne.astra.model import flag_help

    by_name = {f.name: f for f in _fields()}
    out = {
        "sdss_id": "SDSS-5 unique identifier",
        "flag_names": "Names of the set result flags",
        "flag_bad": "Labels unusable (a bad result flag is set)",
        "flag_warn": "Labels need care (a warning result flag is set)",
    }
    for name in columns:
        if name.startswith("flag_") and name[5:] not in ("bad", "warn", "names"):
            try:
                out[name] = flag_help(name[5:])
            except KeyError:
                pass
        elif name in by_name and getattr(by_name[name], "help_text", None):
            out[name] = by_name[name].help_text
    if fits_file:
        out["chebyshev_coeffs"] = "Chebyshev response coefficients (NaN-padded)"
    else:
        out["chebyshev_coeffs"] = "Chebyshev response coefficients (JSON array)"
    return out


def _provenance(rows: Sequence[dict]) -> list[tuple[str, Any, str]]:
    """Header cards naming the bundles that made the rows (``BUNDLEn``, ``BSHA256n``)."""
    seen = sorted(
        {
            (
                str(r.get("instrument") or ""),
                str(r.get("bundle_name") or ""),
                str(r.get("bundle_version") or ""),
                str(r.get("bundle_sha256") or ""),
            )
            for r in rows
            if r.get("bundle_name")
        }
    )
    cards: list[tuple[str, Any, str]] = [("NBUNDLE", len(seen), "model bundles in this table")]
    for i, (instrument, name, version, sha) in enumerate(seen[:99], start=1):
        cards.append((f"BUNDLE{i}", f"{name}@{version}", f"bundle of {instrument or '?'} rows"))
        cards.append((f"BSHA{i}", sha, "sha256"))
    return cards


def export_columns(columns: Sequence[str]) -> list[str]:
    """The exported columns: ``columns`` with ``flag_bad``, ``flag_warn`` and one boolean
    ``flag_<name>`` per result-flag bit after ``result_flags``."""
    from zeta_payne.io.tables import flag_columns

    flags = list(flag_columns([0]))
    out = []
    for name in columns:
        if name in flags:
            continue
        out.append(name)
        if name == "result_flags":
            out.extend(flags)
    return out


def write_results(
    path: str | os.PathLike, columns: Sequence[str], rows: Sequence[dict], overwrite: bool = True
) -> str:
    """Write the results as FITS (``.fits``, ``.fits.gz``), CSV or ECSV (by the name).

    The table gets ``flag_bad``, ``flag_warn`` and a ``flag_<name>`` column per result-flag bit;
    FITS files carry units (``TUNITn``), display formats, column descriptions, the flag-bit
    definitions and the bundles' names, versions and hashes in the header
    (:func:`zeta_payne.io.tables.write_table`).

    Raises
    ------
    ZetaPayneError
        An unknown extension, or the file exists and not ``overwrite``.
    """
    from zeta_payne.astra.model import flag_help
    from zeta_payne.io.tables import check_output, flag_columns, table_format, write_table

    check_output(path, overwrite)
    flags = flag_columns([r.get("result_flags") for r in rows])
    full = [{**r, **{k: bool(v[i]) for k, v in flags.items()}} for i, r in enumerate(rows)]
    columns = export_columns(columns)
    header = [
        ("V_ASTRA", compat.astra_version, "Astra version"),
        ("CREATED", utc_now(), "File creation time (UTC)"),
        *_provenance(rows),
    ]
    names = {b.name.lower(): flag_help(b.name.lower()) for b in ResultFlags}
    sections = list(compat.category_headers(ZetaPayne))
    return write_table(
        path,
        columns,
        full,
        descriptions=_descriptions(columns, table_format(path) == "fits"),
        header=header,
        flag_descriptions=names,
        sections=sections,
    )
