"""Binding the database for long runs: connection timeouts, TCP keepalives, failing fast.

:func:`zeta_payne.astra.database.bound_database` serves short commands. Workers run for
hours, so here PostgreSQL connections also get a connect timeout and TCP keepalives (a
server that vanished without closing the connection is noticed within about a minute),
and the first connection is retried only briefly: a database that is down at start-up is
reported within seconds (:class:`~zeta_payne.astra.queue.retry.DatabaseUnavailable`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from peewee import Database

from zeta_payne.astra import compat
from zeta_payne.astra.database import (
    DatabaseConfigError,
    DatabaseSpec,
    bind_database,
    create_tables,
    open_database,
    plugin_models,
    resolve_database,
)
from zeta_payne.astra.queue.retry import STARTUP, RetryPolicy, connect, retrying

__all__ = ["POSTGRES_DEFAULTS", "bind_for_workers", "resilient_spec", "worker_database"]

log = logging.getLogger(__name__)

#: libpq options added to PostgreSQL connections unless the URL sets them.
POSTGRES_DEFAULTS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def resilient_spec(spec: DatabaseSpec) -> DatabaseSpec:
    """``spec`` with :data:`POSTGRES_DEFAULTS` filled in (SQLite unchanged)."""
    if spec.kind != "postgresql":
        return spec
    options = {**POSTGRES_DEFAULTS, **dict(spec.options)}
    return replace(spec, options=tuple(sorted(options.items())))


def bind_for_workers(
    spec: DatabaseSpec | None, create: bool = False, policy: RetryPolicy = STARTUP
) -> Database:
    """Open, bind and connect the database of ``spec`` (``None``: ASTRA's own binding).

    Raises
    ------
    DatabaseUnavailable
        Nothing answered within ``policy.budget`` seconds.
    """
    if spec is None:
        if not compat.HAVE_ASTRA:
            raise DatabaseConfigError("no database given")
        database = plugin_models()[0]._meta.database
        description = "ASTRA's database"
    else:
        spec = resilient_spec(spec)
        database = open_database(spec)
        bind_database(database, spec.schema)
        description = spec.describe()
    connect(database, description, policy)
    if create:
        retrying(database, create_tables, policy, "creating the tables")
    log.info("database: %s", description)
    return database


@contextmanager
def worker_database(
    url: str | None = None, create: bool = True, policy: RetryPolicy = STARTUP
) -> Iterator[tuple[Database, DatabaseSpec | None]]:
    """Resolve (as :func:`~zeta_payne.astra.database.resolve_database`), bind and connect.

    Yields the database and its spec (``None`` when ASTRA's own binding is used).
    """
    spec = None if (compat.HAVE_ASTRA and not url) else resolve_database(url)
    database = bind_for_workers(spec, create, policy)
    try:
        yield database, spec
    finally:
        try:
            if not database.is_closed():
                database.close()
        except Exception as exc:  # closing a dead connection
            log.debug("closing: %s", exc)
