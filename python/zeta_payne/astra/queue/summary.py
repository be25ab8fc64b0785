"""Counts of committed result rows per (instrument, spectrum model), shared by the
single-process run (:mod:`zeta_payne.astra.ops.run`) and the claiming workers
(:mod:`zeta_payne.astra.queue.worker`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RowCounts"]


@dataclass
class RowCounts:
    """``counts``: ``{(instrument, model name): {"fitted", "bad", "warn"}}``; ``errors``:
    ``{instrument: message}`` for instruments that could not run."""

    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def fitted(self) -> int:
        """Result rows written."""
        return sum(c["fitted"] for c in self.counts.values())

    @property
    def bad(self) -> int:
        """Rows with a bad flag."""
        return sum(c["bad"] for c in self.counts.values())

    def add(self, instrument: str, model: str, rows: Iterable[Any] = ()) -> dict[str, int]:
        """Count ``rows`` (objects with ``flag_bad``/``flag_warn``) under (instrument, model);
        returns that key's counts."""
        counts = self.counts.setdefault((instrument, model), {"fitted": 0, "bad": 0, "warn": 0})
        for row in rows:
            counts["fitted"] += 1
            counts["bad"] += int(bool(row.flag_bad))
            counts["warn"] += int(bool(row.flag_warn))
        return counts
