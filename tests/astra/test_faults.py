"""Workers as separate processes, and faults: SIGKILL mid-batch then a rerun, several worker
processes on PostgreSQL, dropped connections, a PostgreSQL restart, an unreachable database."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest

from tests.astra.scale import CHEAP, populate
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.queue import claims as cl
from zeta_payne.astra.queue.worker import WorkerOptions, run_worker
from zeta_payne.cli import main

POSTGRES_URL = os.environ.get("ZETA_PAYNE_TEST_POSTGRES_URL")
CLI_CHEAP = ["--presearch-points", "64", "--n-chebyshev", "4", "--wavelength-range", "5000", "5600"]
#: Slower fits for tests that must catch a worker in the middle of its run on a fast machine.
CLI_SLOWER = ["--presearch-points", "2048", "--batch-size", "2"]


@contextmanager
def _populated(url, folder, toy_boss):
    from zeta_payne.astra.database import bound_database

    with bound_database(url, create=True, inputs=True):
        yield url, populate(folder, {"boss": toy_boss}, {"boss": 24}, n_files=2)["boss"]


@pytest.fixture
def populated(database_url, tmp_path, toy_boss):
    """(URL, number of spectra): 24 routed BOSS spectra in a fresh database, bound here too."""
    with _populated(database_url, tmp_path / "files", toy_boss) as value:
        yield value


@pytest.fixture
def populated_pg(tmp_path, toy_boss):
    """As ``populated``, on PostgreSQL only (a fresh schema)."""
    if not POSTGRES_URL:
        pytest.skip("ZETA_PAYNE_TEST_POSTGRES_URL not set")
    from zeta_payne.astra.database import open_database, parse_url

    schema = f"zp_faults_{uuid.uuid4().hex[:10]}"
    try:
        with _populated(f"{POSTGRES_URL}?schema={schema}", tmp_path / "files", toy_boss) as value:
            yield value
    finally:
        db = open_database(parse_url(POSTGRES_URL))
        db.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        db.close()


def _worker_command(url, toy_boss, output_dir, *extra):
    return [
        sys.executable,
        "-m",
        "zeta_payne.cli",
        "worker",
        "--database",
        url,
        "--instrument",
        "boss",
        "--bundle-boss",
        str(toy_boss.path),
        "--output-dir",
        str(output_dir),
        "--batch-size",
        "4",
        *CLI_CHEAP,
        *extra,
    ]


def _wait_for(condition, timeout=90.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _committed() -> int:
    W = cl.ZetaPayneWorker
    return sum(w.n_done for w in W.select())


def _check_products(output_dir) -> None:
    """Every product file belongs to a row, every row's product exists, no temporary files."""
    on_disk = {os.path.abspath(p) for p in glob.glob(f"{output_dir}/**/zetaPayne-*.fits", recursive=True)}
    referenced = {os.path.abspath(r.model_flux_path) for r in ZetaPayne.select() if r.model_flux_path}
    assert on_disk == referenced
    assert glob.glob(f"{output_dir}/**/.*.tmp", recursive=True) == []


def test_sigkill_mid_batch_then_rerun(populated, toy_boss, tmp_path):
    url, n = populated
    output_dir = tmp_path / "products"
    worker = subprocess.Popen(_worker_command(url, toy_boss, output_dir), stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _committed() >= 4, what="a committed batch")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    rows = ZetaPayne.select().count()
    assert rows == _committed() and rows % 4 == 0  # whole batches only
    summary = run_worker(
        WorkerOptions(
            instruments=("boss",),
            bundles={"boss": str(toy_boss.path)},
            fit_options=CHEAP["boss"],
            output_dir=str(output_dir),
            batch_size=4,
        )
    )
    assert summary.status == "finished"
    spectrum_pks = [r.spectrum_pk for r in ZetaPayne.select()]
    assert len(spectrum_pks) == len(set(spectrum_pks)) == n
    assert _committed() == n  # nothing fitted and committed twice
    assert cl.ZetaPayneClaim.select().count() == 0
    _check_products(output_dir)


def test_sigterm_commits_what_is_fitted_and_stops(tmp_path, toy_boss):
    url = f"sqlite:///{tmp_path / 'term.sqlite'}"
    with _populated(url, tmp_path / "files", toy_boss) as (_, n):
        command = _worker_command(url, toy_boss, tmp_path / "products", *CLI_SLOWER)
        worker = subprocess.Popen(command, stderr=subprocess.PIPE)
        try:
            _wait_for(lambda: _committed() >= 2, what="a committed batch")
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=120)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == 0, err[-2000:]
        (row,) = cl.ZetaPayneWorker.select()
        assert row.status == "stopped" and row.n_done == ZetaPayne.select().count() < n
        assert cl.ZetaPayneClaim.select().count() == 0


