"""Fixtures of the ASTRA plugin tests: a throwaway database per test on SQLite and, when
``ZETA_PAYNE_TEST_POSTGRES_URL`` names a server, on PostgreSQL (a fresh schema per test);
small mwmStar products made from the toy bundles.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tests.astra.fixtures import make_products

POSTGRES_URL = os.environ.get("ZETA_PAYNE_TEST_POSTGRES_URL")
#: The database backends every database test runs on (PostgreSQL only where a server is named).
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="ZETA_PAYNE_TEST_POSTGRES_URL not set"),
        ],
    ),
]

#: Fit options that keep the tests fast (labels still recovered).
FAST = {"presearch_points": 256}
#: Fit options for tests of the bookkeeping only (labels are not checked).
CHEAP = {
    "boss": {
        "presearch_points": 64,
        "max_nfev": 5,
        "compute_uncertainties": False,
        "n_chebyshev": 4,
        "wavelength_range": (5000.0, 6000.0),
    },
    "apogee": {
        "presearch_points": 64,
        "max_nfev": 5,
        "compute_uncertainties": False,
        "n_chebyshev": 4,
        "wavelength_range": (15200.0, 15600.0),
    },
}


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    """The plugin's models bound to a fresh database (SQLite file, or a PostgreSQL schema)."""
    from zeta_payne.astra.database import bind_database, create_tables, open_database, parse_url

    if request.param == "sqlite":
        spec = parse_url(f"sqlite:///{tmp_path / 'test.sqlite'}")
        schema = None
    else:
        spec = parse_url(POSTGRES_URL)
        schema = f"zp_test_{uuid.uuid4().hex[:10]}"
    db = open_database(spec)
    bind_database(db, schema)
    db.connect()
    create_tables(inputs=True)
    db.backend = request.param
    yield db
    if schema:
        db.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    db.close()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A URL of a fresh database for the command line (SQLite file or PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite'}"
        return
    schema = f"zp_cli_{uuid.uuid4().hex[:10]}"
    yield f"{POSTGRES_URL}?schema={schema}"
    from zeta_payne.astra.database import open_database, parse_url

    db = open_database(parse_url(POSTGRES_URL))
    db.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    db.close()


@pytest.fixture(scope="session")
def products(tmp_path_factory, toy_boss, toy_apogee):
    """Good and corrupt mwmStar files (see :func:`tests.astra.fixtures.make_products`)."""
    return make_products(tmp_path_factory.mktemp("products"), toy_boss, toy_apogee)


@pytest.fixture
def fast_options():
    """Fit option overrides for quick fits."""
    return dict(FAST)


@pytest.fixture
def cheap_options():
    """Fit option overrides for bookkeeping tests, by instrument."""
    return {k: dict(v) for k, v in CHEAP.items()}
