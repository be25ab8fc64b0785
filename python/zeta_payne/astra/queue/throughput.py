"""Progress and rate of a run, from the result rows and the worker table (``zeta-payne status``)."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from typing import Any

from peewee import fn

from zeta_payne.astra import compat
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.queue.claims import RUNNING, ZetaPayneClaim, ZetaPayneWorker

__all__ = ["in_progress", "recent_rate", "worker_groups", "workers_table"]


def recent_rate(window: float = 900.0, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Result rows written in the last ``window`` seconds, per hour.

    Returns ``{"rows", "window", "per_hour"}`` (``per_hour`` is ``None`` with fewer than two
    rows): the rate is the rows over the span from the first of them to now (so a run that
    started inside the window is not under-counted).
    """
    now = now or datetime.datetime.now()
    since = now - datetime.timedelta(seconds=window)
    z = ZetaPayne
    version = compat.current_v_astra() // 1000
    query = z.select(fn.COUNT(z.task_pk), fn.MIN(z.modified)).where(
        (z.modified >= since) & (z.v_astra_major_minor == version)
    )
    count, first = query.scalar(as_tuple=True)
    count = int(count or 0)
    per_hour = None
    if count >= 2 and first is not None:
        if isinstance(first, str):
            first = datetime.datetime.fromisoformat(first)
        span = max((now - first).total_seconds(), 1.0)
        per_hour = count / span * 3600.0
    return {"rows": count, "window": window, "per_hour": per_hour}


def in_progress() -> int:
    """Spectra claimed by workers right now (current ASTRA version)."""
    c = ZetaPayneClaim
    return c.select().where(c.v_astra_major_minor == compat.current_v_astra() // 1000).count()


def workers_table(label_prefix: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Worker rows (newest first), with ``elapsed`` [s] and ``per_hour`` (committed rows per hour)."""
    w = ZetaPayneWorker
    query = w.select().order_by(w.pk.desc()).limit(limit)
    if label_prefix:
        query = query.where(w.label.startswith(label_prefix))
    now = time.time()
    out = []
    for row in query.dicts():
        end = row["finished"] or (row["heartbeat"] if row["status"] != RUNNING else now)
        elapsed = max(0.0, end - row["started"])
        row["elapsed"] = elapsed
        row["per_hour"] = row["n_done"] / elapsed * 3600.0 if elapsed > 0 else None
        row["heartbeat_age"] = now - row["heartbeat"]
        out.append(row)
    return out


def worker_groups(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over worker rows: counts by status, rows done and bad, wall span, rate per hour."""
    if not rows:
        return {"workers": 0, "status": {}, "done": 0, "bad": 0, "span": 0.0, "per_hour": None}
    start = min(r["started"] for r in rows)
    end = max(r["started"] + r["elapsed"] for r in rows)
    done = sum(r["n_done"] for r in rows)
    span = max(0.0, end - start)
    return {
        "workers": len(rows),
        "status": dict(Counter(r["status"] for r in rows)),
        "hosts": len({r["host"] for r in rows}),
        "done": done,
        "bad": sum(r["n_bad"] for r in rows),
        "span": span,
        "per_hour": done / span * 3600.0 if span > 0 else None,
    }
