"""Database commands: ``init``, ``ingest``, ``run``, ``status``, ``export`` (and, registered
from their modules, ``demo`` and ``plot``). Thin: they parse, bind the database, and call
:mod:`zeta_payne.astra`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_database_option", "add_routing_options", "register", "routing_from_args"]

log = logging.getLogger(__name__)


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """``--database URL`` (overrides ``ASTRA_DATABASE_PATH`` and the astra.yml config)."""
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="sqlite:///path or postgresql://user@host:port/db[?schema=name] "
        "(default: $ASTRA_DATABASE_PATH, then astra.yml)",
    )


def add_routing_options(parser: argparse.ArgumentParser) -> None:
    """Options of the classifier routing rule."""
    g = parser.add_argument_group("routing")
    g.add_argument("--hot-class", default="oba", help="classifier class of hot stars (default oba)")
    g.add_argument("--top-k", type=int, default=3, help="route when the class is among the top K (default 3)")
    g.add_argument("--program", default="mwm_ob", help="also route targets of this carton program")
    g.add_argument("--no-program", action="store_true", help="route by the classifier only")
    g.add_argument("--no-route", action="store_true", help="fit every spectrum, routed or not")


def routing_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~zeta_payne.astra.routing.Routing` of the command line."""
    from zeta_payne.astra.routing import Routing

    return Routing(
        hot_class=args.hot_class,
        top_k=args.top_k,
        program=None if args.no_program else args.program,
        enabled=not args.no_route,
    )


