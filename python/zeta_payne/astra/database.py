"""Opening and binding the database at run time (never at import).

Which database, in order: an explicit URL (``--database``), ``$ASTRA_DATABASE_PATH``
(SQLite path or ``:memory:``), config ``TESTING`` (in-memory SQLite), config
``database.dbname`` (PostgreSQL with ``user, host, password, port, schema``), config
``database.path`` (SQLite) — the same keys ASTRA reads (:mod:`zeta_payne.astra.config`).

URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite:///:memory:``, a bare
path, or ``postgresql://user[:password]@host[:port]/dbname[?schema=name]``.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from peewee import Database, PostgresqlDatabase, SqliteDatabase

from zeta_payne.astra import compat
from zeta_payne.astra.config import read_astra_config
from zeta_payne.exceptions import ZetaPayneError

__all__ = [
    "DatabaseConfigError",
    "DatabaseSpec",
    "bind_database",
    "bound_database",
    "check_schema",
    "create_tables",
    "open_database",
    "plugin_models",
    "resolve_database",
]

log = logging.getLogger(__name__)

#: Oldest SQLite with ``RETURNING`` (used by the upsert).
MIN_SQLITE = (3, 35, 0)


class DatabaseConfigError(ZetaPayneError):
    """No database was configured, or its configuration cannot be used."""


@dataclass(frozen=True)
class DatabaseSpec:
    """Where the database is: ``kind`` ("sqlite"/"postgresql"), connection values, schema."""

    kind: str
    name: str
    options: tuple[tuple[str, Any], ...] = ()
    schema: str | None = None

    def describe(self) -> str:
        """A one-line description without the password."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.name}"
        opts = dict(self.options)
        where = f"{opts.get('user', '')}@{opts.get('host', 'localhost')}:{opts.get('port', 5432)}"
        return f"postgresql://{where}/{self.name}" + (f" (schema {self.schema})" if self.schema else "")


def parse_url(url: str) -> DatabaseSpec:
    """A :class:`DatabaseSpec` from a database URL or a bare SQLite path."""
    text = str(url).strip()
    if "://" not in text:
        return DatabaseSpec("sqlite", os.path.expanduser(text))
    parsed = urlparse(text)
    scheme = parsed.scheme.lower()
    if scheme in ("sqlite", "sqlite3"):
        path = text.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path
        return DatabaseSpec("sqlite", os.path.expanduser(unquote(path)) or ":memory:")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
        options: dict[str, Any] = {}
        if parsed.username:
            options["user"] = unquote(parsed.username)
        if parsed.password:
            options["password"] = unquote(parsed.password)
        if parsed.hostname:
            options["host"] = parsed.hostname
        if parsed.port:
            options["port"] = parsed.port
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        schema = query.pop("schema", None)
        options.update(query)
        dbname = unquote(parsed.path.lstrip("/"))
        if not dbname:
            raise DatabaseConfigError(f"{url}: no database name")
        return DatabaseSpec("postgresql", dbname, tuple(sorted(options.items())), schema)
    raise DatabaseConfigError(f"unsupported database URL {url!r} (use sqlite:/// or postgresql://)")


def resolve_database(
    url: str | None = None,
    config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> DatabaseSpec:
    """Choose the database (see the module docstring for the order).

    Raises
    ------
    DatabaseConfigError
        Nothing configured.
    """
    env = os.environ if environ is None else environ
    if url:
        return parse_url(url)
    if env.get("ASTRA_DATABASE_PATH"):
        return DatabaseSpec("sqlite", os.path.expanduser(env["ASTRA_DATABASE_PATH"]))
    cfg = read_astra_config(environ=env) if config is None else config
    if cfg.get("TESTING"):
        return DatabaseSpec("sqlite", ":memory:")
    section = cfg.get("database")
    if isinstance(section, Mapping):
        if section.get("dbname"):
            keys = ("user", "host", "password", "port")
            options = tuple(sorted((k, section[k]) for k in keys if section.get(k) is not None))
            return DatabaseSpec("postgresql", str(section["dbname"]), options, section.get("schema"))
        if section.get("path"):
            return DatabaseSpec("sqlite", os.path.expanduser(os.path.expandvars(str(section["path"]))))
    raise DatabaseConfigError(
        "no database configured: pass --database URL, set ASTRA_DATABASE_PATH, or add a `database` "
        "section (dbname/user/host/port/schema, or path) to astra.yml"
    )


def open_database(spec: DatabaseSpec) -> Database:
    """A peewee database for ``spec`` (connections are opened lazily).

    Raises
    ------
    DatabaseConfigError
        SQLite older than 3.35, or PostgreSQL without psycopg2.
    """
    if spec.kind == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise DatabaseConfigError(
                f"SQLite {sqlite3.sqlite_version} is too old; {'.'.join(map(str, MIN_SQLITE))} is needed"
            )
        if spec.name != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(spec.name)), exist_ok=True)
        return SqliteDatabase(spec.name, pragmas={"foreign_keys": 1, "busy_timeout": 60000})
    try:
        import psycopg2  # noqa: F401
    except ImportError as exc:
        raise DatabaseConfigError("PostgreSQL needs psycopg2: pip install 'zeta-payne[postgres]'") from exc
    return PostgresqlDatabase(spec.name, **dict(spec.options))


def plugin_models() -> list[type]:
    """Every model the plugin reads or writes, in dependency order."""
    from zeta_payne.astra.claims import ZetaPayneClaim, ZetaPayneWorker
    from zeta_payne.astra.model import ZetaPayne

    return [
        compat.Source,
        compat.Spectrum,
        *compat.SPECTRUM_MODELS,
        compat.SpectrumClassification,
        ZetaPayne,
        ZetaPayneWorker,
        ZetaPayneClaim,
    ]


def check_schema(schema: str | None) -> str | None:
    """``schema`` if it is a plain SQL identifier (it is quoted into DDL, never parameterised).

    Raises
    ------
    DatabaseConfigError
        Anything but letters, digits and ``_`` (not starting with a digit), or over 63 chars.
    """
    if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", str(schema)):
        raise DatabaseConfigError(f"invalid schema name {schema!r}: use letters, digits and _")
    return schema


def bind_database(
    database: Database, schema: str | None = None, models: Sequence[type] | None = None
) -> None:
    """Bind ``models`` (default :func:`plugin_models`) to ``database`` and ``schema``."""
    check_schema(schema)
    models = list(models or plugin_models())
    database.bind(models, bind_refs=False, bind_backrefs=False)
    for model in models:
        model._meta.schema = schema


def create_tables(models: Iterable[type] | None = None) -> None:
    """Create the tables (and the PostgreSQL schema) that do not exist yet."""
    models = list(models or plugin_models())
    database = models[0]._meta.database
    schema = models[0]._meta.schema
    if schema and isinstance(database, PostgresqlDatabase):
        check_schema(schema)
        database.execute_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    database.create_tables(models, safe=True)


@contextmanager
def bound_database(
    url: str | None = None,
    create: bool = False,
    config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[Database]:
    """Resolve, open and bind the database for the duration of a command.

    With real ASTRA and no explicit URL, ASTRA's own binding is kept.
    """
    if compat.HAVE_ASTRA and not url:
        database = plugin_models()[0]._meta.database
        if create:
            create_tables()
        yield database
        return
    spec = resolve_database(url, config, environ)
    database = open_database(spec)
    log.info("database: %s", spec.describe())
    bind_database(database, spec.schema)
    try:
        database.connect(reuse_if_open=True)
        if create:
            create_tables()
        yield database
    finally:
        if not database.is_closed():
            database.close()
