"""ASTRA's own ``astra run`` on the plugin's task, and the plugin's workers after it, with real
ASTRA ``dev`` binding its database from its own configuration (SQLite through
``ASTRA_DATABASE_PATH``; PostgreSQL through ``astra.yml``). Skipped where real ASTRA is not
installed (a fresh machine); ``.ci/run`` installs it from ``../shared/vendor/``.

The demo spectra are registered as real ASTRA rows (``zeta-payne ingest``, files linked under
``$MWM_ASTRA``); routed BOSS spectra are fitted once through ASTRA's decorator by ``astra run``,
the APOGEE ones by ``zeta-payne run`` (claims): one row per spectrum, none twice, and every
row not flagged bad has its product path stored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.astra.conftest import BACKENDS, POSTGRES_URL
from zeta_payne.astra import compat
from zeta_payne.fitting.flags import ResultFlags

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.skipif(not compat.HAVE_ASTRA, reason="real ASTRA (sdss-astra dev) is not installed here"),
    pytest.mark.skipif(not (BIN / "astra").exists(), reason="the `astra` command is not installed"),
]


def _env(tmp_path: Path, backend: str) -> tuple[dict[str, str], str | None]:
    env = {k: v for k, v in os.environ.items() if k not in ("ASTRA_DATABASE_PATH", "ASTRA_CONFIG_PATH")}
    env.update(ZETA_PAYNE_ASTRA="astra", MWM_ASTRA=str(tmp_path / "mwm_astra"), HOME=str(tmp_path))
    if backend == "sqlite":
        env["ASTRA_DATABASE_PATH"] = str(tmp_path / "astra.sqlite")
        return env, None
    url = urlparse(POSTGRES_URL)
    schema = f"astra_{uuid.uuid4().hex[:10]}"
    config = tmp_path / "astra.yml"
    config.write_text(
        "database:\n"
        f"  dbname: {url.path.lstrip('/')}\n  user: {url.username}\n  host: {url.hostname}\n"
        f"  port: {url.port or 5432}\n  schema: {schema}\n"
    )
    env["ASTRA_CONFIG_PATH"] = str(config)
    return env, schema


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, cwd=env["HOME"])


def _routed_by_classifier(truth: Path) -> int:
    import csv

    from zeta_payne.astra.classification import CLASSES

    n = 0
    with open(truth, newline="") as fh:
        for row in csv.DictReader(fh):
            p = {c: float(row[f"p_{c}"]) for c in CLASSES}
            n += p["oba"] > 0 and sum(v > p["oba"] for v in p.values()) < 3
    return n


def _expand(path: str, env: dict[str, str]) -> str:
    return path.replace("$MWM_ASTRA", env["MWM_ASTRA"])


def _rows(env: dict[str, str]) -> list[tuple]:
    script = (
        "from zeta_payne.astra.model import ZetaPayne as Z\n"
        "for r in Z.select().order_by(Z.spectrum_pk):\n"
        "    print(r.spectrum_pk, r.instrument, int(r.result_flags), int(r.flag_bad),\n"
        "          r.model_flux_path or '-')\n"
    )
    out = _run([sys.executable, "-c", script], env)
    assert out.returncode == 0, out.stderr
    return [tuple(line.split()) for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_astra_run_then_workers_fit_each_routed_spectrum_once(tmp_path, backend):
    env, schema = _env(tmp_path, backend)
    zp = str(BIN / "zeta-payne")
    task = "zeta_payne.astra.tasks.zeta_payne_boss"
    astra_run = [str(BIN / "astra"), "run", task, "mwm.BossCombinedSpectrum"]
    try:
        assert _run([zp, "init", "--with-inputs"], env).returncode == 0
        ingest = _run([zp, "ingest", str(DEMO)], env)
        assert ingest.returncode == 0 and "20 new spectra" in ingest.stdout, ingest.stderr
        # no routing data at all: ASTRA's own command fails, naming what is missing
        failed = _run(astra_run, env)
        assert failed.returncode != 0
        assert "RoutingDataMissing" in failed.stdout + failed.stderr
        assert _rows(env) == []
        # the classifier's probabilities (demo truth table: sdss_id, instrument, p_<class>)
        loaded = _run([zp, "classify", str(DEMO / "truth.csv")], env)
        assert loaded.returncode == 0 and "20 spectra classified" in loaded.stdout, loaded.stderr
        done = _run(astra_run, env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        boss = _rows(env)
        assert boss and {r[1] for r in boss} == {"boss"}
        # the rest (APOGEE) by the plugin's claiming workers (two on PostgreSQL)
        workers = "2" if backend == "postgres" else "1"
        run = _run([zp, "run", "--workers", workers, "--no-progress"], env)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        rows = _rows(env)
        pks = [r[0] for r in rows]
        assert len(pks) == len(set(pks)), "a spectrum was fitted twice"
        assert {r[1] for r in rows} == {"boss", "apogee"}
        # routed: the spectra whose classifier probabilities put oba in the top three (no carton
        # data here: real ASTRA's Source has no programs without its targeting table)
        assert len(rows) == _routed_by_classifier(DEMO / "truth.csv") == 17
        for pk, _, flags, bad, path in rows:
            if bad == "0":
                assert path != "-" and os.path.isfile(_expand(path, env)), (pk, flags)
            else:
                assert path == "-"
        # the three corrupt demo files fail as such (BAD); other rows may be BAD on their own
        # fit (the v3 bundles: a hot APOGEE star's unconstrained [M/H] at the −2 edge)
        broken = int(ResultFlags.RUNTIME_EXCEPTION | ResultFlags.NO_PIXELS)
        failed_files = [r for r in rows if int(r[2]) & broken]
        assert len(failed_files) == 3 and all(r[3] == "1" for r in failed_files)
        # a rerun finds nothing left to do
        again = _run([zp, "run", "--workers", "1", "--no-progress"], env)
        assert again.returncode == 0 and "fitted 0 spectra" in again.stdout
    finally:
        if schema:
            from zeta_payne.astra.database import open_database, parse_url

            db = open_database(parse_url(POSTGRES_URL))
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            db.close()
        shutil.rmtree(tmp_path / "mwm_astra", ignore_errors=True)
