"""Interstellar absorption lines and bands: what the dust's gas puts on a reddened star.

A realistic hot-star target of SDSS-V lies behind E(B−V) of tenths to several magnitudes, and
the same sight line that reddens it carries narrow atomic lines (Ca II H and K, Na I D) and
the diffuse interstellar bands (DIBs), none of which a stellar model has. The features here
are the strongest in the BOSS range; each is a Gaussian in wavelength whose equivalent width
follows E(B−V) by a mean relation of the literature. The relations are **approximate** (the
sight-line scatter of a DIB's strength at fixed E(B−V) is 20–50 %), enough to ask whether
features of this size move the labels, not to model a given star:

- DIBs (air centres from the catalogues, converted to vacuum; EW ∝ E(B−V)): λ4428 (FWHM
  ≈ 20 Å, ≈ 1.5 Å per mag), λ5780 (2.1 Å, ≈ 0.5 Å/mag), λ5797 (1.0 Å, ≈ 0.17 Å/mag), λ6284
  (4 Å, ≈ 1.0 Å/mag), λ6614 (1.1 Å, ≈ 0.2 Å/mag) — the mean slopes of large samples
  (e.g. Friedman et al. 2011, ApJ 727, 33), rounded;
- Na I D₁ + D₂: log₁₀ E(B−V) = 2.16 EW(D₁+D₂) − 1.91 (Poznanski, Prochaska & Bloom 2012,
  MNRAS 426, 1465), D₂ : D₁ = 1.2 : 1 (partly saturated); the relation flattens above
  EW ≈ 1 Å, so it is used up to E(B−V) = 1.5;
- Ca II K: EW ≈ 0.25 √E(B−V) Å (weakly tied to reddening; the Galactic disc's usual
  0.1–0.4 Å), Ca II H at half of K.

The atomic lines are unresolved at R ≈ 2,000 (intrinsic width set to 0.1 Å). Every feature
sits at a heliocentric velocity of 0 (local gas moves by ≲ 20 km/s, a fifth of a BOSS
pixel), so the absorption is fixed in the observatory's frame, unlike the star's lines.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["INTERSTELLAR_FEATURES", "interstellar_absorption", "interstellar_equivalent_widths"]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))

#: (name, vacuum centre [Å], intrinsic FWHM [Å]) of each feature.
INTERSTELLAR_FEATURES: tuple[tuple[str, float, float], ...] = (
    ("Ca II K", 3934.78, 0.1),
    ("Ca II H", 3969.59, 0.1),
    ("DIB 4428", 4429.4, 20.0),
    ("DIB 5780", 5782.1, 2.1),
    ("DIB 5797", 5798.7, 1.0),
    ("Na I D2", 5891.58, 0.1),
    ("Na I D1", 5897.56, 0.1),
    ("DIB 6284", 6285.5, 4.0),
    ("DIB 6614", 6615.4, 1.1),
)

#: EW per magnitude of E(B−V) [Å/mag] of the DIBs.
_DIB_SLOPE = {"DIB 4428": 1.5, "DIB 5780": 0.5, "DIB 5797": 0.17, "DIB 6284": 1.0, "DIB 6614": 0.2}


def interstellar_equivalent_widths(ebv: float) -> dict[str, float]:
    """Equivalent width [Å] of every feature of :data:`INTERSTELLAR_FEATURES` at ``ebv``.

    Parameters
    ----------
    ebv : float
        E(B−V) [mag] of the sight line (≤ 0: no absorption).

    Returns
    -------
    dict of str to float
    """
    ebv = float(ebv)
    if ebv <= 0:
        return {name: 0.0 for name, _, _ in INTERSTELLAR_FEATURES}
    # Poznanski et al. (2012): log10 E = 2.16 EW - 1.91, used up to E = 1.5 (it flattens).
    na = max((np.log10(min(ebv, 1.5)) + 1.91) / 2.16, 0.0)
    k = 0.25 * np.sqrt(ebv)
    out = {"Ca II K": k, "Ca II H": 0.5 * k, "Na I D2": na * 1.2 / 2.2, "Na I D1": na / 2.2}
    out.update({name: slope * ebv for name, slope in _DIB_SLOPE.items()})
    return out


def interstellar_absorption(
    wavelength: npt.ArrayLike, fwhm: npt.ArrayLike, ebv: float
) -> np.ndarray:
    """Transmission of the interstellar features seen through the LSF, at the pixels.

    Each feature is a Gaussian of its :func:`interstellar_equivalent_widths` whose width is
    its intrinsic FWHM and the LSF's added in quadrature (the weak-line limit: the features
    are shallow at R ≈ 2,000); the transmission is one minus their sum, floored at 0.

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Pixel wavelengths [Å, vacuum, observatory frame], increasing.
    fwhm : array_like, shape (N,)
        LSF FWHM per pixel [Å].
    ebv : float
        E(B−V) [mag].

    Returns
    -------
    numpy.ndarray, shape (N,)
        Transmission in [0, 1] (1 where no feature reaches).
    """
    lam = np.asarray(wavelength, dtype=float)
    width = np.asarray(fwhm, dtype=float)
    widths = interstellar_equivalent_widths(ebv)
    absorbed = np.zeros_like(lam)
    for name, centre, intrinsic in INTERSTELLAR_FEATURES:
        ew = widths[name]
        if ew <= 0 or not lam[0] <= centre <= lam[-1]:
            continue
        sigma = np.hypot(intrinsic, float(np.interp(centre, lam, width))) * _FWHM_TO_SIGMA
        near = np.abs(lam - centre) <= 6.0 * sigma
        absorbed[near] += ew / (sigma * np.sqrt(2.0 * np.pi)) * np.exp(
            -0.5 * ((lam[near] - centre) / sigma) ** 2
        )
    return np.clip(1.0 - absorbed, 0.0, 1.0)
