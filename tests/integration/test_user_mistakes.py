"""The usual mistakes of a new user, each run through the real ``zeta-payne`` entry point.

Every case must end with a short error on stderr (one line, no traceback), a non-zero exit
status and nothing created: no new file in its working folder, no change to the shared
files (bundle, spectra, the initialised database), no database where a path was mistyped.
The cases run in parallel subprocesses (a few seconds each, most before torch is imported).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ..conftest import BOSS_WAVELENGTH, simulate


def zeta_payne_command() -> list[str]:
    """The installed ``zeta-payne`` script of this interpreter (else ``python -m zeta_payne.cli``)."""
    script = Path(sys.executable).parent / "zeta-payne"
    return [str(script)] if script.exists() else [sys.executable, "-m", "zeta_payne.cli"]


def run_cli(args: list[str], cwd: Path, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "100"}
    return subprocess.run(
        [*zeta_payne_command(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def own_lines(stderr: str) -> str:
    """stderr without real ASTRA's own log lines at import ("Setting database path ...")."""
    lines = stderr.strip().splitlines()
    lines = [line for line in lines if "[INFO]" not in line and " INFO astra:" not in line]
    return "\n".join(lines)


@dataclass(frozen=True)
class Mistake:
    """One mistake: the arguments (``{W}`` is the shared folder), and words the error must contain."""

    name: str
    args: tuple[str, ...]
    expect: tuple[str, ...]


W = "{W}"
DB = f"sqlite:///{W}/zp.sqlite"  # initialised, empty
CHEAP = ("--presearch-points", "64", "--n-chebyshev", "4")

MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "fix typo in label",
        ("fit", f"{W}/good.npz", "--bundle", f"{W}/toy-boss", "--fix", "vmicro=2"),
        ("--fix vmicro", "not a label", "teff"),
    ),
    Mistake(
        "fix value not a number", ("fit", f"{W}/good.npz", "--fix", "teff=hot"), ("teff=hot", "not a number")
    ),
    Mistake("fix without value", ("fit", f"{W}/good.npz", "--fix", "teff"), ("LABEL=VALUE",)),
    Mistake(
        "free unknown label",
        ("fit", f"{W}/good.npz", "--bundle", f"{W}/toy-boss", "--free", "v_mikro"),
        ("--free v_mikro", "not a label"),
    ),
    Mistake(
        "free a free label",
        ("fit", f"{W}/good.npz", "--bundle", f"{W}/toy-boss", "--free", "teff"),
        ("already free",),
    ),
    Mistake(
        "device that does not exist",
        ("fit", f"{W}/good.npz", "--bundle", f"{W}/toy-boss", "--device", "gpu"),
        ("--device", "gpu"),
    ),
    Mistake(
        "npz without ivar",
        ("fit", f"{W}/no-ivar.npz", "--bundle", f"{W}/toy-boss"),
        ("missing arrays", "ivar"),
    ),
    Mistake(
        "truncated FITS",
        ("fit", f"{W}/truncated.fits", "--bundle", f"{W}/toy-boss"),
        ("truncated FITS file",),
    ),
    Mistake(
        "fit a folder without spectra",
        ("fit", f"{W}/empty", "--bundle", f"{W}/toy-boss"),
        ("no", "files in this folder"),
    ),
    Mistake("fit a missing file", ("fit", "nosuch.npz"), ("nosuch.npz", "no such file")),
    Mistake("glob matching nothing", ("fit", "spectra/*.npz"), ("no file matches",)),
    Mistake(
        "table format from a .txt name",
        ("fit", f"{W}/good.npz", "-o", "results.txt"),
        ("unknown table format",),
    ),
    Mistake(
        "fit output exists", ("fit", f"{W}/good.npz", "-o", f"{W}/existing.csv"), ("exists", "--overwrite")
    ),
    Mistake(
        "fit output folder missing", ("fit", f"{W}/good.npz", "-o", "nodir/results.csv"), ("does not exist",)
    ),
    Mistake(
        "rv range reversed", ("fit", f"{W}/good.npz", "--rv-range", "50", "-50"), ("MIN must be below MAX",)
    ),
    Mistake(
        "wavelength not a number",
        ("fit", f"{W}/good.npz", "--wavelength-range", "5000", "abc"),
        ("not a number",),
    ),
    Mistake("unknown reader", ("fit", f"{W}/good.npz", "--format", "nosuch"), ("unknown reader",)),
    Mistake("missing bundle", ("fit", f"{W}/good.npz", "--bundle", "no-such-bundle"), ("no-such-bundle",)),
    Mistake("unknown command", ("fitt", "x.npz"), ("invalid choice", "fitt")),
    Mistake(
        "status on a mistyped path", ("db", "status", "--database", "sqlite:///zp.sqlit"), ("no database at",)
    ),
    Mistake(
        "old name status on a mistyped path",
        ("status", "--database", "sqlite:///typo.sqlite"),
        ("no database at",),
    ),
    Mistake(
        "run before init",
        ("run", "--no-progress", "--database", "sqlite:///new.sqlite"),
        ("no database at", "init"),
    ),
    Mistake(
        "run on a database without tables",
        ("run", "--no-progress", "--database", f"sqlite:///{W}/bare.sqlite"),
        ("no zeta-payne tables", "init"),
    ),
    Mistake(
        "export before init",
        ("export", "-o", "x.fits", "--database", "sqlite:///new.sqlite"),
        ("no database at",),
    ),
    Mistake(
        "export as .txt", ("db", "export", "-o", "results.txt", "--database", DB), ("unknown table format",)
    ),
    Mistake(
        "export over a file",
        ("db", "export", "-o", f"{W}/existing.fits", "--database", DB),
        ("exists", "--overwrite"),
    ),
    Mistake(
        "plot on a database never initialised",
        ("plot", "run", "-o", "k.png", "--database", f"sqlite:///{W}/bare.sqlite"),
        ("no zeta-payne tables",),
    ),
    Mistake(
        "plot a result that does not exist",
        ("db", "plot", "fit", "--spectrum-pk", "999", "-o", "f.png", "--database", DB),
        ("no result",),
    ),
    Mistake("plot as .jpg", ("db", "plot", "run", "-o", "k.jpg", "--database", DB), (".png",)),
    Mistake(
        "malformed sqlite URL", ("status", "--database", "sqlite:/zp.sqlite"), ("malformed database URL",)
    ),
    Mistake(
        "init in a missing folder",
        ("db", "init", "--database", "sqlite:////nonexistent/dir/x.sqlite"),
        ("does not exist",),
    ),
    Mistake(
        "database URL of another kind",
        ("status", "--database", "mysql://u@h/db"),
        ("unsupported database URL",),
    ),
    Mistake("not a database file", ("status", "--database", f"sqlite:///{W}/good.npz"), ("database",)),
    Mistake("workers on SQLite", ("run", "--workers", "2", "--database", DB), ("SQLite allows one writer",)),
    Mistake("limit of zero", ("run", "--limit", "0", "--database", DB), ("--limit", "at least 1")),
    Mistake(
        "reprocess-before not a time",
        ("run", "--reprocess-before", "yesterday", "--database", DB),
        ("ISO time",),
    ),
    Mistake(
        "ingest a missing file",
        ("db", "ingest", "nosuch.fits", "--database", DB),
        ("nosuch.fits", "no such file"),
    ),
    Mistake(
        "ingest with a bad classification table",
        ("db", "ingest", f"{W}/truncated.fits", "--classification", f"{W}/existing.csv", "--database", DB),
        ("not a classification table",),
    ),
    Mistake("classify a missing table", ("db", "classify", "nosuch.csv", "--database", DB), ("nosuch.csv",)),
    Mistake(
        "unknown class",
        ("db", "ingest", f"{W}/truncated.fits", "--class", "hot", "--database", DB),
        ("invalid choice", "hot"),
    ),
)


