"""``zeta-payne db ACTION``: the database workflow, one group (old top-level names kept as aliases)."""

from __future__ import annotations

import argparse
import importlib

from zeta_payne.cli.parser import add_command

__all__ = ["DB_MODULES", "register"]

#: Modules whose ``register(sub, listed)`` adds database actions, in the order of ``--help``.
DB_MODULES: tuple[str, ...] = (
    "zeta_payne.cli.database",  # init, ingest, classify
    "zeta_payne.cli.workers",  # run, worker
    "zeta_payne.cli.srun",
    "zeta_payne.cli.status",
    "zeta_payne.cli.export",
    "zeta_payne.cli.plot",
    "zeta_payne.cli.sources",  # sources (issue 17)
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``db`` and, unlisted, the old top-level names of its actions."""
    db = add_command(
        sub,
        "db",
        "the database workflow: init, ingest, classify, run, worker, srun, status, export, plot, sources",
        example="zeta-payne db init --database sqlite:///zp.sqlite\n"
        "zeta-payne db ingest mwmStar-*.fits --class oba --database sqlite:///zp.sqlite\n"
        "zeta-payne db run --database sqlite:///zp.sqlite\n"
        "zeta-payne db export -o results.fits --database sqlite:///zp.sqlite",
        description="Fit spectra registered in an ASTRA database (SQLite or PostgreSQL), one result row "
        "per spectrum and ASTRA version. Only `db init` creates a database; every other action needs "
        "one that exists. The actions are also accepted without `db` (old names, kept for a release).",
    )
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    for name in DB_MODULES:
        module = importlib.import_module(name)
        module.register(actions, listed=True)
        module.register(sub, listed=False)
    db.set_defaults(func=lambda args: db.print_help() or 2)
