"""Slurm job arrays of workers (``zeta-payne srun``).

The pending work is split over ``nodes`` × ``procs`` worker processes: one array task per
node, each running ``zeta-payne worker --workers procs``. The workers share the work through
the database claims (:mod:`zeta_payne.astra.queue.claims`), not through ``--limit/--page``
slices, so nothing is skipped or done twice when the pending set changes while the jobs
wait in the queue, when spectra arrive, or when a node dies (its batches are taken over).
Each array task logs to its own file; a final job (``afterany`` the array) writes a summary.
"""

from __future__ import annotations

import datetime
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SlurmPlan", "SubmitResult", "array_script", "submit", "summary_script"]


@dataclass(frozen=True)
class SlurmPlan:
    """A job array of workers.

    Attributes
    ----------
    nodes : int
        Array tasks (one node each).
    procs : int
        Worker processes per node (``--cpus-per-task``).
    worker_args : tuple of str
        Arguments of ``zeta-payne worker`` (fit options, bundles, ``--database`` ...).
    status_args : tuple of str
        Arguments of ``zeta-payne status`` for the summary (``--database`` ...).
    log_dir : str
        Folder of the scripts, the per-task logs and the summary.
    executable : tuple of str
        How to start ``zeta-payne`` on the nodes (default: this Python, ``-m zeta_payne.cli``).
    job_name : str
    partition, account, time, mem : str or None
        Passed to ``#SBATCH`` when given.
    extra : tuple of str
        More ``#SBATCH`` lines (without the prefix), e.g. ``--qos=debug``.
    """

    nodes: int
    procs: int
    worker_args: tuple[str, ...]
    status_args: tuple[str, ...]
    log_dir: str
    executable: tuple[str, ...] = (sys.executable, "-m", "zeta_payne.cli")
    job_name: str = "zeta-payne"
    partition: str | None = None
    account: str | None = None
    time: str | None = None
    mem: str | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)


def _sbatch_lines(plan: SlurmPlan) -> list[str]:
    lines = []
    for key, value in (
        ("partition", plan.partition),
        ("account", plan.account),
        ("time", plan.time),
        ("mem", plan.mem),
    ):
        if value:
            lines.append(f"#SBATCH --{key}={value}")
    lines.extend(f"#SBATCH {item}" for item in plan.extra)
    return lines


def _command(words: Sequence[str]) -> str:
    return " ".join(shlex.quote(str(w)) for w in words)


def array_script(plan: SlurmPlan) -> str:
    """The ``sbatch`` script of the worker array."""
    log_dir = os.path.abspath(plan.log_dir)
    worker = _command([*plan.executable, "worker", "--workers", str(plan.procs), *plan.worker_args])
    return "\n".join(
        [
            "#!/bin/bash",
            f"#SBATCH --job-name={plan.job_name}",
            f"#SBATCH --array=0-{max(1, plan.nodes) - 1}",
            "#SBATCH --nodes=1",
            "#SBATCH --ntasks=1",
            f"#SBATCH --cpus-per-task={plan.procs}",
            f"#SBATCH --output={log_dir}/worker-%A_%a.log",
            *_sbatch_lines(plan),
            "# one array task per node; its workers claim batches from the database",
            "export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1",
            'echo "zeta-payne worker: job ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname)"',
            f'exec {worker} --label "slurm-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"',
            "",
        ]
    )


def summary_script(plan: SlurmPlan, array_job: str) -> str:
    """The ``sbatch`` script of the summary job (run after the array ends)."""
    log_dir = os.path.abspath(plan.log_dir)
    status = _command(
        [*plan.executable, "status", "--workers-label", f"slurm-{array_job}_", *plan.status_args]
    )
    return "\n".join(
        [
            "#!/bin/bash",
            f"#SBATCH --job-name={plan.job_name}-summary",
            f"#SBATCH --dependency=afterany:{array_job}",
            "#SBATCH --nodes=1",
            "#SBATCH --ntasks=1",
            "#SBATCH --cpus-per-task=1",
            f"#SBATCH --output={log_dir}/summary-{array_job}.log",
            *_sbatch_lines(plan),
            f"{status} | tee {shlex.quote(os.path.join(log_dir, 'summary.txt'))}",
            "",
        ]
    )


@dataclass(frozen=True)
class SubmitResult:
    """What was submitted: job ids and script paths."""

    array_job: str
    summary_job: str
    array_script: str
    summary_script: str
    log_dir: str

    @property
    def summary_path(self) -> str:
        """The summary written by the final job."""
        return os.path.join(self.log_dir, "summary.txt")


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o700)  # may hold a database URL
    return str(path)


def _sbatch(script: str, wait: bool = False) -> str:
    command = ["sbatch", "--parsable", *(["--wait"] if wait else []), script]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0 and not (wait and done.stdout.strip()):
        raise RuntimeError(f"sbatch {script} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip().split(";")[0]


def submit(plan: SlurmPlan, dry_run: bool = False, wait: bool = False) -> SubmitResult:
    """Write the scripts and submit the array and its summary job.

    Parameters
    ----------
    plan : SlurmPlan
        What to submit.
    dry_run : bool
        Write the scripts only (job ids ``DRYRUN``).
    wait : bool
        Return only when the summary job has ended.

    Raises
    ------
    RuntimeError
        ``sbatch`` failed.
    """
    folder = Path(plan.log_dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    array_path = _write(folder / f"workers-{stamp}.sh", array_script(plan))
    array_job = "DRYRUN" if dry_run else _sbatch(array_path)
    summary_path = _write(folder / f"summary-{stamp}.sh", summary_script(plan, array_job))
    summary_job = "DRYRUN" if dry_run else _sbatch(summary_path, wait=wait)
    return SubmitResult(array_job, summary_job, array_path, summary_path, str(folder))
