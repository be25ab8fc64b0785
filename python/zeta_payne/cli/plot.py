"""``zeta-payne plot``: QA figures of database results."""

from __future__ import annotations

import argparse

from zeta_payne.cli.database import add_database_option

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("plot", help="QA plots: a fit with residuals, or a run's labels")
    cmds = parser.add_subparsers(dest="plot_command", metavar="KIND")
    fit = cmds.add_parser("fit", help="spectrum, model and residuals of one result")
    which = fit.add_mutually_exclusive_group(required=True)
    which.add_argument("--task-pk", type=int)
    which.add_argument("--spectrum-pk", type=int)
    fit.add_argument("-o", "--output", required=True, help="PNG to write")
    add_database_option(fit)
    fit.set_defaults(func=_fit)
    run = cmds.add_parser("run", help="Kiel diagram and label histograms of the results")
    run.add_argument("-o", "--output", required=True, help="PNG to write")
    run.add_argument("--instrument", choices=["boss", "apogee"], default=None)
    add_database_option(run)
    run.set_defaults(func=_run)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _fit(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.qa import plot_result

    with bound_database(args.database):
        path = plot_result(args.output, task_pk=args.task_pk, spectrum_pk=args.spectrum_pk)
    print(path)
    return 0


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.ops.qa import plot_results

    with bound_database(args.database):
        path = plot_results(args.output, instrument=args.instrument)
    print(path)
    return 0
