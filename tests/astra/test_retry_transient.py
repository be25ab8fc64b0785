"""Only transient database errors are retried; every other error is raised at once."""

from __future__ import annotations

import sqlite3

import peewee
import pytest

from tests.astra.conftest import POSTGRES_URL
from zeta_payne.astra.queue.retry import RetryPolicy, is_transient, retrying


def _no_sleep(calls: list[float]):
    return lambda delay: calls.append(delay)


def test_sqlite_syntax_error_is_not_retried(tmp_path):
    db = peewee.SqliteDatabase(str(tmp_path / "x.sqlite"))
    calls: list[float] = []
    with pytest.raises(peewee.OperationalError, match="syntax error"):
        retrying(db, lambda: db.execute_sql("SELEC 1"), RetryPolicy(budget=5), sleep=_no_sleep(calls))
    assert calls == []


def test_sqlite_missing_table_is_not_retried(tmp_path):
    db = peewee.SqliteDatabase(str(tmp_path / "x.sqlite"))
    calls: list[float] = []
    with pytest.raises(peewee.OperationalError, match="no such table"):
        retrying(db, lambda: db.execute_sql("SELECT * FROM missing_table"), sleep=_no_sleep(calls))
    assert calls == []


def test_sqlite_locked_database_is_retried(tmp_path):
    path = str(tmp_path / "x.sqlite")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    db = peewee.SqliteDatabase(path, timeout=0.01)
    calls: list[float] = []

    def sleep(delay: float) -> None:
        calls.append(delay)
        if len(calls) == 2:
            holder.execute("COMMIT")

    assert retrying(db, lambda: db.execute_sql("INSERT INTO t VALUES (1)").rowcount, sleep=sleep) == 1
    assert len(calls) == 2


def test_classification_of_wrapped_driver_errors():
    assert is_transient(peewee.OperationalError(sqlite3.OperationalError("database is locked")))
    assert not is_transient(peewee.OperationalError(sqlite3.OperationalError('near "USING": syntax error')))
    assert is_transient(peewee.InterfaceError("connection already closed"))
    assert not is_transient(peewee.IntegrityError("UNIQUE constraint failed"))
    assert not is_transient(ValueError("not a database error"))


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="ZETA_PAYNE_TEST_POSTGRES_URL not set")
def test_postgres_syntax_error_is_not_retried_but_a_refused_connection_is():
    from zeta_payne.astra.database import open_database, parse_url

    db = open_database(parse_url(POSTGRES_URL))
    calls: list[float] = []
    with pytest.raises(peewee.ProgrammingError):
        retrying(db, lambda: db.execute_sql("SELEC 1"), sleep=_no_sleep(calls))
    assert calls == []
    db.close()
    dead = peewee.PostgresqlDatabase("nothing", host="127.0.0.1", port=1, connect_timeout=1)
    with pytest.raises(peewee.OperationalError) as info:
        dead.connect()
    assert is_transient(info.value)
