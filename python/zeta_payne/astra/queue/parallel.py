"""Several worker processes on one machine (``zeta-payne run --workers N``).

Each process binds its own connection to the database, pins its numerical libraries to one
thread and runs :func:`zeta_payne.astra.queue.worker.run_worker`; the processes share the work
only through the database claims, exactly as workers on different machines do. SIGTERM or
SIGINT to the parent is passed on to the workers, which commit what they have and end.
A worker that dies (SIGKILL, out of memory) does not stop the others: its batch is taken
over by them or by the next run.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zeta_payne.astra.database import DatabaseSpec
from zeta_payne.astra.queue.worker import WorkerOptions, WorkerSummary, run_worker
from zeta_payne.threads import THREAD_VARIABLES

__all__ = ["ParallelSummary", "run_workers", "worker_process_main"]

log = logging.getLogger(__name__)

@dataclass
class ParallelSummary(WorkerSummary):
    """A merged :class:`WorkerSummary` plus the worker processes that did not end normally."""

    lost: list[str] = field(default_factory=list)


def _split(limit: int | None, n: int, index: int) -> int | None:
    if limit is None:
        return None
    return limit // n + (1 if index < limit % n else 0)


def worker_process_main(
    spec: DatabaseSpec | None, options: WorkerOptions, result_path: str, log_level: int = logging.WARNING
) -> None:
    """Entry point of one worker process (also usable with any process launcher).

    Binds the database, runs the worker until no work is left (SIGTERM: commit and stop),
    and writes its summary as JSON to ``result_path``.
    """
    logging.basicConfig(
        level=log_level, format=f"%(asctime)s %(levelname)s [worker pid {os.getpid()}] %(name)s: %(message)s"
    )
    import torch

    torch.set_num_threads(1)
    from zeta_payne.astra.queue.connection import bind_for_workers

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        log.warning("signal %d: finishing the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    summary: WorkerSummary
    try:
        database = bind_for_workers(spec)
        try:
            summary = run_worker(options, stop)
        finally:
            database.close()
    except Exception as exc:
        log.error("worker failed: %s", exc)
        summary = WorkerSummary(status="failed", message=f"{type(exc).__name__}: {exc}")
    tmp = f"{result_path}.part"
    with open(tmp, "w") as fh:
        json.dump(summary.to_dict(), fh)
    os.replace(tmp, result_path)


def run_workers(
    n: int,
    options: WorkerOptions,
    spec: DatabaseSpec | None,
    log_level: int = logging.WARNING,
) -> ParallelSummary:
    """Run ``n`` worker processes over the database of ``spec`` and merge their summaries.

    Parameters
    ----------
    n : int
        Number of processes (one per core is the rule).
    options : WorkerOptions
        Options of every worker (``limit`` is split among them).
    spec : DatabaseSpec or None
        The database (``None``: ASTRA's own binding).
    log_level : int
        Logging level in the workers.
    """
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    context = multiprocessing.get_context("spawn")
    summary = ParallelSummary()
    with tempfile.TemporaryDirectory(prefix="zeta-payne-workers-") as folder:
        processes = []
        for index in range(int(n)):
            mine = replace(options, limit=_split(options.limit, n, index))
            path = str(Path(folder) / f"worker-{index}.json")
            process = context.Process(
                target=worker_process_main,
                args=(spec, mine, path, log_level),
                name=f"zeta-payne-worker-{index}",
            )
            process.start()
            processes.append((process, path))

        def forward(signum: int, frame: Any) -> None:
            for process, _ in processes:
                if process.is_alive() and process.pid:
                    os.kill(process.pid, signal.SIGTERM)

        in_main = threading.current_thread() is threading.main_thread()
        previous = {}
        if in_main:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, forward)
        try:
            for process, _ in processes:
                process.join()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        for index, (process, path) in enumerate(processes):
            if not os.path.exists(path):
                summary.lost.append(
                    f"worker {index} (pid {process.pid}) died with exit code {process.exitcode}"
                )
                continue
            with open(path) as fh:
                part = WorkerSummary.from_dict(json.load(fh))
            summary.merge(part)
            if part.status == "failed":
                summary.lost.append(f"worker {index} (pid {process.pid}) failed: {part.message}")
    statuses = "failed" if summary.lost else "finished"
    summary.status = statuses
    return summary
