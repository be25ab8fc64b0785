"""``zeta-payne db status``: pending, done and failed spectra, rate and workers."""

from __future__ import annotations

import argparse
from typing import Any

from zeta_payne.cli.database import add_database_option, add_routing_options, routing_from_args
from zeta_payne.cli.parser import add_command

__all__ = ["register"]


def register(sub: argparse._SubParsersAction, listed: bool = True) -> None:
    """Add ``status`` to ``sub`` (``listed=False``: the kept old name)."""
    status = add_command(
        sub,
        "status",
        "pending / done / failed per instrument and bundle version, rate and workers",
        example="zeta-payne db status --database sqlite:///zp.sqlite\n"
        "zeta-payne db status --workers-label slurm-123_ --database postgresql://astra@db/sdss5db",
        listed=listed,
    )
    status.add_argument("--bundle-boss", default=None, help="BOSS bundle whose pending spectra are counted")
    status.add_argument(
        "--bundle-apogee", default=None, help="APOGEE bundle whose pending spectra are counted"
    )
    status.add_argument("--window", type=float, default=15.0, help="minutes over which the rate is measured")
    status.add_argument(
        "--workers-label", default=None, metavar="PREFIX", help="list the workers whose label starts so"
    )
    add_routing_options(status)
    add_database_option(status)
    status.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    from zeta_payne.astra.database import bound_database
    from zeta_payne.cli.common import write_table

    bundles = {"boss": args.bundle_boss, "apogee": args.bundle_apogee}
    with bound_database(args.database):
        from zeta_payne.astra.ops.status import pending_table, results_table

        pending = pending_table(routing_from_args(args), bundles)
        results = results_table()
        progress = _progress(args, pending)
    if pending:
        print("spectra:")
        write_table([{k: ("-" if v is None else v) for k, v in r.items()} for r in pending], None)
    else:
        print("no spectra registered")
    if results:
        print("\nresults:")
        write_table(
            results, None, ["instrument", "bundle_name", "bundle_version", "v_astra", "done", "bad", "warn"]
        )
    for line in progress:
        print(line)
    return 0


def _progress(args: argparse.Namespace, pending: list[dict[str, Any]]) -> list[str]:
    """Lines on progress, rate and workers (see :mod:`zeta_payne.astra.queue.throughput`)."""
    from zeta_payne.astra.queue.throughput import in_progress, recent_rate, worker_groups, workers_table

    lines = ["", "progress:"]
    left = sum(r["pending"] or 0 for r in pending)
    claimed = in_progress()
    rate = recent_rate(args.window * 60.0)
    lines.append(f"  pending {left} (of which {claimed} being fitted now)")
    if rate["per_hour"]:
        eta = left / rate["per_hour"] * 60.0 if left else 0.0
        lines.append(
            f"  rate {rate['per_hour']:.0f} spectra/hour ({rate['rows']} rows in the last "
            f"{args.window:g} min); {eta:.0f} min left at this rate"
        )
    else:
        lines.append(f"  rate: {rate['rows']} rows in the last {args.window:g} min")
    workers = workers_table(args.workers_label)
    if args.workers_label is None:
        workers = [w for w in workers if w["status"] == "running" or w["heartbeat_age"] < args.window * 60]
    total = worker_groups(workers)
    if total["workers"]:
        states = ", ".join(f"{n} {s}" for s, n in sorted(total["status"].items()))
        lines.append(
            f"  workers: {states} on {total['hosts']} host(s); {total['done']} rows committed "
            f"({total['bad']} bad) in {total['span'] / 60:.1f} min"
            + (f" = {total['per_hour']:.0f} spectra/hour" if total["per_hour"] else "")
        )
    if args.workers_label is not None:
        lines.append("")
        columns = ["pk", "label", "host", "pid", "status", "n_done", "n_bad", "elapsed", "per_hour"]
        columns.append("message")
        rows = [{k: ("-" if w.get(k) is None else w[k]) for k in columns} for w in workers]
        if rows:
            import io
            from contextlib import redirect_stdout

            from zeta_payne.cli.common import write_table

            buffer = io.StringIO()
            with redirect_stdout(buffer):
                write_table(rows, None, columns)
            lines.extend(buffer.getvalue().rstrip("\n").splitlines())
    return lines
