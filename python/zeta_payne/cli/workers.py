"""``zeta-payne run`` and ``zeta-payne worker``: fit the pending spectra with claiming workers.

``run`` is the interactive form (a progress bar with one worker); ``worker`` is the entry
point for batch systems and many machines: it logs instead of drawing, labels its worker
row (default: the Slurm job and array task), and exits 0 when no work is left, 1 when an
instrument could not be run or a worker process died, 2 when the database is unreachable.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zeta_payne.cli.parser import add_command, positive_int

__all__ = ["add_worker_options", "register", "run_command", "worker_options_from_args"]

log = logging.getLogger(__name__)

#: Exit status when the database cannot be reached.
EXIT_DATABASE = 2


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    """What and how to fit: instruments, bundles, products, batches, workers, retries."""
    parser.add_argument(
        "--instrument", action="append", choices=["boss", "apogee"], help="only this instrument (repeatable)"
    )
    parser.add_argument(
        "--limit", type=positive_int, default=None, metavar="N", help="at most N spectra per instrument"
    )
    parser.add_argument("--reprocess", action="store_true", help="refit spectra already done")
    parser.add_argument(
        "--reprocess-before",
        default=None,
        metavar="ISO_TIME",
        help="refit spectra whose result is older than this time (what --reprocess sets for all workers)",
    )
    parser.add_argument("--bundle-boss", default=None, help="BOSS bundle (folder, name or name@version)")
    parser.add_argument("--bundle-apogee", default=None, help="APOGEE bundle")
    parser.add_argument(
        "--output-dir",
        default=None,
        help="folder of the model-flux products (default $MWM_ASTRA/<v_astra>/pipelines/zeta_payne)",
    )
    parser.add_argument("--no-products", action="store_true", help="write no model-flux products")
    parser.add_argument(
        "--chunk-size",
        type=positive_int,
        default=None,
        help="spectra read and fitted together, as one batch of the batched fitter (default: chosen "
        "from the device's memory, at most 32 on a CPU; 1: one at a time)",
    )
    g = parser.add_argument_group("workers")
    g.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="worker processes on this machine (PostgreSQL for more than 1)",
    )
    g.add_argument(
        "--batch-size", type=positive_int, default=32, help="spectra claimed and committed together"
    )
    g.add_argument("--label", default=None, help="label of the worker rows (default: Slurm job/array task)")
    g.add_argument(
        "--stale-after", type=float, default=300.0, help="seconds without heartbeat before a worker is dead"
    )
    g.add_argument(
        "--max-attempts", type=positive_int, default=3, help="tries of a spectrum whose workers died"
    )
    g.add_argument("--no-wait", action="store_true", help="end without waiting for other workers' claims")
    g.add_argument(
        "--db-connect-seconds",
        type=float,
        default=10.0,
        help="at start, give up on an unreachable database after this long [s]",
    )
    g.add_argument(
        "--db-retry-seconds",
        type=float,
        default=300.0,
        help="keep retrying a failing database for this long [s] before giving up",
    )
    from zeta_payne.cli.database import add_database_option, add_routing_options
    from zeta_payne.cli.fit import add_fit_options

    add_routing_options(parser)
    add_fit_options(parser)
    add_database_option(parser)


def _slurm_label() -> str | None:
    job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"slurm-{job}" + (f"_{task}" if task else "")


def worker_options_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~zeta_payne.astra.queue.worker.WorkerOptions` of the command line."""
    from zeta_payne.astra.products import DEFAULT_PRODUCT_DIR
    from zeta_payne.astra.queue.retry import RetryPolicy
    from zeta_payne.astra.queue.worker import WorkerOptions
    from zeta_payne.cli.database import routing_from_args
    from zeta_payne.cli.fit import fit_overrides

    cutoff = None
    if args.reprocess_before:
        try:
            cutoff = datetime.datetime.fromisoformat(args.reprocess_before)
        except ValueError:
            from zeta_payne.exceptions import ZetaPayneError

            raise ZetaPayneError(
                f"--reprocess-before {args.reprocess_before!r}: not an ISO time (e.g. 2025-06-01T12:00:00)"
            ) from None
    elif args.reprocess:
        cutoff = datetime.datetime.now()
    return WorkerOptions(
        instruments=tuple(args.instrument or ("boss", "apogee")),
        bundles={
            k: v for k, v in {"boss": args.bundle_boss, "apogee": args.bundle_apogee}.items() if v is not None
        },
        fit_options=fit_overrides(args),
        device=args.device,
        output_dir=None if args.no_products else (args.output_dir or DEFAULT_PRODUCT_DIR),
        routing=routing_from_args(args),
        reprocess_before=cutoff,
        limit=args.limit,
        batch_size=max(1, args.batch_size),
        chunk_size=args.chunk_size,
        stale_after=args.stale_after,
        heartbeat_every=max(1.0, min(30.0, args.stale_after / 10.0)),
        wait=not args.no_wait,
        max_attempts=max(1, args.max_attempts),
        label=args.label or _slurm_label(),
        retry=RetryPolicy(budget=args.db_retry_seconds),
    )


