"""Surviving database faults: retries with backoff, and failing fast when nothing answers.

A dropped connection, a PostgreSQL restart, a deadlock or a locked SQLite file surface in
peewee as :class:`peewee.OperationalError` or :class:`peewee.InterfaceError`; so do errors
that no retry can mend (an SQL syntax error, a missing table), which :func:`is_transient`
tells apart and which are raised at once. A unit of
database work (one transaction) is then rolled back, the connection thrown away, and the
unit run again after a growing pause — as long as the policy's time budget lasts; after
that :class:`DatabaseUnavailable` says what failed and since when. Every unit given to
:func:`retrying` must be safe to run again (the worker's units are: claims are re-read,
results are upserted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from peewee import Database, InterfaceError, OperationalError

from zeta_payne.exceptions import ZetaPayneError

__all__ = [
    "DatabaseUnavailable",
    "RetryPolicy",
    "connect",
    "is_transient",
    "reset_connection",
    "retrying",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Error types that may be transient; :func:`is_transient` decides for each error.
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
#: SQLite messages of transient conditions (another writer, a full or slow disk).
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy",
                     "disk i/o error")
#: PostgreSQL SQLSTATE classes of transient conditions: connection exceptions (08),
#: transaction rollback — deadlocks, serialisation failures (40), insufficient resources
#: (53), operator intervention — shutdowns, restarts (57), system errors (58).
_PG_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
#: ... and "lock not available" (55P03).
_PG_TRANSIENT_CODES = ("55P03",)


def _driver_error(exc: BaseException) -> BaseException | None:
    """The driver's exception behind a peewee exception: peewee 4 keeps it as ``orig``,
    peewee 3 as ``args[0]``, and both chain it (sometimes through another peewee error)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if item is not exc and not type(item).__module__.startswith("peewee"):
            return item
        todo.extend([getattr(item, "orig", None), *item.args[:1], item.__cause__, item.__context__])
    return None


def is_transient(exc: BaseException) -> bool:
    """Whether a database error may go away when the same work is tried again.

    Lost or refused connections, restarts, deadlocks, serialisation failures and locked
    SQLite files are; syntax errors, missing tables or columns, constraint violations and
    every other error are not (retrying them only delays the message).
    """
    if isinstance(exc, InterfaceError):  # a connection that is already closed
        return True
    if not isinstance(exc, OperationalError):
        return False
    driver = _driver_error(exc)
    code = getattr(driver, "pgcode", None)
    if code:
        return code[:2] in _PG_TRANSIENT_CLASSES or code in _PG_TRANSIENT_CODES
    if type(driver).__module__.startswith("psycopg"):
        return True  # no SQLSTATE: the connection itself failed (server gone, refused)
    text = f"{exc} {driver if driver is not None else ''}".lower()
    return any(marker in text for marker in _SQLITE_TRANSIENT)


class DatabaseUnavailable(ZetaPayneError):
    """The database could not be reached (or kept failing) within the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry.

    Attributes
    ----------
    budget : float
        Give up when the next try would start more than this many seconds after the first
        failure.
    initial : float
        First pause [s].
    factor : float
        Each pause is this many times the previous one ...
    max_delay : float
        ... up to this [s].
    """

    budget: float = 300.0
    initial: float = 0.5
    factor: float = 2.0
    max_delay: float = 15.0

    def delays(self) -> Callable[[], float | None]:
        """A function giving the next pause, or ``None`` once the budget is spent."""
        start = time.monotonic()
        state = {"delay": self.initial}

        def next_delay() -> float | None:
            delay = state["delay"]
            if time.monotonic() - start + delay > self.budget:
                return None
            state["delay"] = min(delay * self.factor, self.max_delay)
            return delay

        return next_delay


#: Connecting at start-up: a database that is down now is reported within seconds.
STARTUP = RetryPolicy(budget=10.0, initial=0.5, factor=2.0, max_delay=4.0)


def reset_connection(database: Database) -> None:
    """Throw the current connection away (it may be dead); the next query reconnects."""
    try:
        if not database.is_closed():
            database.close()
    except Exception as exc:  # a dead connection may fail to close: forget it
        log.debug("closing a broken connection: %s", exc)
        state = getattr(database, "_state", None)
        if state is not None:
            state.reset()


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def retrying(
    database: Database,
    unit: Callable[[], T],
    policy: RetryPolicy = RetryPolicy(),
    what: str = "database work",
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``unit`` (one transaction's worth of work), retrying on transient errors.

    Parameters
    ----------
    database : peewee.Database
        The database ``unit`` uses.
    unit : callable
        Does the work (inside its own transaction); must be safe to run again.
    policy : RetryPolicy
        Backoff and time budget.
    what : str
        Named in log messages and errors.
    sleep : callable
        Pause function (tests).

    Raises
    ------
    DatabaseUnavailable
        Still failing when the budget is spent.
    """
    next_delay = policy.delays()
    attempt = 0
    while True:
        try:
            return unit()
        except TRANSIENT as exc:
            if not is_transient(exc):
                raise
            attempt += 1
            reset_connection(database)
            delay = next_delay()
            if delay is None:
                raise DatabaseUnavailable(
                    f"{what}: the database kept failing for {policy.budget:.0f} s "
                    f"({attempt} tries); last error: {_describe(exc)}"
                ) from exc
            log.warning("%s failed (%s); retry %d in %.1f s", what, _describe(exc), attempt, delay)
            sleep(delay)


def connect(database: Database, description: str, policy: RetryPolicy = STARTUP) -> None:
    """Open the connection, retrying briefly; fail fast with a clear message.

    Raises
    ------
    DatabaseUnavailable
        The database did not answer within ``policy.budget`` seconds.
    """

    def unit() -> None:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1")

    try:
        retrying(database, unit, policy, what=f"connecting to {description}")
    except DatabaseUnavailable as exc:
        cause = exc.__cause__
        raise DatabaseUnavailable(
            f"cannot reach the database {description} "
            f"(tried for {policy.budget:.0f} s): {_describe(cause) if cause else exc}"
        ) from cause
