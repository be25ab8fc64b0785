"""The trained region of a bundle inside its label box (the log g floor of atmosphere holes).

A bundle's box is rectangular, but a grid with atmosphere holes (v3: no ATLAS9 atmospheres at
low gravity for hot stars) has no training spectra in part of it; there the network
extrapolates. The floor (:func:`zeta_payne.grids.coverage.logg_floor`, shipped in the bundle's
``fit_defaults["logg_floor"]``) is a list of ``(teff_lo, teff_hi, logg_min)`` cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["below_logg_floor", "logg_minimum"]

#: log g [dex] below a floor that still counts as on it (the optimiser's bound tolerance)
FLOOR_TOLERANCE = 1e-3


def below_logg_floor(teff: np.ndarray | float, logg: np.ndarray | float,
                     floor: Sequence[Sequence[float]]) -> np.ndarray:
    """Whether each (teff, log g) lies where the bundle has no training spectra.

    Parameters
    ----------
    teff : array_like, shape (N,) or scalar
        [K]
    logg : array_like, shape (N,) or scalar
        [dex]
    floor : sequence of (teff_lo, teff_hi, logg_min)
        The bundle's log g floor; empty: nothing is below it.

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
    """
    teff = np.atleast_1d(np.asarray(teff, dtype=float))
    logg = np.atleast_1d(np.asarray(logg, dtype=float))
    out = np.zeros(np.broadcast(teff, logg).shape, bool)
    for lo, hi, minimum in floor:
        out |= (teff >= lo) & (teff <= hi) & (logg < minimum - FLOOR_TOLERANCE)
    return out


def logg_minimum(teff: float, lower: float, floor: Sequence[Sequence[float]]) -> float:
    """The lowest trained log g [dex] at ``teff`` [K]: the box's ``lower`` or the floor above it.

    A star whose log g is below this is outside the bundle's physics (a giant for it), even
    inside the rectangular box.
    """
    values = [float(minimum) for lo, hi, minimum in floor if lo <= teff <= hi]
    return max([float(lower), *values])
