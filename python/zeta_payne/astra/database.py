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
    "check_initialised",
    "check_schema",
    "create_tables",
    "open_database",
    "creatable_models",
    "input_models",
    "own_models",
    "plugin_models",
    "present_models",
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
    if not text:
        raise DatabaseConfigError("empty database URL (use sqlite:///path or postgresql://...)")
    if "://" not in text:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", text):  # "sqlite:/x.db", "postgresql:db" ...
            raise DatabaseConfigError(
                f"malformed database URL {url!r}: use sqlite:///relative.db, sqlite:////absolute.db "
                "or postgresql://user@host/dbname"
            )
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


def open_database(spec: DatabaseSpec, must_exist: bool = False) -> Database:
    """A peewee database for ``spec`` (connections are opened lazily).

    Parameters
    ----------
    spec : DatabaseSpec
        Which database.
    must_exist : bool
        An SQLite file must exist already (commands that only read or add to a database never
        create one by accident; only ``init`` and the demo do).

    Raises
    ------
    DatabaseConfigError
        SQLite older than 3.35, its folder missing (never created here), its file missing with
        ``must_exist``; PostgreSQL without psycopg2.
    """
    if spec.kind == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise DatabaseConfigError(
                f"SQLite {sqlite3.sqlite_version} is too old; {'.'.join(map(str, MIN_SQLITE))} is needed"
            )
        if spec.name != ":memory:":
            folder = os.path.dirname(os.path.abspath(spec.name))
            if not os.path.isdir(folder):
                raise DatabaseConfigError(
                    f"{spec.describe()}: the folder {folder} does not exist (create it first)"
                )
            if os.path.isdir(spec.name):
                raise DatabaseConfigError(f"{spec.describe()}: {spec.name} is a folder, not a database file")
            if must_exist and not os.path.exists(spec.name):
                raise DatabaseConfigError(
                    f"no database at {spec.name}: check the path, or create one with "
                    f"`zeta-payne db init --database {spec.describe()}`"
                )
        return SqliteDatabase(spec.name, pragmas={"foreign_keys": 1, "busy_timeout": 60000})
    try:
        import psycopg2  # noqa: F401
    except ImportError as exc:
        raise DatabaseConfigError("PostgreSQL needs psycopg2: pip install 'zeta-payne[postgres]'") from exc
    return PostgresqlDatabase(spec.name, **dict(spec.options))


def own_models() -> list[type]:
    """The tables the plugin owns (creates and migrates), in dependency order.

    With real ASTRA its ``Source``, ``Spectrum`` and spectrum tables are ASTRA's (created by
    its migrations); the classifier table is the plugin's only when ASTRA has none.
    """
    from zeta_payne.astra.model import ZetaPayne
    from zeta_payne.astra.queue.claims import ZetaPayneClaim, ZetaPayneWorker
    from zeta_payne.astra.source_model import ZetaPayneSource, ZetaPayneVisit

    models: list[type] = []
    if not compat.HAVE_ASTRA or compat.CLASSIFIER_IS_OURS:
        models.append(compat.SpectrumClassification)
    return [*models, ZetaPayne, ZetaPayneSource, ZetaPayneVisit, ZetaPayneWorker, ZetaPayneClaim]


def input_models() -> list[type]:
    """The input tables the plugin reads (``Source``, ``Spectrum``, spectrum models)."""
    models = [compat.Source, compat.Spectrum, *compat.SPECTRUM_MODELS]
    if compat.HAVE_ASTRA and not compat.CLASSIFIER_IS_OURS:
        models.append(compat.SpectrumClassification)
    return models


def plugin_models() -> list[type]:
    """Every model the plugin reads or writes, in dependency order (what is bound)."""
    own = own_models()
    return [m for m in input_models() if m not in own] + own


def _needs_postgresql(model: type) -> bool:
    """Whether ``model`` has columns only PostgreSQL can hold (arrays, GIN/GiST indexes)."""
    for field in model._meta.sorted_fields:
        if str(getattr(field, "index_type", "") or "").upper() in ("GIN", "GIST"):
            return True
        if any(c.__name__ == "ArrayField" and c.__module__.startswith("playhouse")
               for c in type(field).__mro__):
            return True
    return False


