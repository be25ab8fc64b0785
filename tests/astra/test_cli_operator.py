"""An operator's run end to end through the real entry point: Ctrl-C in the middle of
``db run``, the rerun that finishes it, and the exported FITS table read back by astropy."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.astra.fixtures import spectrum_row, write_star
from tests.integration.test_user_mistakes import run_cli, zeta_payne_command

CHEAP = ["--presearch-points", "256", "--n-chebyshev", "4", "--wavelength-range", "5000", "6000"]
N_SPECTRA = 14


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as con:
        return int(con.execute(sql).fetchone()[0])


@pytest.fixture
def loaded(tmp_path, toy_boss, mwm_astra):
    """An initialised SQLite database with ``N_SPECTRA`` BOSS mwmStar spectra ingested."""
    files = tmp_path / "files"
    files.mkdir()
    for i in range(N_SPECTRA):
        write_star(files, 7000 + i, [spectrum_row(toy_boss, "boss", i % 7)])
    db = tmp_path / "zp.sqlite"
    url = f"sqlite:///{db}"
    for args in (["db", "init", "--with-inputs"], ["db", "ingest", str(files), "--class", "oba"]):
        done = run_cli([*args, "--database", url], tmp_path)
        assert done.returncode == 0, done.stderr
    return db, url


def test_run_interrupted_then_finished_and_exported(loaded, tmp_path, toy_boss):
    from astropy import units as u
    from astropy.table import Table

    db, url = loaded
    out = tmp_path / "products"
    args = [
        "db",
        "run",
        "--instrument",
        "boss",
        "--bundle-boss",
        str(toy_boss.path),
        "--output-dir",
        str(out),
        "--batch-size",
        "2",
        "--chunk-size",
        "2",
        *CHEAP,
        "--database",
        url,
    ]
    process = subprocess.Popen(
        [*zeta_payne_command(), *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as at a terminal
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if _count(db, "SELECT COUNT(*) FROM zeta_payne") >= 2:
                break
        except sqlite3.OperationalError:  # locked while the worker commits
            pass
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted:" in stderr and "remain pending" in stderr, stderr
    committed = _count(db, "SELECT COUNT(*) FROM zeta_payne")
    assert 2 <= committed < N_SPECTRA, "the run ended before the interrupt: raise N_SPECTRA"
    line = next(s for s in stderr.splitlines() if "interrupted:" in s)
    assert f"{committed} spectra committed, {N_SPECTRA - committed} remain pending" in line
    with sqlite3.connect(db) as con:
        paths = {Path(p) for (p,) in con.execute("SELECT model_flux_path FROM zeta_payne") if p}
    files = set(out.rglob("*.fits"))
    assert files == paths, f"orphan products: {files - paths}"
    assert not [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".fits")]

    done = run_cli([*args, "--no-progress"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"fitted {N_SPECTRA - committed} spectra" in done.stdout
    assert _count(db, "SELECT COUNT(*) FROM zeta_payne") == N_SPECTRA
    assert _count(db, "SELECT COUNT(DISTINCT spectrum_pk) FROM zeta_payne") == N_SPECTRA
    with sqlite3.connect(db) as con:
        paths = {Path(p) for (p,) in con.execute("SELECT model_flux_path FROM zeta_payne") if p}
    assert set(out.rglob("*.fits")) == paths and len(paths) == N_SPECTRA

    table_path = tmp_path / "results.fits"
    done = run_cli(["db", "export", "-o", str(table_path), "--database", url], tmp_path)
    assert done.returncode == 0, done.stderr
    table = Table.read(table_path, hdu=1)
    assert len(table) == N_SPECTRA
    units = {
        "teff": u.K,
        "e_teff": u.K,
        "raw_e_teff": u.K,
        "cov_e_teff": u.K,
        "initial_teff": u.K,
        "v_sini": u.km / u.s,
        "e_v_sini": u.km / u.s,
        "v_rad": u.km / u.s,
        "e_v_rad": u.km / u.s,
        "v_micro": u.km / u.s,
        "t_elapsed": u.s,
    }
    for name, unit in units.items():
        assert table[name].unit == unit, (name, table[name].unit)
    for name in ("logg", "e_logg", "m_h", "e_m_h", "raw_e_m_h"):
        assert str(table[name].unit) == "dex", (name, table[name].unit)
    for name in ("chi2", "rchi2", "snr", "rho_teff_logg"):
        assert table[name].unit is None
    assert table["flag_bad"].dtype == bool and table["flag_warn"].dtype == bool
    assert table["flag_runtime_exception"].dtype == bool and "flag_lsf_from_bundle" in table.colnames
    flags = np.asarray(table["result_flags"], dtype=np.int64)
    header = table.meta
    assert np.array_equal(table["flag_bad"], (flags & header["BADMASK"]) != 0)
    assert np.array_equal(table["flag_warn"], (flags & header["WARNMASK"]) != 0)
    assert header["FLAG00"] == "runtime_exception" and header["FLAG11"] == "lsf_from_bundle"
    assert header["BUNDLE1"] == f"{toy_boss.name}@{toy_boss.version}" and header["BSHA1"] == toy_boss.sha256
    from astropy.io import fits

    with fits.open(table_path) as hdul:
        hdr = hdul[1].header
        i = hdul[1].columns.names.index("teff") + 1
        assert hdr[f"TUNIT{i}"] == "K" and hdr[f"TDISP{i}"] and "temperature" in hdr[f"TCOMM{i}"].lower()

    again = run_cli(["db", "export", "-o", str(table_path), "--database", url], tmp_path)
    assert again.returncode == 1 and "--overwrite" in again.stderr
