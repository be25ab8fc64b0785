"""A dependency-free progress bar for the command line (stderr)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


class ProgressBar:
    """``label [#####.....] 12/20  3.1 s/spectrum`` redrawn in place on a terminal.

    On a non-terminal stream a line is written at the start, every 10 % and at the end.
    Call the instance as ``progress(label, done, total)`` (the signature of
    :data:`zeta_payne.astra.ops.run.Progress`).
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self._label = ""
        self._start = time.monotonic()
        self._last_decile = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, label: str, done: int, total: int) -> None:
        if label != self._label or done == 0:
            self._label, self._start, self._last_decile = label, time.monotonic(), -1
        total = max(total, 1)
        fraction = min(done / total, 1.0)
        filled = int(round(self.width * fraction))
        rate = (time.monotonic() - self._start) / done if done else 0.0
        text = f"{label} [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        if done:
            text += f"  {rate:.1f} s/spectrum"
        if self._tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
            self.stream.flush()
            return
        decile = int(fraction * 10)
        if decile != self._last_decile or done >= total:
            self._last_decile = decile
            self.stream.write(text + "\n")
            self.stream.flush()
