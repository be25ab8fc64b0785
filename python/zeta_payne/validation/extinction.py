"""Interstellar extinction: the Cardelli, Clayton & Mathis (1989) law.

A(λ)/A(V) = a(x) + b(x)/R_V with x = 1/λ [μm⁻¹] (CCM89, ApJ 345, 245, eqs. 2 and 3):

- infrared, 0.3 ≤ x < 1.1: a = 0.574 x^1.61, b = −0.527 x^1.61;
- optical/NIR, 1.1 ≤ x ≤ 3.3, y = x − 1.82:
  a = 1 + 0.17699 y − 0.50447 y² − 0.02427 y³ + 0.72085 y⁴ + 0.01979 y⁵ − 0.77530 y⁶ + 0.32999 y⁷,
  b = 1.41338 y + 2.28305 y² + 1.07233 y³ − 5.38434 y⁴ − 0.62251 y⁵ + 5.30260 y⁶ − 2.09002 y⁷.

That covers 3,030 Å–3.3 μm: BOSS (3,600–10,400 Å) and APOGEE (1.5–1.7 μm). The ultraviolet
branches of the law are not needed and not implemented.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ccm89", "reddening"]

_A_OPT = (1.0, 0.17699, -0.50447, -0.02427, 0.72085, 0.01979, -0.77530, 0.32999)
_B_OPT = (0.0, 1.41338, 2.28305, 1.07233, -5.38434, -0.62251, 5.30260, -2.09002)


def ccm89(wavelength: npt.ArrayLike, r_v: float = 3.1) -> np.ndarray:
    """Extinction relative to V, A(λ)/A(V), of the CCM89 law.

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Wavelengths [Å], 3,030 Å ≤ λ ≤ 33,333 Å (vacuum or air: the law is smooth).
    r_v : float
        Total-to-selective extinction A(V)/E(B−V) (3.1: the diffuse ISM).

    Returns
    -------
    numpy.ndarray, shape (N,)
        A(λ)/A(V).

    Raises
    ------
    ValueError
        A wavelength outside the infrared and optical branches.
    """
    x = 1e4 / np.asarray(wavelength, dtype=float)
    if np.any((x < 0.3) | (x > 3.3)):
        raise ValueError("ccm89: wavelengths must lie within 3,030–33,333 Å")
    a = np.empty_like(x)
    b = np.empty_like(x)
    ir = x < 1.1
    a[ir] = 0.574 * x[ir] ** 1.61
    b[ir] = -0.527 * x[ir] ** 1.61
    y = x[~ir] - 1.82
    a[~ir] = np.polynomial.polynomial.polyval(y, _A_OPT)
    b[~ir] = np.polynomial.polynomial.polyval(y, _B_OPT)
    return a + b / r_v


def reddening(wavelength: npt.ArrayLike, ebv: float, r_v: float = 3.1) -> np.ndarray:
    """Fraction of the light transmitted through dust of colour excess ``ebv``.

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Wavelengths [Å].
    ebv : float
        Colour excess E(B−V) [mag], ≥ 0.
    r_v : float
        A(V)/E(B−V).

    Returns
    -------
    numpy.ndarray, shape (N,)
        10^(−0.4 A(λ)), with A(V) = R_V E(B−V).
    """
    if ebv < 0:
        raise ValueError("E(B-V) must be >= 0")
    return 10.0 ** (-0.4 * r_v * ebv * ccm89(wavelength, r_v))
