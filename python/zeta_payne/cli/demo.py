"""``zeta-payne demo``: the whole pipeline on the shipped demo spectra (embedded SQLite)."""

from __future__ import annotations

import argparse

from zeta_payne.cli.parser import add_command, positive_int

__all__ = ["register"]

_COLUMNS = [
    "spectrum",
    "inst",
    "teff_true",
    "teff",
    "logg_true",
    "logg",
    "v_sini_true",
    "v_sini",
    "m_h_true",
    "m_h",
    "v_rad_true",
    "v_rad",
    "flags",
]


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_command(
        sub,
        "demo",
        "the whole pipeline on the shipped demo spectra (creates its own SQLite database)",
        example="zeta-payne demo\nzeta-payne demo -o /tmp/zp-demo --fresh",
        description="Create (or reuse) an embedded SQLite database in the output folder, register the "
        "demo spectra shipped in data/demo, fit the routed ones with the shipped bundles, print each "
        "spectrum's labels next to its true ones, and write QA plots (plots/). Besides `db init`, the "
        "only command that creates a database.",
    )
    parser.add_argument("-o", "--output", default="zeta-payne-demo", help="output folder (created)")
    parser.add_argument("--data", default=None, help="demo spectra folder (default: the shipped data/demo)")
    parser.add_argument("--bundle-boss", default=None, help="BOSS bundle (default zeta-payne-boss)")
    parser.add_argument("--bundle-apogee", default=None, help="APOGEE bundle (default zeta-payne-apogee)")
    parser.add_argument(
        "--presearch-points", type=positive_int, default=None, help="override the bundles' pre-search size"
    )
    parser.add_argument(
        "--database", metavar="URL", default=None, help="use this database instead of the embedded SQLite"
    )
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    parser.add_argument("--no-plots", action="store_true", help="skip the QA plots")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from zeta_payne.astra.ops.demo import run_demo
    from zeta_payne.cli.common import pin_threads, write_table
    from zeta_payne.cli.progress import ProgressBar

    pin_threads(1)
    report = run_demo(
        output=args.output,
        data_dir=args.data,
        bundles={"boss": args.bundle_boss, "apogee": args.bundle_apogee},
        fit_options={"presearch_points": args.presearch_points} if args.presearch_points else None,
        database=args.database,
        fresh=args.fresh,
        plots=not args.no_plots,
        progress=ProgressBar(),
    )
    print(f"database: {report.database}")
    print(f"ingest: {report.ingest.summary()}")
    print(f"fitted {report.run.fitted} new spectra ({report.run.bad} flagged bad)")
    for instrument, error in report.run.errors.items():
        print(f"{instrument}: not run: {error}")
    print()
    write_table(report.table, None, _COLUMNS)
    if report.plots:
        print(f"\n{len(report.plots)} QA plots in {args.output}/plots")
    return 1 if report.run.errors else 0