def creatable_models(database: Database, models: Sequence[type]) -> tuple[list[type], list[type]]:
    """Split ``models`` into those ``database`` can hold and those it cannot.

    On SQLite, models with PostgreSQL array columns (ASTRA's ``BossVisitSpectrum`` and the
    ``BossRestFrameVisitSpectrum`` that refers to it) cannot be created; neither can a
    model with a foreign key to one that cannot.
    """
    if isinstance(database, PostgresqlDatabase):
        return list(models), []
    skipped: list[type] = []
    for model in models:
        refs = [f.rel_model for f in model._meta.refs]
        if _needs_postgresql(model) or any(r in skipped for r in refs):
            skipped.append(model)
    return [m for m in models if m not in skipped], skipped


def present_models(models: Iterable[type]) -> list[type]:
    """The models of ``models`` whose tables exist in their bound database.

    A database need not hold every spectrum table the plugin can read: on SQLite, real
    ASTRA's ``BossVisitSpectrum`` and ``BossRestFrameVisitSpectrum`` cannot exist (PostgreSQL
    array columns), and a production database may lack tables of data never loaded.
    """
    return [m for m in models if m.table_exists()]


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


def create_tables(models: Iterable[type] | None = None, inputs: bool | None = None) -> list[type]:
    """Create the tables (and the PostgreSQL schema) that do not exist yet.

    Parameters
    ----------
    models : iterable of peewee models, optional
        Exactly these (default: see ``inputs``).
    inputs : bool, optional
        Also create the input tables (``Source``, ``Spectrum``, spectrum models). Default:
        with the stand-in yes (the plugin owns its whole database); with real ASTRA no —
        ASTRA's migrations own them — except when asked (a test or demo database). On SQLite,
        ASTRA's tables with PostgreSQL array columns are skipped (logged).

    Returns
    -------
    list of peewee models
        The models whose tables exist now (skipped ones left out).
    """
    check_inputs = False
    if models is None:
        if inputs is None:
            inputs = not compat.HAVE_ASTRA
        own = own_models()
        models = ([m for m in input_models() if m not in own] if inputs else []) + own
        check_inputs = not inputs
    models = list(models)
    database = models[-1]._meta.database
    schema = models[-1]._meta.schema
    if schema and isinstance(database, PostgresqlDatabase):
        check_schema(schema)
        database.execute_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    if check_inputs:
        missing = [m._meta.table_name for m in (compat.Source, compat.Spectrum) if not m.table_exists()]
        if missing:
            raise DatabaseConfigError(
                f"this database has no {' or '.join(missing)} table: ASTRA's migrations make them in "
                "production; for a test or demo database create them too (zeta-payne init --with-inputs)"
            )
    models, skipped = creatable_models(database, models)
    if skipped:
        log.info("not created on SQLite (PostgreSQL array columns): %s",
                 ", ".join(m.__name__ for m in skipped))
    database.create_tables(models, safe=True)
    return models


def check_initialised(where: str) -> None:
    """Raise unless the bound database holds the plugin's result table (``zeta-payne db init``).

    Raises
    ------
    DatabaseConfigError
        The ``zeta_payne`` table does not exist.
    """
    from zeta_payne.astra.model import ZetaPayne

    if not ZetaPayne.table_exists():
        raise DatabaseConfigError(
            f"{where} has no zeta-payne tables: create them with `zeta-payne db init` "
            "(--with-inputs for a test or demo database)"
        )


@contextmanager
def bound_database(
    url: str | None = None,
    create: bool = False,
    config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    inputs: bool | None = None,
) -> Iterator[Database]:
    """Resolve, open and bind the database for the duration of a command.

    With real ASTRA and no explicit URL, ASTRA's own binding is kept. ``create`` makes the
    missing tables (and an SQLite file); ``inputs`` as in :func:`create_tables`. Without
    ``create`` nothing is created: the database must exist and hold the plugin's tables.

    Raises
    ------
    DatabaseConfigError
        Without ``create``: no such SQLite file, or the plugin's tables missing.
    """
    if compat.HAVE_ASTRA and not url:
        database = plugin_models()[0]._meta.database
        if create:
            create_tables(inputs=inputs)
        else:
            check_initialised("ASTRA's database")
        yield database
        return
    spec = resolve_database(url, config, environ)
    database = open_database(spec, must_exist=not create)
    log.info("database: %s", spec.describe())
    bind_database(database, spec.schema)
    try:
        database.connect(reuse_if_open=True)
        if create:
            create_tables(inputs=inputs)
        else:
            check_initialised(spec.describe())
        yield database
    finally:
        if not database.is_closed():
            database.close()
