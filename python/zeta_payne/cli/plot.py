"""``zeta-payne db plot``: QA figures of database results."""

from __future__ import annotations

import argparse

from zeta_payne.cli.database import add_database_option
from zeta_payne.cli.parser import add_command

__all__ = ["register"]


def _png(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="figure to write (.png or .pdf)"
    )


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``plot fit|run|summary`` to ``sub`` (``listed=False``: the kept old name)."""
    parser = add_command(
        sub,
        "plot",
        "QA figures: a fit with residuals and line zooms, the labels of a run, a run summary",
        example="zeta-payne db plot fit --spectrum-pk 12 -o fit.png --database sqlite:///zp.sqlite\n"
        "zeta-payne db plot run -o labels.png --database sqlite:///zp.sqlite\n"
        "zeta-payne db plot summary -o summary.png --database sqlite:///zp.sqlite",
        listed=listed,
    )
    cmds = parser.add_subparsers(dest="plot_command", metavar="KIND")
    fit = add_command(
        cmds,
        "fit",
        "spectrum, model, residuals in σ and zooms on the diagnostic lines of one result",
        example="zeta-payne db plot fit --spectrum-pk 12 -o fit.png --database sqlite:///zp.sqlite",
    )
    which = fit.add_mutually_exclusive_group(required=True)
    which.add_argument("--task-pk", type=int, help="the result row")
    which.add_argument("--spectrum-pk", type=int, help="the latest result of this spectrum")
    _png(fit)
    add_database_option(fit)
    fit.set_defaults(func=_fit)
    run = add_command(
        cmds,
        "run",
        "Kiel diagram (per-instrument markers, error bars) and label histograms of the results",
        example="zeta-payne db plot run -o labels.png --database sqlite:///zp.sqlite",
    )
    _png(run)
    run.add_argument("--instrument", choices=["boss", "apogee"], default=None, help="only this instrument")
    add_database_option(run)
    run.set_defaults(func=_run)
    summary = add_command(
        cmds,
        "summary",
        "a run's summary page: labels per instrument, flag counts, χ² distribution, rate",
        example="zeta-payne db plot summary -o summary.png --database sqlite:///zp.sqlite",
    )
    _png(summary)
    add_database_option(summary)
    summary.set_defaults(func=_summary)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _check(path: str) -> None:
    import os

    from zeta_payne.exceptions import ZetaPayneError

    if not path.lower().endswith((".png", ".pdf", ".svg")):
        raise ZetaPayneError(f"{path}: name the figure .png, .pdf or .svg")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ZetaPayneError(f"{path}: the folder {folder} does not exist")


def _fit(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database

    _check(args.output)
    with bound_database(args.database):
        from zeta_payne.astra.ops.qa import plot_result

        path = plot_result(args.output, task_pk=args.task_pk, spectrum_pk=args.spectrum_pk)
    print(path)
    return 0


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database

    _check(args.output)
    with bound_database(args.database):
        from zeta_payne.astra.ops.qa import plot_results

        path = plot_results(args.output, instrument=args.instrument)
    print(path)
    return 0


def _summary(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database

    _check(args.output)
    with bound_database(args.database):
        from zeta_payne.astra.ops.qa import plot_summary

        path = plot_summary(args.output)
    print(path)
    return 0
