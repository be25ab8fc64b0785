"""A dependency-free progress display for the command line (stderr)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["ProgressBar", "format_duration"]


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 20 s``, ``2 h 05 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


class ProgressBar:
    """``label [#####.....] 12/20  0.41 s/spectrum  8,780/h  ETA 3 s`` on stderr.

    Redrawn in place on a terminal; on other streams a line at the start, every 10 % and at
    the end. The rate is measured from the first call of a label (``done == 0`` announces
    it), so it is the true wall-clock rate, reading and writing included. Call the instance
    as ``progress(label, done, total)`` (the signature of
    :data:`zeta_payne.astra.queue.worker.Progress`).

    Parameters
    ----------
    stream : text stream, optional
        Where to draw (default stderr).
    width : int
        Characters of the bar.
    clock : callable
        Seconds (monotonic); tests pass their own.
    """

    def __init__(
        self, stream: TextIO | None = None, width: int = 30, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.clock = clock
        self._starts: dict[str, float] = {}
        self._last_decile: dict[str, int] = {}
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def text(self, label: str, done: int, total: int) -> str:
        """The progress line (without drawing it)."""
        start = self._starts.setdefault(label, self.clock())
        total = max(total, done, 1)
        fraction = min(done / total, 1.0)
        filled = int(round(self.width * fraction))
        text = f"{label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        elapsed = self.clock() - start
        if done and elapsed > 0:
            per = elapsed / done
            text += f"  {per:.2f} s/spectrum  {3600.0 / per:,.0f}/h"
            if done < total:
                text += f"  ETA {format_duration(per * (total - done))}"
            else:
                text += f"  in {format_duration(elapsed)}"
        return text

    def __call__(self, label: str, done: int, total: int) -> None:
        if done == 0:
            self._starts[label] = self.clock()
            self._last_decile[label] = -1
        text = self.text(label, done, total)
        finished = done >= total
        if self._tty:
            self.stream.write("\r\033[K" + text + ("\n" if finished else ""))
            self.stream.flush()
            return
        decile = int(min(done / max(total, 1), 1.0) * 10)
        if decile != self._last_decile.get(label, -1) or finished:
            self._last_decile[label] = decile
            self.stream.write(text + "\n")
            self.stream.flush()
