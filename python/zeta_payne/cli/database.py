"""Database commands ``init``, ``ingest``, ``classify`` and the options every database command
shares (``--database``, the routing rule). Thin: they parse, bind the database, and call
:mod:`zeta_payne.astra`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from zeta_payne.cli.parser import add_command, positive_int

__all__ = ["add_database_option", "add_routing_options", "expand_paths", "register", "routing_from_args"]

log = logging.getLogger(__name__)

#: Classifier classes (``--class``).
_CLASSES = ("oba", "fgkm", "wd", "cv", "sb2", "yso")


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """``--database URL`` (overrides ``ASTRA_DATABASE_PATH`` and the astra.yml config)."""
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="sqlite:///relative.db, sqlite:////absolute.db or "
        "postgresql://user@host:port/db[?schema=name] (default: $ASTRA_DATABASE_PATH, then the "
        "database section of astra.yml)",
    )


def add_routing_options(parser: argparse.ArgumentParser) -> None:
    """Options of the classifier routing rule."""
    g = parser.add_argument_group("routing")
    g.add_argument("--hot-class", default="oba", choices=list(_CLASSES), help="classifier class of hot stars")
    g.add_argument(
        "--top-k", type=positive_int, default=3, help="route when the class is among the K most probable"
    )
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


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``init``, ``ingest`` and ``classify`` to ``sub`` (``listed=False``: kept old names)."""
    init = add_command(
        sub,
        "init",
        "create the zeta-payne tables (the only command that creates a database)",
        example="zeta-payne db init --database sqlite:///zp.sqlite\n"
        "zeta-payne db init --with-inputs --database sqlite:///test.sqlite   # also ASTRA's input tables",
        description="Create the plugin's tables (results, claims, workers) in the database, and the "
        "SQLite file if it does not exist (its folder must). Every other database command needs them.",
        listed=listed,
    )
    init.add_argument(
        "--with-inputs",
        action="store_true",
        help="with real ASTRA, also create its Source, Spectrum and spectrum tables (a test or demo "
        "database; production has them from ASTRA's migrations). The stand-in always creates them",
    )
    add_database_option(init)
    init.set_defaults(func=_init)

    ingest = add_command(
        sub,
        "ingest",
        "register SDSS spectrum files (mwmStar/Visit, apStar, apVisit, spec) in the database",
        example="zeta-payne db ingest data/demo/ --class oba --database sqlite:///zp.sqlite\n"
        "zeta-payne db ingest mwmStar-*.fits --classification probs.csv --database sqlite:///zp.sqlite",
        description="Register spectrum files as ASTRA spectrum rows (files, or folders searched for "
        "*.fits and *.fits.gz). Unreadable files are reported and skipped. The database must exist "
        "(zeta-payne db init).",
        listed=listed,
    )
    ingest.add_argument("paths", nargs="+", help="files or folders (searched for *.fits)")
    ingest.add_argument(
        "--class",
        dest="chosen_class",
        default=None,
        choices=list(_CLASSES),
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

    classify = add_command(
        sub,
        "classify",
        "load classifier probabilities (the routing input) from a CSV or FITS table",
        example="zeta-payne db classify probabilities.csv --database sqlite:///zp.sqlite",
        description="Write spectrum_classification rows from a table with a spectrum_pk or sdss_id "
        "column (optional instrument: boss/apogee) and p_<class> columns (classes cv, fgkm, oba, wd, "
        "sb2, yso). ASTRA dev has no classifier: this is how routing data get into its database.",
        listed=listed,
    )
    classify.add_argument("table", help="CSV or FITS table of class probabilities")
    add_database_option(classify)
    classify.set_defaults(func=_classify)


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
    """Files as given, folders searched recursively for ``*.fits`` / ``*.fits.gz``.

    Raises
    ------
    ZetaPayneError
        A path that does not exist, or a folder without FITS files.
    """
    from zeta_payne.exceptions import ZetaPayneError

    out: list[str] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.fits"))
            found += sorted(str(p) for p in path.rglob("*.fits.gz"))
            if not found:
                raise ZetaPayneError(f"{item}: no *.fits or *.fits.gz files in this folder")
            out.extend(found)
        elif path.exists():
            out.append(os.fspath(path))
        else:
            raise ZetaPayneError(f"{item}: no such file or folder")
    return out


def _ingest(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.ingest import ingest_files, read_classification_table
    from zeta_payne.exceptions import ZetaPayneError

    files = expand_paths(args.paths)
    table = None
    if args.classification:
        _check_classification_header(args.classification)
        try:
            table = read_classification_table(args.classification)
        except (KeyError, ValueError, UnicodeDecodeError) as exc:
            raise ZetaPayneError(
                f"{args.classification}: not a classification table (columns file, instrument, "
                f"p_<class>): {type(exc).__name__}: {exc}"
            ) from None
    quiet = logging.getLogger("zeta_payne.astra.ops.ingest")
    if not args.verbose:  # each skipped file is reported once, below
        quiet.setLevel(logging.ERROR)
    with bound_database(args.database):
        report = ingest_files(files, args.chosen_class, table, product_root=args.mwm_astra)
    if report.errors and not report.spectra:
        more = f" (and {len(report.errors) - 1} more files)" if len(report.errors) > 1 else ""
        raise ZetaPayneError(f"nothing registered: {report.errors[0][1]}{more}")
    for path, message in report.errors:
        print(f"skipped {path}: {message}", file=sys.stderr)
    print(report.summary())
    return 0


def _check_classification_header(path: str) -> None:
    """Raise unless ``path`` is a CSV with ``file``, ``instrument`` and ``p_<class>`` columns."""
    import csv

    from zeta_payne.exceptions import ZetaPayneError

    with open(path, newline="") as fh:
        header = next(csv.reader(fh), [])
    columns = {c.strip() for c in header}
    if not {"file", "instrument"} <= columns or not any(c.startswith("p_") for c in columns):
        raise ZetaPayneError(
            f"{path}: not a classification table: needs columns file, instrument and p_<class> "
            f"(has {', '.join(sorted(columns)) or 'none'})"
        )
