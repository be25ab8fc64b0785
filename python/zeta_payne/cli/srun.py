"""``zeta-payne srun``: the pending work as a Slurm job array of claiming workers.

    zeta-payne srun --nodes 4 --procs 8 --time 12:00:00 --database URL -- --instrument boss

Everything after ``--`` is passed to ``zeta-payne worker`` on every node (``--reprocess``
becomes ``--reprocess-before <now>``, one cutoff for all). Scripts, one log per array task
and ``summary.txt`` (written by a final job after the array) go to ``--log-dir``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from zeta_payne.cli.parser import add_command

__all__ = ["register"]


def _worker_parser() -> argparse.ArgumentParser:
    from zeta_payne.cli.workers import add_worker_options

    parser = argparse.ArgumentParser(prog="zeta-payne worker", add_help=False)
    add_worker_options(parser)
    return parser


def _forwarded(args: argparse.Namespace) -> tuple[list[str], argparse.Namespace]:
    import datetime

    words = [w for w in args.worker_args if w != "--"]
    if "--reprocess" in words:
        words.remove("--reprocess")
        words += ["--reprocess-before", datetime.datetime.now().isoformat(timespec="seconds")]
    if args.database:
        words = [*words, "--database", args.database]
    parsed = _worker_parser().parse_args(words)
    return words, parsed


def _status_args(parsed: argparse.Namespace) -> list[str]:
    out = []
    for flag, value in (
        ("--bundle-boss", parsed.bundle_boss),
        ("--bundle-apogee", parsed.bundle_apogee),
        ("--hot-class", parsed.hot_class),
        ("--top-k", str(parsed.top_k)),
        ("--program", parsed.program),
        ("--database", parsed.database),
    ):
        if value is not None:
            out += [flag, value]
    for flag in ("no_program", "no_route"):
        if getattr(parsed, flag):
            out.append("--" + flag.replace("_", "-"))
    return out


def _pending(parsed: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.astra.queue.worker import WorkerOptions, pending_count
    from zeta_payne.cli.workers import worker_options_from_args

    options: WorkerOptions = worker_options_from_args(parsed)
    with bound_database(parsed.database):
        return pending_count(options)


def _srun(args: argparse.Namespace) -> int:
    from zeta_payne.astra.queue.slurm import SlurmPlan, submit

    words, parsed = _forwarded(args)
    nodes = max(1, args.nodes)
    if not args.no_check:
        pending = _pending(parsed)
        if pending == 0 and not args.dry_run:
            print("nothing is pending: no job submitted")
            return 0
        per_node = max(1, args.procs) * max(1, parsed.batch_size)
        nodes = max(1, min(nodes, math.ceil(pending / per_node)))
        print(f"{pending} spectra pending: {nodes} node(s) × {args.procs} worker(s)")
    plan = SlurmPlan(
        nodes=nodes,
        procs=max(1, args.procs),
        worker_args=tuple(words),
        status_args=tuple(_status_args(parsed)),
        log_dir=args.log_dir,
        executable=tuple(args.executable.split()) if args.executable else SlurmPlan.executable,
        job_name=args.job_name,
        partition=args.partition,
        account=args.account,
        time=args.time,
        mem=args.mem,
        extra=tuple(args.sbatch_option or ()),
    )
    try:
        result = submit(plan, dry_run=args.dry_run, wait=args.wait)
    except (RuntimeError, FileNotFoundError) as exc:
        print(f"zeta-payne: error: {exc}", file=sys.stderr)
        return 1
    print(f"worker array: {result.array_script}" + ("" if args.dry_run else f" (job {result.array_job})"))
    print(f"summary job:  {result.summary_script}" + ("" if args.dry_run else f" (job {result.summary_job})"))
    print(f"logs:         {result.log_dir}/worker-<job>_<task>.log, summary in {result.summary_path}")
    if args.wait and not args.dry_run:
        if os.path.exists(result.summary_path):
            with open(result.summary_path) as fh:
                sys.stdout.write(fh.read())
        else:
            print(f"no summary was written (see {result.log_dir})", file=sys.stderr)
            return 1
    return 0


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``srun`` to ``sub`` (``listed=False``: the kept old name)."""
    srun = add_command(
        sub,
        "srun",
        "run the pending work as a Slurm job array of workers",
        example="zeta-payne db srun --nodes 4 --procs 8 --time 12:00:00 --database URL -- --instrument boss",
        description="Split the pending spectra over nodes × processes as a Slurm job array of "
        "`zeta-payne worker`s sharing the work through database claims; a final job writes a "
        "summary. Worker options go after `--`.",
        listed=listed,
    )
    srun.add_argument("--nodes", type=int, default=1, help="array tasks, one node each")
    srun.add_argument("--procs", type=int, default=1, help="worker processes per node")
    srun.add_argument("--partition", default=None)
    srun.add_argument("--account", default=None)
    srun.add_argument("--time", default=None, help="time limit per array task (Slurm format)")
    srun.add_argument("--mem", default=None, help="memory per node (Slurm format)")
    srun.add_argument("--sbatch-option", action="append", metavar="OPT", help="more #SBATCH options")
    srun.add_argument("--job-name", default="zeta-payne")
    srun.add_argument("--log-dir", default="zeta-payne-slurm", help="scripts, logs and summary")
    srun.add_argument("--executable", default=None, help="command that starts zeta-payne on the nodes")
    srun.add_argument("--dry-run", action="store_true", help="write the scripts, submit nothing")
    srun.add_argument("--wait", action="store_true", help="wait for the summary and print it")
    srun.add_argument("--no-check", action="store_true", help="do not count the pending spectra first")
    from zeta_payne.cli.database import add_database_option

    add_database_option(srun)
    srun.add_argument("worker_args", nargs=argparse.REMAINDER, help="-- then `zeta-payne worker` options")
    srun.set_defaults(func=_srun)
