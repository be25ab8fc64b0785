"""The shared label space of a joint fit: the union of the bundles' labels over the
intersection of their boxes (:mod:`zeta_payne.fitting.joint`).

Numerical code only: no I/O, no configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from zeta_payne.fitting.fitter import Fitter

__all__ = ["LabelSpace"]


class LabelSpace:
    """The shared labels of several bundles: union of their names, intersection of their boxes.

    A label is free in the joint fit when any bundle fits it; a spectrum whose bundle holds it
    fixed keeps its own fixed value.

    Parameters
    ----------
    fitters : sequence of Fitter
    """

    def __init__(self, fitters: Sequence[Fitter]) -> None:
        names: list[str] = []
        for f in fitters:
            names.extend(n for n in f.label_names if n not in names)
        self.names: tuple[str, ...] = tuple(names)
        n = len(names)
        self.lower = np.full(n, -np.inf)
        self.upper = np.full(n, np.inf)
        self.free = np.zeros(n, bool)
        self.fixed_values = np.full(n, np.nan)
        for f in fitters:
            for i, name in enumerate(f.label_names):
                j = names.index(name)
                self.lower[j] = max(self.lower[j], f.lower[i])
                self.upper[j] = min(self.upper[j], f.upper[i])
                self.free[j] |= bool(f.free[i])
                if np.isnan(self.fixed_values[j]):
                    self.fixed_values[j] = f.fixed_values[i]
        if np.any(self.lower >= self.upper):
            bad = [names[j] for j in np.flatnonzero(self.lower >= self.upper)]
            raise ValueError(f"the bundles' boxes do not overlap in {bad}")

    @property
    def n_free(self) -> int:
        """Number of shared free labels F."""
        return int(self.free.sum())

    def full(self, theta: np.ndarray) -> np.ndarray:
        """All joint labels ``(L_joint,)`` from the free ones ``(F,)``."""
        out = self.fixed_values.copy()
        out[self.free] = theta
        return out

    def columns(self, fitter: Fitter) -> np.ndarray:
        """For every joint free label, the index of that label among ``fitter``'s labels if
        the fitter fits it, else −1; shape (F,)."""
        out = []
        for j in np.flatnonzero(self.free):
            name = self.names[j]
            i = fitter.label_names.index(name) if name in fitter.label_names else -1
            out.append(i if i >= 0 and fitter.free[i] else -1)
        return np.array(out, dtype=int)

    def member_labels(self, fitter: Fitter, theta: np.ndarray) -> np.ndarray:
        """``fitter``'s label vector ``(L,)`` at the joint free labels ``theta (F,)``."""
        lab = fitter.fixed_values.copy()
        cols = self.columns(fitter)
        sel = cols >= 0
        lab[cols[sel]] = np.asarray(theta, dtype=float)[sel]
        return lab

    def from_member(self, fitter: Fitter, labels: np.ndarray) -> np.ndarray:
        """Joint free labels ``(F,)`` from one fitter's labels ``(L,)`` (others at their fixed
        value, or the box centre)."""
        full = self.fixed_values.copy()
        centre = 0.5 * (self.lower + self.upper)
        full[self.free] = centre[self.free]
        for i, name in enumerate(fitter.label_names):
            j = self.names.index(name)
            if self.free[j] and np.isfinite(labels[i]):
                full[j] = np.clip(labels[i], self.lower[j], self.upper[j])
        return full[self.free]