def _snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for folder in folders:
        for path in folder.rglob("*"):
            out[str(path)] = (path.stat().st_size, path.stat().st_mtime_ns) if path.is_file() else (-1, 0)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory, toy_boss):
    """The shared files: a toy bundle, spectra good and bad, an initialised database."""
    w = tmp_path_factory.mktemp("world")
    shutil.copytree(toy_boss.path, w / "toy-boss")
    from zeta_payne.io.npz import write_npz

    truth = np.array([13000.0, 4.1, 120.0, 2.0, -0.2])
    s = simulate(toy_boss, BOSS_WAVELENGTH, truth, -8.0, snr=60, seed=2)
    write_npz(w / "good.npz", s.wavelength, s.flux, s.ivar, wresl=s.wavelength / 2000.0, name="star-1")
    np.savez(w / "no-ivar.npz", wavelength=s.wavelength, flux=s.flux)
    (w / "truncated.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 3000)
    (w / "empty").mkdir()
    (w / "existing.csv").write_text("a,b\n1,2\n")
    (w / "existing.fits").write_bytes(b"")
    (w / "bare.sqlite").write_bytes(b"")  # an empty SQLite file: a database without tables
    done = run_cli(["db", "init", "--with-inputs", "--database", f"sqlite:///{w}/zp.sqlite"], w)
    assert done.returncode == 0, done.stderr
    return w


@pytest.fixture(scope="module")
def outcomes(world, tmp_path_factory):
    """Run every mistake (in parallel), each in an empty working folder."""
    before = _snapshot(world)

    def one(mistake: Mistake):
        cwd = tmp_path_factory.mktemp("cwd")
        args = [a.replace(W, str(world)) for a in mistake.args]
        done = run_cli(args, cwd)
        return done, sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(MISTAKES, pool.map(one, MISTAKES), strict=True))
    return results, before, _snapshot(world)


def test_at_least_twenty_mistakes():
    assert len(MISTAKES) >= 20


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_is_one_clear_line(mistake, outcomes):
    results, _, _ = outcomes
    done, created = results[mistake]
    err = own_lines(done.stderr)
    assert done.returncode != 0, f"exit 0\n{done.stdout}\n{err}"
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("zeta-payne"), err
    for word in mistake.expect:
        assert word in err, f"{word!r} not in {err!r}"
    assert created == [], f"created {created}"


def test_shared_files_untouched(outcomes):
    _, before, after = outcomes
    assert after == before
    assert not Path("/nonexistent").exists()


def test_debug_shows_the_traceback(world, tmp_path):
    done = run_cli(
        ["--debug", "fit", f"{world}/good.npz", "--bundle", f"{world}/toy-boss", "--fix", "vmicro=2"],
        tmp_path,
    )
    assert done.returncode == 1 and "Traceback" in done.stderr and "--fix vmicro" in done.stderr


def test_closed_pipe_is_quiet(world, tmp_path):
    """``zeta-payne db status | head -1``: the reader goes away, no BrokenPipeError traceback."""
    command = [*zeta_payne_command(), "db", "status", "--database", f"sqlite:///{world}/zp.sqlite"]
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(
        command, stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120, cwd=tmp_path
    )
    reader.stdin.close()
    reader.wait()
    assert "Traceback" not in writer.stderr and "BrokenPipe" not in writer.stderr
    assert writer.returncode in (0, 141, -signal.SIGPIPE)


def test_version_and_help(tmp_path):
    assert run_cli(["-V"], tmp_path).stdout.startswith("zeta-payne ")
    for command in (
        ["fit"],
        ["db", "run"],
        ["run"],
        ["db", "export"],
        ["db", "init"],
        ["db", "ingest"],
        ["db", "classify"],
        ["demo"],
        ["db", "plot", "fit"],
    ):
        out = run_cli([*command, "--help"], tmp_path).stdout
        assert "example:" in out, command
    fit = run_cli(["fit", "--help"], tmp_path).stdout
    assert "[km/s]" in fit and "[Å, vacuum]" in fit and "teff [K]" in fit and "(default: cpu)" in fit
