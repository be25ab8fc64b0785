"""Surviving database faults: retries with backoff, and failing fast when nothing answers.

A dropped connection, a PostgreSQL restart, a deadlock or a locked SQLite file surface in
peewee as :class:`peewee.OperationalError` or :class:`peewee.InterfaceError`. A unit of
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

__all__ = ["DatabaseUnavailable", "RetryPolicy", "connect", "reset_connection", "retrying"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Errors worth retrying: lost connections, restarts, deadlocks, locked SQLite files.
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


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
