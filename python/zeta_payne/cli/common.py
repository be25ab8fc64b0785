"""Helpers shared by the command modules (thread pinning, output tables)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import Any

from zeta_payne.threads import pin_threads

__all__ = ["pin_threads", "write_table"]


def write_table(
    rows: Sequence[dict[str, Any]], path: str | None, columns: Sequence[str] | None = None
) -> None:
    """Write rows as CSV to ``path`` (``-`` or ``None``: an aligned table on stdout)."""
    if not rows:
        return
    columns = list(columns or rows[0].keys())
    if path and path != "-":
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.0f}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    out = sys.stdout
    out.write("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)) + "\n")
    for row in cells:
        out.write("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) + "\n")
