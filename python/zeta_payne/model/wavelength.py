"""Air ↔ vacuum wavelength conversion (IAU standard, Morton 2000 / Ciddor 1996)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["air_to_vacuum", "vacuum_to_air", "to_vacuum"]


def _refractive_index_from_vacuum(vacuum: np.ndarray) -> np.ndarray:
    s2 = (1e4 / vacuum) ** 2
    return 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - s2) + 1.5998e-4 / (38.9 - s2)


def vacuum_to_air(wavelength: npt.ArrayLike) -> np.ndarray:
    """Convert vacuum wavelengths to air (valid above 2000 Å; unchanged below).

    Parameters
    ----------
    wavelength : array_like, shape (*)
        Vacuum wavelength [Å].

    Returns
    -------
    numpy.ndarray, shape (*)
        Air wavelength [Å].
    """
    vac = np.asarray(wavelength, dtype=float)
    n = np.where(vac > 2000.0, _refractive_index_from_vacuum(np.maximum(vac, 2000.0)), 1.0)
    return vac / n


def air_to_vacuum(wavelength: npt.ArrayLike) -> np.ndarray:
    """Convert air wavelengths to vacuum (inverse of :func:`vacuum_to_air`).

    Solved by fixed-point iteration to better than 1e-8 Å.

    Parameters
    ----------
    wavelength : array_like, shape (*)
        Air wavelength [Å].

    Returns
    -------
    numpy.ndarray, shape (*)
        Vacuum wavelength [Å].
    """
    air = np.asarray(wavelength, dtype=float)
    vac = air.copy()
    for _ in range(6):
        vac = air + (vac - vacuum_to_air(vac))
    return vac


def to_vacuum(wavelength: npt.ArrayLike, medium: str) -> np.ndarray:
    """Return ``wavelength`` in vacuum, given the ``medium`` ("air" or "vacuum") it is in."""
    medium = medium.lower()
    if medium == "vacuum":
        return np.asarray(wavelength, dtype=float)
    if medium == "air":
        return air_to_vacuum(wavelength)
    raise ValueError(f"unknown wavelength medium {medium!r}; expected 'air' or 'vacuum'")
