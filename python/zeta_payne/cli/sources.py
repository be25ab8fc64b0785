"""``zeta-payne db sources``: fit the database's sources from all their spectra, and export them.

Runs :func:`zeta_payne.astra.source_tasks.zeta_payne_source` on the bound database (one
``zeta_payne_source`` row per source, one ``zeta_payne_visit`` row per spectrum) and, with
``-o``/``--visits``, writes the two tables (FITS, CSV or ECSV by the file name).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from zeta_payne.cli.database import add_database_option
from zeta_payne.cli.parser import add_command, positive_int
from zeta_payne.exceptions import ZetaPayneError

__all__ = ["register", "source_table_rows"]


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``sources`` to ``sub``."""
    parser = add_command(
        sub,
        "sources",
        "fit each source from all its spectra (joint BOSS + APOGEE, or visits) and export the rows",
        example="zeta-payne db sources --database sqlite:///zp.sqlite -o sources.fits --visits visits.fits\n"
        "zeta-payne db sources --mode epochs --instrument apogee --database sqlite:///zp.sqlite",
        description="Fit the pending sources (routed spectra, no result for this ASTRA version; "
        "--reprocess: all) with shared labels: --mode joint fits a source's mwmStar BOSS and APOGEE "
        "spectra together, --mode epochs its observed-frame visits of one instrument with one RV per "
        "visit. One zeta_payne_source row per source, one zeta_payne_visit row per spectrum; "
        "--no-fit only exports.",
        listed=listed,
    )
    parser.add_argument("--mode", choices=["joint", "epochs"], default="joint")
    parser.add_argument("--instrument", choices=["apogee", "boss"], default="apogee", help="epochs mode")
    parser.add_argument("--reprocess", action="store_true", help="refit sources already done")
    parser.add_argument("--limit", type=positive_int, default=None, help="at most this many sources")
    parser.add_argument("--no-route", action="store_true", help="every spectrum, routed or not")
    parser.add_argument("--no-fit", action="store_true", help="only export")
    parser.add_argument("--bundle-boss", default=None, help="bundle of BOSS spectra (default: boss)")
    parser.add_argument("--bundle-apogee", default=None, help="bundle of APOGEE spectra (default: apogee)")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="write the source table")
    parser.add_argument("--visits", default=None, metavar="FILE", help="write the visit table")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")
    add_database_option(parser)
    parser.set_defaults(func=_run)


def source_table_rows() -> tuple[list[str], list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """Columns and rows of ``zeta_payne_source`` (with ``sdss_id`` and ``flag_names``) and of
    ``zeta_payne_visit``, current ASTRA version."""
    from peewee import JOIN

    from zeta_payne.astra import compat
    from zeta_payne.astra.source_model import ZetaPayneSource, ZetaPayneVisit
    from zeta_payne.fitting.flags import flag_names

    version = compat.current_v_astra() // 1000
    fields = [f for f in ZetaPayneSource._meta.sorted_fields if f.name != "v_astra_major_minor"]
    source = compat.Source
    query = (
        ZetaPayneSource.select(*fields, source.sdss_id)
        .join(source, JOIN.LEFT_OUTER, on=(ZetaPayneSource.source_pk == source.pk))
        .where(ZetaPayneSource.v_astra_major_minor == version)
        .order_by(ZetaPayneSource.source_pk)
    )
    rows = []
    for row in query.dicts():
        row["flag_names"] = ",".join(flag_names(int(row.get("result_flags") or 0)))
        rows.append(row)
    columns = ["sdss_id", *[f.name for f in fields], "flag_names"]
    vfields = list(ZetaPayneVisit._meta.sorted_fields)
    vquery = (
        ZetaPayneVisit.select(*vfields)
        .join(ZetaPayneSource, on=(ZetaPayneVisit.source_task_pk == ZetaPayneSource.task_pk))
        .where(ZetaPayneSource.v_astra_major_minor == version)
        .order_by(ZetaPayneVisit.source_task_pk, ZetaPayneVisit.spectrum_index)
    )
    visits = []
    for row in vquery.dicts():
        row["flag_names"] = ",".join(flag_names(int(row.get("result_flags") or 0)))
        visits.append(row)
    return columns, rows, [*[f.name for f in vfields], "flag_names"], visits


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.io.tables import check_output, write_table

    for path in (args.output, args.visits):
        if path:
            check_output(path, args.overwrite)
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.source_model import ZetaPayneSource

    with bound_database(args.database):
        if not ZetaPayneSource.table_exists():
            raise ZetaPayneError("this database has no zeta_payne_source table: run zeta-payne db init")
        if not args.no_fit:
            from zeta_payne.astra.source_tasks import zeta_payne_source

            rows = list(
                zeta_payne_source(
                    mode=args.mode,
                    instrument=args.instrument,
                    boss_bundle=args.bundle_boss,
                    apogee_bundle=args.bundle_apogee,
                    route=not args.no_route,
                    reprocess=args.reprocess,
                    limit=args.limit,
                )
            )
            bad = sum(bool(r.flag_bad) for r in rows)
            print(f"fitted {len(rows)} sources ({bad} flagged bad)", file=sys.stderr)
        columns, sources, vcolumns, visits = source_table_rows()
    if args.output:
        write_table(args.output, columns, sources, extname="ZETA_PAYNE_SOURCE")
        print(f"wrote {len(sources)} source rows to {args.output}")
    if args.visits:
        write_table(args.visits, vcolumns, visits, extname="ZETA_PAYNE_VISIT")
        print(f"wrote {len(visits)} visit rows to {args.visits}")
    return 0
