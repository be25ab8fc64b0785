"""``zeta-payne fit`` interrupted by Ctrl-C (SIGINT to the real entry point) keeps its rows."""

from __future__ import annotations

import csv
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

from ..conftest import BOSS_WAVELENGTH, simulate
from .test_user_mistakes import zeta_payne_command

N = 40


@pytest.fixture
def spectra_folder(tmp_path, toy_boss):
    """``N`` BOSS-like spectra in four npz files (a folder input)."""
    from zeta_payne.io.npz import write_npz

    folder = tmp_path / "spectra"
    folder.mkdir()
    for f in range(4):
        fluxes, ivars = [], []
        for i in range(N // 4):
            truth = np.array([9000.0 + 800 * i, 4.0, 100.0, 2.0, 0.0])
            s = simulate(toy_boss, BOSS_WAVELENGTH, truth, 5.0, snr=50, seed=10 * f + i)
            fluxes.append(s.flux)
            ivars.append(s.ivar)
        names = [f"star-{f}-{i}" for i in range(N // 4)]
        write_npz(folder / f"part{f}.npz", BOSS_WAVELENGTH, np.array(fluxes), np.array(ivars), name=names)
    return folder


def _interrupt(command, cwd, ready) -> subprocess.CompletedProcess:
    """Run ``command``, send SIGINT once ``ready(stderr lines so far)``, return what it did.

    The child gets SIGINT's default disposition, as a command typed at a terminal does: when
    pytest itself runs as a background job of a non-interactive shell (``nohup … &``) it
    inherits SIGINT ignored, and so would the child — Python then installs no
    KeyboardInterrupt handler and the Ctrl-C this test sends would do nothing."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and not ready(lines):
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out = process.stdout.read()
    process.wait(timeout=120)
    reader.join(timeout=30)
    return subprocess.CompletedProcess(command, process.returncode, out, "".join(lines))


@pytest.mark.parametrize("suffix", [".csv", ".fits"])
def test_interrupted_fit_keeps_its_rows(spectra_folder, tmp_path, toy_boss, suffix):
    output = tmp_path / f"results{suffix}"
    command = [
        *zeta_payne_command(),
        "fit",
        str(spectra_folder),
        "--bundle",
        str(toy_boss.path),
        "--presearch-points",
        "256",
        "--batch-size",  # rows come in batches: small ones leave the interrupt a wide window
        "4",
        "-o",
        str(output),
    ]
    if suffix == ".csv":

        def ready(lines: list[str]) -> bool:
            return output.exists() and len(output.read_text().splitlines()) >= 4  # header + 3 rows

    else:

        def ready(lines: list[str]) -> bool:
            return any(f" {k}/{N} " in line for line in lines for k in (4, 5, 6, 7, 8))

    done = _interrupt(command, tmp_path, ready)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr
    message = [line for line in done.stderr.splitlines() if "interrupted" in line]
    assert message and f"spectra fitted and kept in {output}" in message[0], done.stderr
    kept = int(message[0].split("interrupted: ")[1].split(" of ")[0])
    assert 1 <= kept < N, "the fit ended before the interrupt: raise N"
    if suffix == ".csv":
        with open(output, newline="") as fh:
            rows = list(csv.DictReader(fh))
        names = [r["identifier"] for r in rows]
    else:
        from astropy.table import Table

        table = Table.read(output, hdu=1)
        names = list(table["identifier"])
        assert str(table["teff"].unit) == "K" and table.meta["BUNDLE1"].startswith(toy_boss.name)
        rows = [dict(zip(table.colnames, r, strict=True)) for r in table]
    assert len(rows) == kept and len(set(names)) == kept
    assert all(str(r["file"]).endswith(".npz") and str(r["instrument"]) == "boss" for r in rows)
    assert all(np.isfinite(float(r["teff"])) for r in rows)