def test_sqlite_refuses_several_workers(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert main(["run", "--workers", "2", "--database", url, "--no-progress"]) == 1
    assert "SQLite allows one writer" in capsys.readouterr().err


def test_unreachable_database_fails_fast(tmp_path):
    pytest.importorskip("psycopg2")
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zeta_payne.cli",
            "worker",
            "--database",
            "postgresql://nobody@127.0.0.1:9/x",
            "--db-connect-seconds",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "cannot reach the database postgresql://nobody@127.0.0.1:9/x" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - start < 30


def test_retry_budget_gives_a_clear_error():
    pytest.importorskip("psycopg2")
    from zeta_payne.astra.database import open_database, parse_url
    from zeta_payne.astra.queue.retry import DatabaseUnavailable, RetryPolicy, retrying

    db = open_database(parse_url("postgresql://nobody@127.0.0.1:9/x"))
    policy = RetryPolicy(budget=1.0, initial=0.1)
    message = r"kept failing for 1 s \(\d+ tries\); last error: Operational"
    with pytest.raises(DatabaseUnavailable, match=message):
        retrying(db, lambda: db.execute_sql("SELECT 1"), policy, "probing")


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="ZETA_PAYNE_TEST_POSTGRES_URL not set")
def test_several_worker_processes_on_postgres(populated_pg, toy_boss, tmp_path, capsys):
    url, n = populated_pg
    output_dir = tmp_path / "products"
    args = ["run", "--workers", "2", "--database", url, "--instrument", "boss", "--no-progress"]
    args += ["--bundle-boss", str(toy_boss.path), "--output-dir", str(output_dir), "--batch-size", "2"]
    assert main([*args, *CLI_CHEAP]) == 0
    assert f"fitted {n} spectra" in capsys.readouterr().out
    spectrum_pks = [r.spectrum_pk for r in ZetaPayne.select()]
    assert len(spectrum_pks) == len(set(spectrum_pks)) == n
    workers = list(cl.ZetaPayneWorker.select())
    assert len(workers) == 2 and {w.status for w in workers} == {"finished"}
    assert sum(w.n_done for w in workers) == n
    _check_products(output_dir)
    assert main(["status", "--database", url, "--bundle-boss", str(toy_boss.path)]) == 0
    out = capsys.readouterr().out
    assert "spectra/hour" in out and "2 finished" in out


def _terminate_other_backends(url: str) -> int:
    import psycopg2

    with psycopg2.connect(url.split("?")[0]) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="ZETA_PAYNE_TEST_POSTGRES_URL not set")
def test_dropped_connections_are_retried(populated_pg, toy_boss, tmp_path):
    url, n = populated_pg
    killed = []

    def drop(instrument, done, total):
        if len(killed) < 2:
            killed.append(_terminate_other_backends(url))

    options = WorkerOptions(
        instruments=("boss",),
        bundles={"boss": str(toy_boss.path)},
        fit_options=CHEAP["boss"],
        output_dir=None,
        batch_size=4,
    )
    summary = run_worker(options, progress=drop)
    assert summary.status == "finished" and summary.fitted == n and summary.retries >= 2
    assert sum(killed) >= 2
    assert ZetaPayne.select().count() == n


@pytest.mark.postgres
@pytest.mark.skipif(
    not (POSTGRES_URL and os.environ.get("ZETA_PAYNE_TEST_PG_DATA") and shutil.which("su")),
    reason="needs the CI PostgreSQL cluster (ZETA_PAYNE_TEST_PG_BIN, ZETA_PAYNE_TEST_PG_DATA)",
)
def test_postgres_restart_during_a_run(populated_pg, toy_boss, tmp_path):
    url, n = populated_pg
    pg_ctl = os.path.join(os.environ.get("ZETA_PAYNE_TEST_PG_BIN", ""), "pg_ctl")
    data = os.environ["ZETA_PAYNE_TEST_PG_DATA"]
    worker = subprocess.Popen(
        _worker_command(url, toy_boss, tmp_path / "products", "--db-retry-seconds", "120", *CLI_SLOWER),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: _committed() >= 4, what="a committed batch")
        log = os.path.join(os.path.dirname(data), "restart.log")  # the server must not hold our pipes
        subprocess.run(
            ["su", "postgres", "-c", f"{pg_ctl} -D {data} -l {log} -m fast -w restart"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        _, err = worker.communicate(timeout=300)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err[-2000:]
    assert "retry" in err
    from zeta_payne.astra.queue.retry import reset_connection

    reset_connection(ZetaPayne._meta.database)
    spectrum_pks = [r.spectrum_pk for r in ZetaPayne.select()]
    assert len(spectrum_pks) == len(set(spectrum_pks)) == n
