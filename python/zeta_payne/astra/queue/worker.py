"""One worker: claim a batch, fit it with the ASTRA task, commit it atomically, repeat.

Any number of workers — processes on one machine (:mod:`zeta_payne.astra.queue.parallel`) or
jobs on many (``zeta-payne worker``, ``zeta-payne srun``) — share the pending work of one
database through :mod:`zeta_payne.astra.queue.claims`, so that each spectrum is fitted once per
ASTRA version and bundle, also while new spectra arrive. What a worker guarantees:

* **atomic batches** — the result rows of a batch, the release of its claims and the
  worker's counters are one transaction; a worker killed (even by SIGKILL) loses only its
  uncommitted batch, which another worker — or the next run — takes over;
* **products** — model-flux files are written before their rows (temporary file + rename);
  a killed writer's temporary files are removed when its claims are taken over, and a
  product left from an earlier fit whose new result is flagged bad is removed;
* **database faults** — every unit of database work is retried with backoff
  (:mod:`zeta_payne.astra.queue.retry`), so a dropped connection or a PostgreSQL restart only
  pauses the run; a database that stays away ends the worker with a clear message;
* **poison spectra** — a claim taken over from a dead worker is refitted; once taken over
  twice its spectra are fitted one per transaction, and after ``max_attempts`` tries a
  spectrum gets a row flagged ``runtime_exception`` instead of killing workers for ever;
* **SIGTERM** (Slurm's time limit, Ctrl-C) — the worker commits what it has fitted,
  releases the rest of its batch, and ends.

A worker ends when nothing is pending; by default it first waits for spectra claimed by
other workers (so a rerun after a crash finishes what the dead worker held).
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peewee import PostgresqlDatabase

from zeta_payne.astra.database import present_models
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.pipeline import PIPELINES, InstrumentPipeline
from zeta_payne.astra.products import DEFAULT_PRODUCT_DIR, product_path
from zeta_payne.astra.queue import claims as cl
from zeta_payne.astra.queue.retry import (
    TRANSIENT,
    DatabaseUnavailable,
    RetryPolicy,
    reset_connection,
    retrying,
)
from zeta_payne.astra.queue.summary import RowCounts
from zeta_payne.astra.routing import Routing, pending_query
from zeta_payne.astra.standin.task import bulk_upsert
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.result import FitResult
from zeta_payne.io.sdss.fitsutil import remove_temporary_files
from zeta_payne.io.sdss.paths import expand_path

__all__ = ["WorkerOptions", "WorkerSummary", "pending_count", "run_worker"]

log = logging.getLogger(__name__)

#: ``progress(instrument, done, total)``: ``done == 0`` at the start, then after each fitted spectrum.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class WorkerOptions:
    """What a worker fits and how.

    Attributes
    ----------
    instruments : tuple of str
        ``"boss"`` and/or ``"apogee"``.
    bundles : mapping
        ``{instrument: bundle spec}`` (name, ``name@version`` or folder; default bundles
        when absent).
    fit_options : mapping or None
        Overrides of each bundle's fit defaults.
    device : str
        Torch device.
    output_dir : str or None
        Folder of the model-flux products (``None``: none).
    routing : Routing
        Which spectra ZETA-PAYNE gets.
    reprocess_before : datetime or None
        Also refit spectra whose result row is older than this (``--reprocess``: the time
        the run was started, shared by all its workers so that none redoes another's rows).
    limit : int or None
        At most this many spectra per instrument (this worker).
    batch_size : int
        Spectra claimed and committed together.
    chunk_size : int, optional
        Spectra read and fitted together inside a batch, as one batch of the batched
        fitter (default: chosen from the device's memory,
        :meth:`~zeta_payne.astra.pipeline.InstrumentPipeline.batch_size`).
    stale_after : float
        A worker whose heartbeat is older than this [s] is taken for dead.
    heartbeat_every : float
        Heartbeat period [s] (a background thread on PostgreSQL).
    wait : bool
        Before ending, wait for spectra claimed by other workers.
    poll : float
        Pause while waiting [s].
    max_attempts : int
        Tries of a spectrum whose workers died before it gets a failure row.
    label : str or None
        Stored with the worker row (run id, Slurm job).
    retry : RetryPolicy
        Retries of database work.
    """

    instruments: tuple[str, ...] = ("boss", "apogee")
    bundles: Mapping[str, Any] = field(default_factory=dict)
    fit_options: Mapping[str, Any] | None = None
    device: str = "cpu"
    output_dir: str | None = DEFAULT_PRODUCT_DIR
    routing: Routing = field(default_factory=Routing)
    reprocess_before: datetime.datetime | None = None
    limit: int | None = None
    batch_size: int = 32
    chunk_size: int | None = None
    stale_after: float = 300.0
    heartbeat_every: float = 30.0
    wait: bool = True
    poll: float = 5.0
    max_attempts: int = 3
    label: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class WorkerSummary(RowCounts):
    """What one worker (or several, merged) did: row counts (:class:`RowCounts`) and the
    claiming bookkeeping."""

    batches: int = 0
    taken_over: int = 0
    released: int = 0
    abandoned: int = 0
    retries: int = 0
    elapsed: float = 0.0
    status: str = cl.RUNNING
    message: str | None = None
    workers: list[int] = field(default_factory=list)

    def merge(self, other: WorkerSummary) -> None:
        """Add ``other``'s numbers to these."""
        for (instrument, model), counts in other.counts.items():
            mine = self.add(instrument, model)
            for name, value in counts.items():
                mine[name] += value
        self.errors.update(other.errors)
        for name in ("batches", "taken_over", "released", "abandoned", "retries"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.elapsed = max(self.elapsed, other.elapsed)
        self.workers.extend(other.workers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = {k: v for k, v in self.__dict__.items() if k != "counts"}
        out["counts"] = [{"instrument": i, "model": m, **c} for (i, m), c in self.counts.items()]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkerSummary:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        counts = {}
        for item in values.pop("counts", []):
            item = dict(item)
            counts[(item.pop("instrument"), item.pop("model"))] = item
        return cls(counts=counts, **values)


@dataclass
class _Unit:
    """One spectrum model of one instrument."""

    instrument: str
    pipeline: InstrumentPipeline
    model: type

    @property
    def kind(self) -> str:
        return self.model.__name__


class _Heartbeat(threading.Thread):
    """Beats in the background on its own connection (PostgreSQL; SQLite beats inline)."""

    def __init__(self, database: Any, worker: int, every: float) -> None:
        super().__init__(name=f"zeta-payne-heartbeat-{worker}", daemon=True)
        self.database, self.worker, self.every = database, worker, every
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            try:
                cl.heartbeat(self.worker)
            except TRANSIENT as exc:
                log.warning("heartbeat of worker %s failed: %s", self.worker, exc)
                reset_connection(self.database)
        reset_connection(self.database)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)


class _Worker:
    def __init__(self, options: WorkerOptions, stop: threading.Event, progress: Progress | None) -> None:
        self.options = options
        self.stop = stop
        self.progress = progress
        self.database = ZetaPayne._meta.database
        self.identity = cl.WorkerIdentity.current()
        self.summary = WorkerSummary()
        self.pk = -1
        self.units: list[_Unit] = []
        self.claimed: dict[str, int] = {}
        self.totals: dict[str, int] = {}

    # -- database work, retried ---------------------------------------------------------
    def db(self, unit: Callable[[], Any], what: str) -> Any:
        tries = {"n": 0}

        def counted() -> Any:
            tries["n"] += 1
            return unit()

        try:
            return retrying(self.database, counted, self.options.retry, what)
        finally:
            self.summary.retries += tries["n"] - 1

    # -- set up --------------------------------------------------------------------------
    def prepare(self) -> None:
        opts = self.options
        for instrument in opts.instruments:
            pipeline = PIPELINES[instrument](
                (opts.bundles or {}).get(instrument),
                dict(opts.fit_options or {}),
                opts.device,
                opts.output_dir,
            )
            error = pipeline.prepare()
            if error is not None:
                self.summary.errors[instrument] = error
                continue
            self.claimed[instrument] = 0
            self.units.extend(_Unit(instrument, pipeline, model) for model in present_models(pipeline.models))

    def pending(self, unit: _Unit) -> Any:
        opts = self.options
        cutoff = opts.reprocess_before
        query = pending_query(unit.model, unit.pipeline.bundle, opts.routing, reprocess=cutoff is not None)
        if cutoff is not None:
            query = query.where(ZetaPayne.task_pk.is_null() | (ZetaPayne.modified < cutoff))
        return query

    def room(self, instrument: str) -> int:
        limit = self.options.limit
        left = self.options.batch_size if limit is None else limit - self.claimed[instrument]
        return max(0, min(self.options.batch_size, left))

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        opts = self.options
        kinds = [u.kind for u in self.units]
        by_kind = {u.kind: u for u in self.units}
        if self.progress:
            for unit in self.units:
                n = self.db(lambda u=unit: self.pending(u).count(), "counting the pending spectra")
                self.totals[unit.instrument] = self.totals.get(unit.instrument, 0) + n
            for instrument, n in self.totals.items():
                if opts.limit is not None:
                    self.totals[instrument] = n = min(n, opts.limit)
                self.progress(instrument, 0, n)
        while self.units and not self.stop.is_set():
            if not isinstance(self.database, PostgresqlDatabase):
                self.db(lambda: cl.heartbeat(self.pk), "heartbeat")
            self.db(lambda: cl.mark_dead_workers(opts.stale_after, self.identity), "looking for dead workers")
            taken = self.db(
                lambda: cl.take_over_claims(self.pk, kinds, opts.batch_size), "taking over claims"
            )
            if taken:
                self.summary.taken_over += len(taken)
                for kind in dict.fromkeys(c.kind for c in taken):
                    self.process(by_kind[kind], [c for c in taken if c.kind == kind], taken_over=True)
                continue
            if self.claim_fresh():
                continue
            if not opts.wait or all(self.room(i) == 0 for i in self.claimed):
                break
            others = self.db(lambda: cl.claimed_elsewhere(self.pk, kinds), "counting claims")
            if not others:
                break
            log.info("worker %s: waiting for %d spectra claimed by other workers", self.pk, others)
            self.stop.wait(opts.poll)

    def claim_fresh(self) -> bool:
        for unit in self.units:
            if self.stop.is_set():
                return False
            for _ in range(3):  # a lost race returns nothing although work is left
                n = self.room(unit.instrument)
                if n == 0:
                    break
                pks = self.db(
                    lambda u=unit, n=n: cl.claim_batch(self.pk, u.model, self.pending(u), n),
                    f"claiming {unit.kind}",
                )
                if pks:
                    self.claimed[unit.instrument] += len(pks)
                    self.process(unit, [cl.Claim(pk, unit.kind, 1) for pk in pks])
                    return True
                unclaimed = self.db(
                    lambda u=unit: cl.has_unclaimed(u.model, self.pending(u)), f"looking for {unit.kind}"
                )
                if not unclaimed:
                    break
        return False

    # -- one batch -----------------------------------------------------------------------
    def process(self, unit: _Unit, claims: list[cl.Claim], taken_over: bool = False) -> None:
        model = unit.model
        pks = [c.spectrum_pk for c in claims]
        if taken_over:
            self.remove_temporary_files(pks)
        rows = self.db(
            lambda: list(self.pending(unit).where(model.spectrum_pk.in_(pks))), f"reading {unit.kind}"
        )
        found = {int(r.spectrum_pk) for r in rows}
        done_elsewhere = [pk for pk in pks if pk not in found]
        if done_elsewhere:
            self.summary.released += len(done_elsewhere)
            self.db(lambda: cl.release_claims(self.pk, done_elsewhere), "releasing claims")
        attempts = {c.spectrum_pk: c.attempts for c in claims}
        limit = self.options.max_attempts
        give_up = [r for r in rows if attempts[int(r.spectrum_pk)] > limit]
        isolate = [r for r in rows if 2 < attempts[int(r.spectrum_pk)] <= limit]
        normal = [r for r in rows if attempts[int(r.spectrum_pk)] <= 2]
        if give_up:
            self.abandon(unit, give_up, limit)
        if normal:
            self.fit_and_commit(unit, normal)
        for row in isolate:
            if self.stop.is_set():
                break
            self.fit_and_commit(unit, [row])
        if self.stop.is_set():
            self.remove_uncommitted_products(pks)
            self.db(lambda: cl.release_claims(self.pk), "releasing claims")

    def abandon(self, unit: _Unit, spectra: list[Any], limit: int) -> None:
        labels = unit.pipeline.fitter.label_names
        message = f"given up after {limit} workers died fitting this spectrum"
        rows = []
        for spectrum in spectra:
            log.error("spectrum %s: %s", spectrum.spectrum_pk, message)
            result = FitResult.failed(labels, ResultFlags.RUNTIME_EXCEPTION, message)
            rows.append(unit.pipeline.row(spectrum, None, result, 0.0))
        self.summary.abandoned += len(rows)
        self.commit(unit, rows)

    def fit_and_commit(self, unit: _Unit, spectra: list[Any]) -> None:
        """Fit ``spectra`` with the unit's pipeline, chunk by chunk, and commit the rows.

        The pipeline is called directly (not through the ``@task`` generator: the worker does
        its own writing, in one transaction with its claims). On a stop request the worker
        ends after the chunk in hand, so every fitted spectrum (and its product) is committed.
        """
        opts = self.options
        size = max(1, opts.chunk_size or unit.pipeline.batch_size())
        start = time.perf_counter()
        rows: list[Any] = []
        for first in range(0, len(spectra), size):
            for row in unit.pipeline.fit_chunk(spectra[first : first + size], None):
                rows.append(row)
                if self.progress:
                    self.report_progress(unit.instrument, len(rows))
            if self.stop.is_set() and first + size < len(spectra):
                log.warning("worker %s: stopping; committing %d fitted spectra", self.pk, len(rows))
                break
        fitted = sum(r.t_elapsed or 0.0 for r in rows)
        overhead = max(0.0, time.perf_counter() - start - fitted) / max(1, len(rows))
        for row in rows:
            row.t_overhead = overhead
            row.t_elapsed = (row.t_elapsed or 0.0) + overhead
        self.commit(unit, rows)

    def commit(self, unit: _Unit, rows: list[Any]) -> None:
        if not rows:
            return
        pks = [int(r.spectrum_pk) for r in rows]
        n_bad = sum(bool(r.flag_bad) for r in rows)
        worker = cl.ZetaPayneWorker

        def unit_of_work() -> None:
            with self.database.atomic():
                bulk_upsert(rows)
                cl.release_claims(self.pk, pks)
                worker.update(
                    n_done=worker.n_done + len(rows), n_bad=worker.n_bad + n_bad, heartbeat=time.time()
                ).where(worker.pk == self.pk).execute()

        self.db(unit_of_work, f"committing {len(rows)} results")
        self.summary.batches += 1
        self.summary.add(unit.instrument, unit.kind, rows)
        self.remove_stale_products(rows)

    def report_progress(self, instrument: str, fitted: int) -> None:
        """``progress(instrument, done, total)``: committed spectra plus ``fitted`` not yet committed."""
        done = fitted + sum(c["fitted"] for (i, _), c in self.summary.counts.items() if i == instrument)
        self.progress(instrument, done, max(self.totals.get(instrument, 0), done))

    # -- files ---------------------------------------------------------------------------
    def product(self, spectrum_pk: int) -> str | None:
        from zeta_payne.astra import compat

        if not self.options.output_dir:
            return None
        return expand_path(product_path(self.options.output_dir, spectrum_pk, compat.astra_version))

    def remove_temporary_files(self, pks: Iterable[int]) -> None:
        for pk in pks:
            path = self.product(pk)
            if path and os.path.isdir(os.path.dirname(path)):
                n = remove_temporary_files(path, keep_pid=os.getpid())
                if n:
                    log.info("removed %d temporary file(s) of a dead worker next to %s", n, path)

    def remove_uncommitted_products(self, pks: Iterable[int]) -> None:
        """After a stop: remove products written for spectra of the batch whose rows were not
        committed (a chunk is fitted, and its products written, before its rows are taken)."""
        pks = list(pks)
        if not self.options.output_dir or not pks:
            return
        kept = self.db(
            lambda: {
                expand_path(r.model_flux_path)
                for r in ZetaPayne.select(ZetaPayne.model_flux_path).where(ZetaPayne.spectrum_pk.in_(pks))
                if r.model_flux_path
            },
            "reading the committed products",
        )
        for pk in pks:
            path = self.product(pk)
            if path and path not in kept and os.path.exists(path):
                try:
                    os.remove(path)
                    log.info("removed %s: its spectrum was not committed before the stop", path)
                except OSError as exc:
                    log.warning("could not remove %s: %s", path, exc)

    def remove_stale_products(self, rows: Iterable[Any]) -> None:
        for row in rows:
            if row.model_flux_path:
                continue
            path = self.product(int(row.spectrum_pk))
            if path and os.path.exists(path):
                try:
                    os.remove(path)
                    log.info("removed %s: the new result of spectrum %s has none", path, row.spectrum_pk)
                except OSError as exc:
                    log.warning("could not remove the stale product %s: %s", path, exc)


def run_worker(
    options: WorkerOptions | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> WorkerSummary:
    """Fit pending spectra of the bound database until none is left (see the module docstring).

    Parameters
    ----------
    options : WorkerOptions, optional
        What and how (default :class:`WorkerOptions()`).
    stop : threading.Event, optional
        Set it (e.g. from a SIGTERM handler) to commit what is fitted and end.
    progress : callable, optional
        ``progress(instrument, 0, total)`` at the start (``total`` capped by ``limit``), then
        ``progress(instrument, done, total)`` after each fitted spectrum.

    Returns
    -------
    WorkerSummary
        Counts; ``errors`` names instruments whose bundle could not be loaded.

    Raises
    ------
    DatabaseUnavailable
        The database stayed unreachable longer than the retry budget.
    """
    options = options or WorkerOptions()
    worker = _Worker(options, stop or threading.Event(), progress)
    start = time.monotonic()
    worker.pk = worker.db(
        lambda: cl.register_worker(worker.identity, options.label), "registering the worker"
    )
    worker.summary.workers.append(worker.pk)
    beat = None
    if isinstance(worker.database, PostgresqlDatabase):
        beat = _Heartbeat(worker.database, worker.pk, options.heartbeat_every)
        beat.start()
    status, message = cl.FAILED, None
    try:
        worker.prepare()
        worker.run()
        status = cl.STOPPED if worker.stop.is_set() else cl.FINISHED
    except DatabaseUnavailable as exc:
        message = str(exc)
        raise
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if beat is not None:
            beat.stop()
        worker.summary.status, worker.summary.message = status, message
        worker.summary.elapsed = time.monotonic() - start
        try:
            short = RetryPolicy(budget=min(30.0, options.retry.budget))
            retrying(
                worker.database, lambda: cl.finish_worker(worker.pk, status, message), short, "finishing"
            )
        except DatabaseUnavailable as exc:
            log.error("worker %s: could not record its end: %s", worker.pk, exc)
    return worker.summary


def pending_count(options: WorkerOptions | None = None) -> int:
    """Spectra pending for workers with ``options`` (claimed ones included) in the bound database."""
    worker = _Worker(options or WorkerOptions(), threading.Event(), None)
    worker.prepare()
    return sum(worker.pending(unit).count() for unit in worker.units)
