"""Uncertainties: χ² parabolas (paper eqs. 6, 7) and the covariance matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ParabolaError", "chi2_one_sigma", "covariance", "n_degrees", "parabola_error"]


def n_degrees(resolution: float, wavelength_start: float, wavelength_end: float) -> float:
    """Effective number of independent resolution elements (paper eq. 6).

    ``N_deg = 4 R (λ_end − λ_start) / (λ_start + λ_end)``.
    """
    return 4.0 * resolution * (wavelength_end - wavelength_start) / (wavelength_start + wavelength_end)


def chi2_one_sigma(n_deg: float) -> float:
    """Relative χ² level of the 1σ interval (paper eq. 7): ``1 + sqrt(2 / N_deg)``."""
    return 1.0 + np.sqrt(2.0 / n_deg)


@dataclass(frozen=True)
class ParabolaError:
    """A parabola fitted to χ²(θ) around the optimum.

    Attributes
    ----------
    error : float
        Half-width where the parabola reaches ``χ²_1σ · χ²_min`` (NaN if not convex).
    curvature : float
        Second-order coefficient ``a`` of ``a θ² + b θ + c``.
    vertex : float
        Position of the parabola's minimum.
    chi2_min : float
        The parabola's minimum value.
    convex : bool
        ``a > 0`` and the parabola describes the points (relative misfit < 25 %).
    """

    error: float
    curvature: float
    vertex: float
    chi2_min: float
    convex: bool


def parabola_error(theta: npt.ArrayLike, chi2: npt.ArrayLike, level: float) -> ParabolaError:
    """Fit ``χ²(θ)`` with a second-order polynomial and return the 1σ half-width.

    Parameters
    ----------
    theta : array_like, shape (S,)
        Label values (S ≥ 3), the others held at the optimum.
    chi2 : array_like, shape (S,)
        χ² at those values.
    level : float
        ``χ²_1σ`` of :func:`chi2_one_sigma`.

    Returns
    -------
    ParabolaError
    """
    x = np.asarray(theta, dtype=float)
    y = np.asarray(chi2, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return ParabolaError(np.nan, np.nan, np.nan, np.nan, False)
    x, y = x[ok], y[ok]
    centre = x.mean()
    scale = max(np.ptp(x), 1e-300)
    u = (x - centre) / scale
    a_u, b_u, c_u = np.polyfit(u, y, 2)
    a = a_u / scale**2
    fit = np.polyval([a_u, b_u, c_u], u)
    spread = max(np.ptp(y), 1e-300)
    misfit = np.sqrt(np.mean((fit - y) ** 2)) / spread
    if not a_u > 0:
        return ParabolaError(np.nan, a, np.nan, np.nan, False)
    vertex_u = -b_u / (2.0 * a_u)
    chi2_min = c_u - b_u**2 / (4.0 * a_u)
    if not chi2_min > 0:
        return ParabolaError(np.nan, a, centre + vertex_u * scale, chi2_min, False)
    error = np.sqrt((level - 1.0) * chi2_min / a)
    return ParabolaError(
        float(error), float(a), float(centre + vertex_u * scale), float(chi2_min), misfit < 0.25
    )


def covariance(jacobian: npt.ArrayLike, rchi2: float = 1.0) -> np.ndarray:
    """Parameter covariance ``rchi2 · (JᵀJ)⁻¹`` from the whitened Jacobian.

    Parameters
    ----------
    jacobian : array_like, shape (N, M)
        ``d r / d p`` of the whitened residuals ``r = (f − F)/σ``.
    rchi2 : float
        Reduced χ² used to rescale (pass 1 for the formal covariance).

    Returns
    -------
    numpy.ndarray, shape (M, M)
        Covariance (pseudo-inverse for singular problems; NaN if not finite).
    """
    j = np.asarray(jacobian, dtype=float)
    # SVD-based pseudo-inverse, robust to near-singular response columns
    _, s, vt = np.linalg.svd(j, full_matrices=False)
    cutoff = np.finfo(float).eps * max(j.shape) * (s[0] if s.size else 0.0)
    inv_s2 = np.where(s > cutoff, 1.0 / np.maximum(s, 1e-300) ** 2, 0.0)
    cov = (vt.T * inv_s2) @ vt
    return cov * float(rchi2)