def run_command(args: argparse.Namespace, interactive: bool = True) -> int:
    """Handler of ``run`` (``interactive``) and ``worker``."""
    from zeta_payne.astra import compat
    from zeta_payne.astra.database import (
        DatabaseConfigError,
        check_initialised,
        open_database,
        resolve_database,
    )
    from zeta_payne.astra.queue.connection import bind_for_workers
    from zeta_payne.astra.queue.retry import DatabaseUnavailable, RetryPolicy
    from zeta_payne.cli.common import pin_threads
    from zeta_payne.cli.fit import check_device, check_fit_labels

    options = worker_options_from_args(args)
    spec = None if (compat.HAVE_ASTRA and not args.database) else resolve_database(args.database)
    n = max(1, int(args.workers))
    if n > 1 and spec is not None and spec.kind == "sqlite":
        raise DatabaseConfigError(
            "SQLite allows one writer at a time: --workers above 1 needs PostgreSQL "
            "(with SQLite run one worker; it still claims, commits atomically and resumes)"
        )
    if spec is not None and spec.kind == "sqlite":
        open_database(spec, must_exist=True)  # a mistyped path is an error, never a new database
    check_fit_labels(args, {i: options.bundles.get(i) or i for i in options.instruments})
    try:
        startup = RetryPolicy(budget=args.db_connect_seconds, initial=0.5, max_delay=4.0)
        database = bind_for_workers(spec, create=False, policy=startup)
    except DatabaseUnavailable as exc:
        print(f"zeta-payne: error: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    try:
        check_initialised("ASTRA's database" if spec is None else spec.describe())
        check_device(args.device)
        pin_threads(1)  # after connecting: an unreachable database is reported without importing torch
        level = logging.getLogger().getEffectiveLevel()
        from zeta_payne.astra.routing import check_routing

        check_routing(options.routing)  # no routing data: a clear error, not "fitted 0 spectra"
        stopped = interrupted = False
        if n == 1:
            from zeta_payne.astra.queue.worker import run_worker
            from zeta_payne.cli.progress import ProgressBar

            show = interactive and not args.no_progress
            try:
                with _stop_on_signals() as stop:
                    summary = run_worker(options, stop=stop, progress=ProgressBar() if show else None)
                    stopped = stop.is_set()
                    interrupted = getattr(stop, "signum", None) == signal.SIGINT
            except DatabaseUnavailable as exc:
                print(f"zeta-payne: error: {exc}", file=sys.stderr)
                return EXIT_DATABASE
            lost: list[str] = []
        else:
            from zeta_payne.astra.queue.parallel import run_workers

            database.close()
            summary = run_workers(n, options, spec, log_level=min(level, logging.WARNING))
            lost = summary.lost
        remaining = _remaining(options) if stopped else None
    finally:
        if not database.is_closed():
            database.close()
    return _report(summary, lost, remaining, interrupted)


def _remaining(options: Any) -> int | None:
    """Spectra still pending after an interrupted run (``None`` when they cannot be counted)."""
    from dataclasses import replace

    from zeta_payne.astra.queue.worker import pending_count

    try:
        return pending_count(replace(options, reprocess_before=options.reprocess_before, limit=None))
    except Exception as exc:  # counting is a courtesy: the counts above are what matters
        log.info("could not count the remaining spectra: %s", exc)
        return None


def _report(summary: Any, lost: list[str], remaining: int | None, interrupted: bool = False) -> int:
    """Print what a run did; return its exit status (130 after Ctrl-C; a SIGTERM, Slurm's time
    limit, is a clean end)."""
    from zeta_payne.cli.common import write_table
    from zeta_payne.cli.errors import EXIT_INTERRUPTED

    rows = [{"instrument": i, "model": m, **c} for (i, m), c in summary.counts.items() if c["fitted"]]
    if rows:
        write_table(rows, None, ["instrument", "model", "fitted", "bad", "warn"])
    extra = []
    for name in ("taken_over", "abandoned", "retries"):
        if getattr(summary, name):
            extra.append(f"{getattr(summary, name)} {name.replace('_', ' ')}")
    print(
        f"fitted {summary.fitted} spectra ({summary.bad} flagged bad)"
        + (f"; {', '.join(extra)}" if extra else "")
    )
    for instrument, error in summary.errors.items():
        print(f"{instrument}: not run: {error}", file=sys.stderr)
    for line in lost:
        print(f"{line}; its batch is redone by the other workers or the next run", file=sys.stderr)
    if remaining is not None or summary.status == "stopped":
        left = "?" if remaining is None else str(remaining)
        print(
            f"zeta-payne: {'interrupted' if interrupted else 'stopped'}: {summary.fitted} spectra "
            f"committed, {left} remain pending (run the same command again to fit them)",
            file=sys.stderr,
        )
        if interrupted:
            return EXIT_INTERRUPTED
    if any("DatabaseUnavailable" in line for line in lost):
        return EXIT_DATABASE
    return 1 if (summary.errors or lost) else 0


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM/SIGINT (Slurm's time limit, Ctrl-C): the worker commits what it
    has fitted and ends; a second signal ends the process at once."""
    stop = threading.Event()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        log.warning("signal %d: committing what is fitted, then ending (again to end now)", signum)
        stop.signum = signum  # type: ignore[attr-defined]
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _worker(args: argparse.Namespace) -> int:
    if not args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    return run_command(args, interactive=False)


_RUN_EXAMPLE = """\
zeta-payne db run --database sqlite:///zp.sqlite
zeta-payne db run --instrument boss --limit 100 --fix m_h=0 --database sqlite:///zp.sqlite
zeta-payne db run --workers 8 --database postgresql://astra@db/sdss5db"""


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``run`` and ``worker`` to ``sub`` (``listed=False``: the kept old names)."""
    run = add_command(
        sub,
        "run",
        "fit the pending spectra of the database (--workers N processes), with a progress bar",
        example=_RUN_EXAMPLE,
        description="Fit every routed spectrum that has no result for this ASTRA version and bundle, "
        "committing batches atomically. Ctrl-C (or SIGTERM) commits what is fitted and ends with "
        "status 130, saying how many spectra remain; running the command again fits them.",
        listed=listed,
    )
    add_worker_options(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=run_command)
    worker = add_command(
        sub,
        "worker",
        "fit pending spectra as one of many workers (batch systems, many machines)",
        example="zeta-payne db worker --workers 8 --label night-1 --database postgresql://astra@db/sdss5db",
        description="Claim batches of pending spectra, fit and commit them until none is left. Start "
        "as many as you like, on any machines, against one PostgreSQL database: each spectrum is "
        "fitted once. Logs instead of a progress bar; exit 0 when no work is left, 1 when an "
        "instrument could not be run or a worker process died, 2 when the database is unreachable, "
        "130 after Ctrl-C (SIGTERM, a batch system's time limit, commits what is fitted and ends "
        "normally).",
        listed=listed,
    )
    add_worker_options(worker)
    worker.set_defaults(func=_worker, no_progress=True)
