"""``zeta-payne db export``: the results table as FITS (with units and flag definitions), CSV or ECSV."""

from __future__ import annotations

import argparse

from zeta_payne.cli.database import add_database_option
from zeta_payne.cli.parser import add_command

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``export`` to ``sub`` (``listed=False``: the kept old name)."""
    export = add_command(
        sub,
        "export",
        "write the results table (FITS with units, CSV or ECSV, by the file name)",
        example="zeta-payne db export -o results.fits --database sqlite:///zp.sqlite\n"
        "zeta-payne db export -o boss.csv --instrument boss --database sqlite:///zp.sqlite",
        description="One row per result of the current ASTRA version (--all-versions: every version), "
        "with the source's sdss_id, flag_bad, flag_warn and a flag_<name> column per result-flag bit. "
        "FITS tables carry units (TUNITn), display formats, column descriptions, the flag-bit "
        "definitions and the bundles' names, versions and sha256 in the header.",
        listed=listed,
    )
    export.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="table to write: .fits, .fits.gz, .csv or .ecsv"
    )
    export.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    export.add_argument("--instrument", choices=["boss", "apogee"], default=None, help="only this instrument")
    export.add_argument("--all-versions", action="store_true", help="rows of every ASTRA version")
    add_database_option(export)
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from zeta_payne.io.tables import check_output

    check_output(args.output, args.overwrite)  # before the database: nothing is read in vain
    from zeta_payne.astra.database import bound_database

    with bound_database(args.database):
        from zeta_payne.astra.ops.export import result_rows, write_results

        columns, rows = result_rows(args.instrument, args.all_versions)
    write_results(args.output, columns, rows, overwrite=args.overwrite)
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0