def register(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser("init", help="create the database tables")
    init.add_argument(
        "--with-inputs",
        action="store_true",
        help="with real ASTRA, also create its Source, Spectrum and spectrum tables (a test or demo "
        "database; production has them from ASTRA's migrations). The stand-in always creates them",
    )
    add_database_option(init)
    init.set_defaults(func=_init)

    ingest = sub.add_parser(
        "ingest", help="register SDSS spectrum files (mwmStar/Visit, apStar, apVisit, spec)"
    )
    ingest.add_argument("paths", nargs="+", help="files or folders (searched for *.fits)")
    ingest.add_argument(
        "--class",
        dest="chosen_class",
        default=None,
        help="also write a classifier row making this class most likely (e.g. oba)",
    )
    ingest.add_argument(
        "--classification",
        default=None,
        metavar="CSV",
        help="classifier probabilities per file: columns file, instrument, p_<class>",
    )
    ingest.add_argument(
        "--mwm-astra",
        default=None,
        metavar="DIR",
        help="with real ASTRA: the $MWM_ASTRA folder; files not at ASTRA's path for their row are "
        "linked there (default: $MWM_ASTRA)",
    )
    add_database_option(ingest)
    ingest.set_defaults(func=_ingest)

    classify = sub.add_parser(
        "classify",
        help="load classifier probabilities (the routing input) from a CSV or FITS table",
        description="Write spectrum_classification rows from a table with a spectrum_pk or sdss_id "
        "column (optional instrument: boss/apogee) and p_<class> columns (classes cv, fgkm, oba, wd, "
        "sb2, yso). ASTRA dev has no classifier: this is how routing data get into its database.",
    )
    classify.add_argument("table", help="CSV or FITS table of class probabilities")
    add_database_option(classify)
    classify.set_defaults(func=_classify)

    run = sub.add_parser("run", help="fit the pending spectra (--workers N processes)")
    from zeta_payne.cli.workers import add_worker_options, run_command

    add_worker_options(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=run_command)

    status = sub.add_parser("status", help="pending / done / failed per instrument and bundle version")
    status.add_argument("--bundle-boss", default=None)
    status.add_argument("--bundle-apogee", default=None)
    status.add_argument("--window", type=float, default=15.0, help="minutes over which the rate is measured")
    status.add_argument(
        "--workers-label", default=None, metavar="PREFIX", help="list the workers whose label starts so"
    )
    add_routing_options(status)
    add_database_option(status)
    status.set_defaults(func=_status)

    export = sub.add_parser("export", help="write the results table (FITS or CSV)")
    export.add_argument("-o", "--output", required=True, help="table to write (.fits or .csv)")
    export.add_argument("--instrument", choices=["boss", "apogee"], default=None)
    export.add_argument("--all-versions", action="store_true", help="rows of every ASTRA version")
    add_database_option(export)
    export.set_defaults(func=_export)

    from zeta_payne.cli import demo, plot

    demo.register(sub)
    plot.register(sub)


def _init(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database, resolve_database

    with bound_database(args.database, create=True, inputs=True if args.with_inputs else None):
        pass
    where = (
        "ASTRA's database"
        if not args.database and _have_astra()
        else resolve_database(args.database).describe()
    )
    print(f"tables ready in {where}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.classify import load_classifications, read_probability_table

    rows = read_probability_table(args.table)
    with bound_database(args.database):
        report = load_classifications(rows)
    for line in report.invalid[:20]:
        print(f"invalid row {line}", file=sys.stderr)
    print(report.summary())
    return 0 if report.classified else 1


def _have_astra() -> bool:
    from zeta_payne.astra.compat import HAVE_ASTRA

    return HAVE_ASTRA


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given, folders searched recursively for ``*.fits`` / ``*.fits.gz``."""
    out: list[str] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(str(p) for p in path.rglob("*.fits")))
            out.extend(sorted(str(p) for p in path.rglob("*.fits.gz")))
        else:
            out.append(os.fspath(path))
    return out


def _ingest(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.ingest import ingest_files, read_classification_table

    table = read_classification_table(args.classification) if args.classification else None
    with bound_database(args.database, create=True, inputs=True):
        report = ingest_files(
            expand_paths(args.paths), args.chosen_class, table, product_root=args.mwm_astra
        )
    for path, message in report.errors:
        print(f"skipped {path}: {message}", file=sys.stderr)
    print(report.summary())
    return 1 if report.errors and not report.spectra else 0


def _status(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.status import pending_table, results_table
    from zeta_payne.cli.common import write_table

    bundles = {"boss": args.bundle_boss, "apogee": args.bundle_apogee}
    with bound_database(args.database, create=True):
        pending = pending_table(routing_from_args(args), bundles)
        results = results_table()
        progress = _progress(args, pending)
    if pending:
        print("spectra:")
        write_table([{k: ("-" if v is None else v) for k, v in r.items()} for r in pending], None)
    else:
        print("no spectra registered")
    if results:
        print("\nresults:")
        write_table(
            results, None, ["instrument", "bundle_name", "bundle_version", "v_astra", "done", "bad", "warn"]
        )
    for line in progress:
        print(line)
    return 0


def _progress(args: argparse.Namespace, pending: list[dict[str, Any]]) -> list[str]:
    """Lines on progress, rate and workers (see :mod:`zeta_payne.astra.queue.throughput`)."""
    from zeta_payne.astra.queue.throughput import in_progress, recent_rate, worker_groups, workers_table

    lines = ["", "progress:"]
    left = sum(r["pending"] or 0 for r in pending)
    claimed = in_progress()
    rate = recent_rate(args.window * 60.0)
    lines.append(f"  pending {left} (of which {claimed} being fitted now)")
    if rate["per_hour"]:
        eta = left / rate["per_hour"] * 60.0 if left else 0.0
        lines.append(
            f"  rate {rate['per_hour']:.0f} spectra/hour ({rate['rows']} rows in the last "
            f"{args.window:g} min); {eta:.0f} min left at this rate"
        )
    else:
        lines.append(f"  rate: {rate['rows']} rows in the last {args.window:g} min")
    workers = workers_table(args.workers_label)
    if args.workers_label is None:
        workers = [w for w in workers if w["status"] == "running" or w["heartbeat_age"] < args.window * 60]
    total = worker_groups(workers)
    if total["workers"]:
        states = ", ".join(f"{n} {s}" for s, n in sorted(total["status"].items()))
        lines.append(
            f"  workers: {states} on {total['hosts']} host(s); {total['done']} rows committed "
            f"({total['bad']} bad) in {total['span'] / 60:.1f} min"
            + (f" = {total['per_hour']:.0f} spectra/hour" if total["per_hour"] else "")
        )
    if args.workers_label is not None:
        lines.append("")
        columns = ["pk", "label", "host", "pid", "status", "n_done", "n_bad", "elapsed", "per_hour"]
        columns.append("message")
        rows = [{k: ("-" if w.get(k) is None else w[k]) for k in columns} for w in workers]
        if rows:
            import io
            from contextlib import redirect_stdout

            from zeta_payne.cli.common import write_table

            buffer = io.StringIO()
            with redirect_stdout(buffer):
                write_table(rows, None, columns)
            lines.extend(buffer.getvalue().rstrip("\n").splitlines())
    return lines


def _export(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.export import result_rows, write_results

    with bound_database(args.database):
        columns, rows = result_rows(args.instrument, args.all_versions)
    write_results(args.output, columns, rows)
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0
