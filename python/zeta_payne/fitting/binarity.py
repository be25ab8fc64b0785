"""Binarity from fitted spectra: RV constancy of visits, RV scans, and a matched filter for a
second, velocity-shifted set of lines in a fit's residuals.

Used by :mod:`zeta_payne.fitting.joint` (multi-epoch fits set ``RV_VARIABLE`` from
:func:`rv_statistics` and ``SB2_CANDIDATE`` from :func:`companion_search`). Numerical code only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import chi2 as chi2_distribution

from zeta_payne.fitting.preparation import Prepared
from zeta_payne.fitting.presearch import solve_response
from zeta_payne.model.doppler import log_doppler_factor
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.lsf import resampling_band

if TYPE_CHECKING:
    from zeta_payne.fitting.fitter import Fitter

__all__ = ["RVStatistics", "companion_search", "rv_scan", "rv_statistics"]


@dataclass(frozen=True)
class RVStatistics:
    """Constancy of a set of RVs.

    Attributes
    ----------
    n : int
        RVs with finite values and errors.
    mean, e_mean : float
        Inverse-variance weighted mean and its error [km/s].
    chi2 : float
        ``Σ (v_k − mean)² / σ_k²`` (σ with the floor).
    dof : int
        ``n − 1``.
    p_constant : float
        ``P(χ²_dof ≥ chi2)``: the probability of RVs this scattered from a constant RV.
    peak_to_peak : float
        ``max v − min v`` [km/s].
    """

    n: int
    mean: float
    e_mean: float
    chi2: float
    dof: int
    p_constant: float
    peak_to_peak: float


def rv_statistics(v_rad: Sequence[float], e_v_rad: Sequence[float], floor: float = 0.0) -> RVStatistics:
    """RV-variability statistics: χ² about the weighted mean, p(constant), peak-to-peak.

    Parameters
    ----------
    v_rad : sequence of float, length K
        RVs [km/s].
    e_v_rad : sequence of float, length K
        Their errors [km/s].
    floor : float
        Error floor [km/s] added in quadrature.

    Returns
    -------
    RVStatistics
        NaN statistics when fewer than two RVs are usable (the mean with one).
    """
    v = np.asarray(v_rad, dtype=float)
    e = np.hypot(np.asarray(e_v_rad, dtype=float), float(floor))
    ok = np.isfinite(v) & np.isfinite(e) & (e > 0)
    v, e = v[ok], e[ok]
    n = int(v.size)
    if n == 0:
        return RVStatistics(0, np.nan, np.nan, np.nan, 0, np.nan, np.nan)
    w = 1.0 / e**2
    mean = float(np.sum(w * v) / np.sum(w))
    e_mean = float(1.0 / np.sqrt(np.sum(w)))
    if n < 2:
        return RVStatistics(n, mean, e_mean, np.nan, 0, np.nan, 0.0)
    chi2 = float(np.sum(w * (v - mean) ** 2))
    return RVStatistics(
        n, mean, e_mean, chi2, n - 1, float(chi2_distribution.sf(chi2, n - 1)), float(np.ptp(v))
    )


def rv_scan(
    fitter: Fitter, prep: Prepared, fm: ForwardModel, labels: np.ndarray, lo: float, hi: float
) -> float:
    """The RV [km/s] of lowest χ² at fixed labels over ``[lo, hi]`` (response solved linearly),
    on the fitter's pre-search RV levels (half an LSF FWHM apart), refined by a parabola
    through the best level and its neighbours.

    Parameters
    ----------
    fitter : Fitter
    prep : Prepared
    fm : ForwardModel
        Built for ``prep`` with an RV range that holds ``[lo, hi]``.
    labels : numpy.ndarray, shape (L,)
    lo, hi : float
        RV range [km/s].
    """
    levels = fitter._rv_levels(prep, lo, hi)
    design = fm.design.cpu().numpy()
    rest = fm.rest_flux(labels)
    chi = np.empty(levels.size)
    for k, v in enumerate(levels):
        s, _ = fm.resampler(float(v))
        chi[k] = solve_response((s @ rest).cpu().numpy(), prep.flux, prep.weight, design)[1]
    k = int(np.argmin(chi))
    if 0 < k < levels.size - 1:
        a, b, c = chi[k - 1], chi[k], chi[k + 1]
        denom = a - 2 * b + c
        if denom > 0:
            step = levels[1] - levels[0]
            return float(levels[k] + 0.5 * step * (a - c) / denom)
    return float(levels[k])


def companion_search(
    prep: Prepared,
    fm: ForwardModel,
    labels: np.ndarray,
    v_rad: float,
    coeffs: np.ndarray,
    shifts: np.ndarray,
    margin: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched filter of the residuals for a velocity-shifted copy of the fitted lines.

    At each shift Δv the template is the fitted star's line spectrum moved by Δv,
    ``t = √w (norm(θ, v + Δv) − 1) · response``; adding ``α t`` (α > 0: extra absorption, a
    companion) lowers χ² by ``Δχ² = (r·t)² / (t·t)`` when ``r·t > 0``, with ``r = √w (f − F)``
    the whitened residuals of the fit. A double-lined binary fitted as one star leaves the
    second star's lines in ``r``.

    Parameters
    ----------
    prep : Prepared
    fm : ForwardModel
        The fit's forward model (its window bounds the shifts: pixels whose shifted rest
        wavelength leaves it are skipped at that shift).
    labels : numpy.ndarray, shape (L,)
    v_rad : float
        Fitted RV [km/s].
    coeffs : numpy.ndarray, shape (C,)
        Fitted response (prepared units).
    shifts : numpy.ndarray, shape (S,)
        Shifts Δv to test [km/s].
    margin : int
        Model pixels kept clear of the window's edges.

    Returns
    -------
    delta_chi2 : numpy.ndarray, shape (S,)
        χ² decrease of the best companion at each shift (0 where it would need α ≤ 0).
    amplitude : numpy.ndarray, shape (S,)
        Its α (relative line strength of the companion).
    """
    sw = np.sqrt(prep.weight)
    resp = fm.response(coeffs)
    rest = fm.rest_flux(labels)
    model = fm.normalized(labels, v_rad) * resp
    r = sw * (prep.flux - model)
    out = np.zeros(len(shifts))
    amp = np.zeros(len(shifts))
    lo = fm.window_loglam0 + margin * fm.grid.delta
    hi = fm.window_loglam0 + (fm.n_window - 1 - margin) * fm.grid.delta
    for k, dv in enumerate(np.asarray(shifts, dtype=float)):
        target = fm.loglam - float(log_doppler_factor(v_rad + dv))
        valid = (target >= lo) & (target <= hi)
        if valid.sum() < 10:
            continue
        band, _ = resampling_band(fm.window_loglam0, fm.grid.delta, fm.n_window, target)
        shifted = (band.to_torch(fm.device, rest.dtype) @ rest).cpu().numpy()
        t = np.where(valid, sw * (shifted - 1.0) * resp, 0.0)
        tt = float(t @ t)
        rt = float(r[valid] @ t[valid])
        if tt > 0 and rt > 0:
            out[k] = rt * rt / tt
            amp[k] = rt / tt
    return out, amp
