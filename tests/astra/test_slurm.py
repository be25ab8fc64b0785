"""``zeta-payne srun``: the job-array scripts (always), and a real single-node Slurm (opt-in).

The opt-in test (``pytest -m slurm``) needs ``sbatch`` talking to a running Slurm
controller and node on this machine (Debian: ``slurm-wlm`` and ``munge``; see README.md,
"Slurm"), and PostgreSQL (``ZETA_PAYNE_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from zeta_payne.cli import main

POSTGRES_URL = os.environ.get("ZETA_PAYNE_TEST_POSTGRES_URL")
CHEAP = ["--presearch-points", "64", "--n-chebyshev", "4", "--wavelength-range", "5000", "5600"]


def test_dry_run_writes_the_array_and_summary_scripts(tmp_path, toy_boss, capsys):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    logs = tmp_path / "logs"
    args = ["srun", "--nodes", "3", "--procs", "4", "--time", "01:00:00", "--partition", "debug"]
    args += ["--log-dir", str(logs), "--dry-run", "--no-check", "--database", url]
    args += ["--", "--instrument", "boss", "--bundle-boss", str(toy_boss.path), "--reprocess", *CHEAP]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "worker array:" in out and "summary job:" in out
    (array,) = logs.glob("workers-*.sh")
    (summary,) = logs.glob("summary-*.sh")
    text = array.read_text()
    for line in (
        "#SBATCH --array=0-2",
        "#SBATCH --cpus-per-task=4",
        f"#SBATCH --output={logs}/worker-%A_%a.log",
        "#SBATCH --time=01:00:00",
        "#SBATCH --partition=debug",
    ):
        assert line in text
    assert " worker --workers 4 " in text and "--reprocess-before" in text and " --reprocess " not in text
    assert (
        f"--database {url}" in text and '--label "slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"' in text
    )
    assert oct(array.stat().st_mode)[-3:] == "700"
    text = summary.read_text()
    assert "#SBATCH --dependency=afterany:DRYRUN" in text
    assert "status --workers-label slurm-DRYRUN_" in text and "summary.txt" in text


def test_nodes_are_capped_by_the_pending_work(database_url, products, toy_boss, tmp_path, capsys):
    assert main(["init", "--with-inputs", "--database", database_url]) == 0  # ingest never creates one
    assert main(["ingest", str(products["good_boss_1"]), "--class", "oba", "--database", database_url]) == 0
    args = ["srun", "--nodes", "50", "--procs", "8", "--log-dir", str(tmp_path), "--dry-run"]
    args += ["--database", database_url, "--", "--instrument", "boss", "--bundle-boss", str(toy_boss.path)]
    assert main(args) == 0
    assert "1 spectra pending: 1 node(s) × 8 worker(s)" in capsys.readouterr().out
    assert "#SBATCH --array=0-0" in next(tmp_path.glob("workers-*.sh")).read_text()


def _slurm_ready() -> bool:
    if not shutil.which("sbatch"):
        return False
    done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and any(s in done.stdout for s in ("idle", "mixed", "allocated"))


@pytest.mark.slurm
@pytest.mark.skipif(not POSTGRES_URL, reason="ZETA_PAYNE_TEST_POSTGRES_URL not set")
def test_real_slurm_job_array(tmp_path, toy_boss, capsys):
    if not _slurm_ready():
        pytest.skip("no Slurm controller with an idle node on this machine")
    from tests.astra.scale import populate
    from zeta_payne.astra.database import bound_database, open_database, parse_url
    from zeta_payne.astra.model import ZetaPayne
    from zeta_payne.astra.queue import claims as cl

    schema = f"zp_slurm_{uuid.uuid4().hex[:8]}"
    url = f"{POSTGRES_URL}?schema={schema}"
    shared = tmp_path  # one machine: the log folder is shared by construction
    try:
        with bound_database(url, create=True, inputs=True):
            n = populate(shared / "files", {"boss": toy_boss}, {"boss": 24}, n_files=2)["boss"]
        args = ["srun", "--nodes", "2", "--procs", "1", "--log-dir", str(shared / "logs"), "--wait"]
        args += ["--database", url, "--", "--instrument", "boss", "--bundle-boss", str(toy_boss.path)]
        args += ["--output-dir", str(shared / "products"), "--batch-size", "4", *CHEAP]
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "2 finished" in out and f"{n} rows committed" in out
        logs = sorted((shared / "logs").glob("worker-*_*.log"))
        assert len(logs) == 2 and all("zeta-payne worker: job" in p.read_text() for p in logs)
        assert (shared / "logs" / "summary.txt").exists()
        with bound_database(url):
            pks = [r.spectrum_pk for r in ZetaPayne.select()]
            assert len(pks) == len(set(pks)) == n
            labels = {w.label for w in cl.ZetaPayneWorker.select()}
            assert len(labels) == 2 and all(label.startswith("slurm-") for label in labels)
    finally:
        db = open_database(parse_url(POSTGRES_URL))
        db.execute_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        db.close()
