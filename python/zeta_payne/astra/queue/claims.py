"""Claiming work safely among many workers: the ``zeta_payne_worker`` and ``zeta_payne_claim`` tables.

Every worker process registers a :class:`ZetaPayneWorker` row (host, pid, heartbeat) and
takes its spectra in batches by inserting :class:`ZetaPayneClaim` rows, whose primary key
``(spectrum_pk, v_astra_major_minor)`` makes a spectrum claimable by one worker at a time:

* **claim** — one statement ``INSERT INTO zeta_payne_claim SELECT … <pending, unclaimed>
  ORDER BY … LIMIT n [FOR UPDATE OF <spectrum table> SKIP LOCKED] ON CONFLICT DO NOTHING
  RETURNING spectrum_pk``: concurrent workers skip each other's rows (PostgreSQL) or are
  serialised (SQLite's single writer), and a lost race on a key inserts nothing;
* **verify** — the claimed spectra are then loaded with the work query again, in a new
  statement: one that another worker finished between the two statements is no longer
  pending and its claim is released, so no spectrum is fitted twice;
* **commit** — the batch's result rows, the deletion of its claims and the worker's counters
  are written in one transaction: a worker killed before that loses only its batch;
* **take over** — claims of workers that are not running any more (heartbeat older than
  ``stale_after``, or a process on this host that is gone) are taken over, with ``attempts``
  counting how often a claim was taken over: the caller isolates repeatedly failing spectra
  and gives up on them after ``max_attempts`` (a "poison" spectrum that kills its worker).

New spectra that arrive during a run simply show up in the next claim. Times are client
epoch seconds (keep the clocks of the nodes synchronised; ``stale_after`` ≫ clock skew).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    CompositeKey,
    DoubleField,
    IntegerField,
    NodeList,
    PostgresqlDatabase,
    TextField,
    Value,
    fn,
)

from zeta_payne.astra import compat

__all__ = [
    "Claim",
    "WorkerIdentity",
    "ZetaPayneClaim",
    "ZetaPayneWorker",
    "claim_batch",
    "claimed_elsewhere",
    "has_unclaimed",
    "mark_dead_workers",
    "process_alive",
    "register_worker",
    "release_claims",
    "take_over_claims",
]

log = logging.getLogger(__name__)

#: Worker states.
RUNNING, FINISHED, STOPPED, FAILED, DEAD = "running", "finished", "stopped", "failed", "dead"


class ZetaPayneWorker(compat.BaseModel):
    """One worker process: where it runs, its heartbeat and what it has committed."""

    pk = AutoField()
    label = TextField(null=True, help_text="Free label (run id, Slurm job and array task)")
    host = TextField(help_text="Host name")
    pid = IntegerField(help_text="Process id on that host")
    proc_start = TextField(null=True, help_text="Process start time on that host (Linux /proc)")
    started = DoubleField(help_text="Start time [epoch s]")
    heartbeat = DoubleField(help_text="Last sign of life [epoch s]")
    finished = DoubleField(null=True, help_text="End time [epoch s]")
    status = TextField(default=RUNNING, index=True, help_text="running/finished/stopped/failed/dead")
    n_done = IntegerField(default=0, help_text="Result rows committed")
    n_bad = IntegerField(default=0, help_text="Committed rows flagged bad")
    message = TextField(null=True, help_text="Why it ended, if not normally")


class ZetaPayneClaim(compat.BaseModel):
    """A spectrum being fitted by a worker (deleted when its result row is committed)."""

    spectrum_pk = BigIntegerField()
    v_astra_major_minor = IntegerField()
    kind = TextField(help_text="Spectrum model name")
    worker = IntegerField(index=True, help_text="ZetaPayneWorker.pk of the holder")
    claimed = DoubleField(help_text="When claimed or taken over [epoch s]")
    attempts = IntegerField(default=1, help_text="1 + times taken over from a dead worker")

    class Meta:
        primary_key = CompositeKey("spectrum_pk", "v_astra_major_minor")


@dataclass(frozen=True)
class Claim:
    """A claim as the worker sees it."""

    spectrum_pk: int
    kind: str
    attempts: int


@dataclass(frozen=True)
class WorkerIdentity:
    """Who this process is (host, pid and its start time, to survive pid reuse)."""

    host: str
    pid: int
    proc_start: str | None

    @classmethod
    def current(cls) -> WorkerIdentity:
        """This process."""
        return cls(socket.gethostname(), os.getpid(), process_start(os.getpid()))


def process_start(pid: int) -> str | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), else ``None``."""
    try:
        with open(f"/proc/{int(pid)}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, proc_start: str | None) -> bool:
    """Whether process ``pid`` (started at ``proc_start``) still runs on this host."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    now = process_start(pid)
    if proc_start is None or now is None:
        return True
    if now != proc_start:
        return False  # the pid was reused
    try:
        with open(f"/proc/{int(pid)}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")  # a zombie (killed, not yet reaped) is gone


def _version() -> int:
    return compat.current_v_astra() // 1000


def register_worker(identity: WorkerIdentity, label: str | None = None) -> int:
    """Insert this worker's row; its primary key."""
    now = time.time()
    row = ZetaPayneWorker.create(
        label=label,
        host=identity.host,
        pid=identity.pid,
        proc_start=identity.proc_start,
        started=now,
        heartbeat=now,
        status=RUNNING,
    )
    return int(row.pk)


def heartbeat(worker: int) -> None:
    """Record that ``worker`` is alive (and running again, had another worker taken it for dead
    while its heartbeats could not reach the database)."""
    w = ZetaPayneWorker
    w.update(heartbeat=time.time(), status=RUNNING, finished=None).where(w.pk == worker).execute()


def finish_worker(worker: int, status: str, message: str | None = None) -> None:
    """Set the final state of ``worker`` and release whatever it still holds."""
    now = time.time()
    ZetaPayneWorker.update(status=status, finished=now, heartbeat=now, message=message).where(
        ZetaPayneWorker.pk == worker
    ).execute()
    release_claims(worker)


def _unclaimed(model: type, pending: Any) -> Any:
    claim = ZetaPayneClaim
    taken = claim.select(SQL("1")).where(
        (claim.spectrum_pk == model.spectrum_pk) & (claim.v_astra_major_minor == _version())
    )
    return pending.where(~fn.EXISTS(taken))


def has_unclaimed(model: type, pending: Any) -> bool:
    """Whether the work query ``pending`` over ``model`` has spectra nobody claimed."""
    return bool(_unclaimed(model, pending).exists())


def claim_batch(worker: int, model: type, pending: Any, n: int) -> list[int]:
    """Claim up to ``n`` spectra of ``model`` from the work query ``pending``.

    Parameters
    ----------
    worker : int
        The claiming worker.
    model : type
        Spectrum model of ``pending``.
    pending : peewee.ModelSelect
        The work query (:func:`zeta_payne.astra.routing.pending_query`, without limit).
    n : int
        Batch size.

    Returns
    -------
    list of int
        ``spectrum_pk`` of the claimed spectra (possibly fewer than ``n``: other workers
        won a race, or less work is left).
    """
    version = _version()
    claim = ZetaPayneClaim
    source = _unclaimed(model, pending).select(
        model.spectrum_pk,
        Value(version),
        Value(model.__name__),
        Value(int(worker)),
        Value(time.time()),
        Value(1),
    )
    source = source.limit(int(n))
    if isinstance(model._meta.database, PostgresqlDatabase):
        # "FOR UPDATE OF <model> SKIP LOCKED", spelled so that peewee 3 (no skip_locked=
        # keyword; it would put SKIP LOCKED before OF) and peewee 4 write the same SQL.
        source = source.for_update("FOR UPDATE", of=NodeList((model, SQL("SKIP LOCKED"))))
    fields = [
        claim.spectrum_pk,
        claim.v_astra_major_minor,
        claim.kind,
        claim.worker,
        claim.claimed,
        claim.attempts,
    ]
    query = claim.insert_from(source, fields).on_conflict_ignore().returning(claim.spectrum_pk).tuples()
    with claim._meta.database.atomic():
        return [int(pk) for (pk,) in query.execute()]


def claimed_elsewhere(worker: int, kinds: Iterable[str]) -> int:
    """Claims on spectra of ``kinds`` held by other workers."""
    claim = ZetaPayneClaim
    return (
        claim.select()
        .where(
            (claim.worker != worker) & (claim.v_astra_major_minor == _version()) & claim.kind.in_(list(kinds))
        )
        .count()
    )


def release_claims(worker: int, spectrum_pks: Sequence[int] | None = None) -> int:
    """Delete claims of ``worker`` (those of ``spectrum_pks``, or all); how many."""
    claim = ZetaPayneClaim
    query = claim.delete().where(claim.worker == worker)
    if spectrum_pks is not None:
        if not spectrum_pks:
            return 0
        query = query.where(claim.spectrum_pk.in_([int(pk) for pk in spectrum_pks]))
    return int(query.execute())


def mark_dead_workers(stale_after: float, identity: WorkerIdentity | None = None) -> list[dict[str, Any]]:
    """Mark running workers dead: heartbeat older than ``stale_after`` seconds, or (with
    ``identity``) a process on the same host that no longer runs.

    Returns the workers marked, as dicts (``pk, host, pid, label``).
    """
    w = ZetaPayneWorker
    candidates = list(
        w.select(w.pk, w.host, w.pid, w.proc_start, w.heartbeat, w.label).where(w.status == RUNNING).dicts()
    )
    cutoff = time.time() - float(stale_after)
    dead = []
    for row in candidates:
        if identity is not None and row["pid"] == identity.pid and row["host"] == identity.host:
            if row["proc_start"] == identity.proc_start:
                continue  # that is me
        local = identity is not None and row["host"] == identity.host
        gone = local and not process_alive(row["pid"], row["proc_start"])
        if gone or row["heartbeat"] < cutoff:
            why = "process gone" if gone else f"no heartbeat for {time.time() - row['heartbeat']:.0f} s"
            changed = (
                w.update(status=DEAD, finished=time.time(), message=why)
                .where((w.pk == row["pk"]) & (w.status == RUNNING))
                .execute()
            )
            if changed:
                log.warning("worker %s (%s pid %s) is dead: %s", row["pk"], row["host"], row["pid"], why)
                dead.append(row)
    return dead


def take_over_claims(worker: int, kinds: Iterable[str], n: int) -> list[Claim]:
    """Take over up to ``n`` claims on spectra of ``kinds`` whose holder is not running.

    ``attempts`` of each claim taken over grows by one.
    """
    claim, w = ZetaPayneClaim, ZetaPayneWorker
    running = w.select(w.pk).where(w.status == RUNNING)
    orphaned = (claim.worker.not_in(running)) & (claim.v_astra_major_minor == _version())
    orphaned &= claim.kind.in_(list(kinds))
    keys = claim.select(claim.spectrum_pk).where(orphaned).order_by(claim.claimed).limit(int(n))
    query = (
        claim.update(worker=int(worker), attempts=claim.attempts + 1, claimed=time.time())
        .where(orphaned & claim.spectrum_pk.in_(keys))
        .returning(claim.spectrum_pk, claim.kind, claim.attempts)
        .tuples()
    )
    with claim._meta.database.atomic():
        return [Claim(int(pk), str(kind), int(attempts)) for pk, kind, attempts in query.execute()]
