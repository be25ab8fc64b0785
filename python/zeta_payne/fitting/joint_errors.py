"""The reported errors of joint and multi-epoch fits (:mod:`zeta_payne.fitting.joint`): each
bundle's error calibration applied to the joint covariance errors, RV errors absolute and
visit-to-visit, and each spectrum's weight in the joint χ².

Numerical code only: no I/O, no configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from zeta_payne.fitting.result import FitResult

if TYPE_CHECKING:
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.joint_space import LabelSpace

__all__ = ["joint_errors", "noise_scale", "relative_rv_error", "rv_error"]


def joint_errors(
    space: LabelSpace,
    fitters: Sequence[Fitter],
    labels: np.ndarray,
    cov_e: np.ndarray,
    raw_e: np.ndarray,
    rchi2: float = 1.0,
) -> tuple[np.ndarray, bool]:
    """The reported errors of a joint fit: calibrated as for single spectra where every bundle has
    an error calibration, else the raw χ²-parabola errors.

    Each bundle's calibration ``e_k = sqrt((s_k σ)² + F_k²)`` (σ the covariance error, ``F_k``
    its floors, read back as ``e_k`` at σ = 0) is applied to the **joint** covariance error;
    the statistical parts are one measurement (the largest ``s_k σ`` is kept), the floors are
    the instruments' own systematics, taken as independent and combined in inverse variance
    (``F⁻² = Σ F_k⁻²``; one bundle — a multi-epoch fit — keeps its own floor). So
    ``e = sqrt(max_k (s_k σ)² + F²)``.

    Parameters
    ----------
    space : LabelSpace
    fitters : sequence of Fitter
        The members' fitters (their ``error_calibration``, if any).
    labels : numpy.ndarray, shape (L,)
        Joint labels.
    cov_e, raw_e : numpy.ndarray, shape (L,)
        Joint covariance and χ²-parabola errors.
    rchi2 : float
        Reduced χ² of the joint fit (the calibrations' error models may depend on it).

    Returns
    -------
    e_labels : numpy.ndarray, shape (L,)
    calibrated : bool
    """
    bundles = list({id(f.bundle): f for f in fitters}.values())
    calibrations = [getattr(f, "error_calibration", None) for f in bundles]
    if not bundles or any(c is None for c in calibrations):
        return np.array(raw_e, dtype=float, copy=True), False
    names = list(space.names)
    stat2 = np.zeros(len(names))
    inv_floor2 = np.zeros(len(names))
    zero_floor = np.zeros(len(names), bool)
    for calibration in calibrations:
        e_k, _ = calibration.apply(names, labels, cov_e, float("nan"), float("nan"), rchi2)
        f_k, _ = calibration.apply(names, labels, np.zeros(len(names)), float("nan"), float("nan"), rchi2)
        e_k, f_k = np.asarray(e_k, dtype=float), np.asarray(f_k, dtype=float)
        stat2 = np.fmax(stat2, np.clip(e_k**2 - f_k**2, 0.0, None))
        zero_floor |= ~(f_k > 0)
        inv_floor2 += np.where(f_k > 0, 1.0 / np.where(f_k > 0, f_k, 1.0) ** 2, 0.0)
    floor2 = np.where(zero_floor | (inv_floor2 <= 0), 0.0, 1.0 / np.where(inv_floor2 > 0, inv_floor2, 1.0))
    e = np.sqrt(stat2 + floor2)
    e[~np.isfinite(np.asarray(cov_e, dtype=float))] = np.nan
    return e, True


def rv_error(fitter: Fitter, labels: np.ndarray, v_rad: float, cov_e_v_rad: float, rchi2: float) -> float:
    """An RV's reported error [km/s]: its covariance error ``cov_e_v_rad`` [km/s] through the
    bundle's error calibration at ``labels`` (shape (L,)), ``v_rad`` [km/s] and ``rchi2``
    (``cov_e_v_rad`` itself without a calibration or where it is not finite)."""
    calibration = getattr(fitter, "error_calibration", None)
    if calibration is None or not np.isfinite(cov_e_v_rad):
        return float(cov_e_v_rad)
    nan = np.full(len(fitter.label_names), np.nan)
    _, e_v_rad = calibration.apply(fitter.label_names, labels, nan, v_rad, cov_e_v_rad, rchi2)
    return float(e_v_rad)


def relative_rv_error(fitter: Fitter, v_rad: float, cov_e_v_rad: float, rchi2: float) -> float:
    """The visit-to-visit error of an RV: its covariance error through the bundle's RV error
    calibration without the calibration's floors.

    The calibration (``e = sqrt((s σ)² + F²)``, measured on single spectra against the true
    RV) holds in ``F`` the error of the RV's zero-point — template mismatch (labels off
    the truth), the model's line positions — which spectra of one star fitted with the same
    bundle and shared labels have in common: it cancels in their differences, so only the
    scaled statistical part ``s σ`` enters an RV-variability test.

    Parameters
    ----------
    fitter : Fitter
        The spectrum's fitter (its ``error_calibration``, if any).
    v_rad : float
        The RV [km/s] (only a relative floor would use it; it is removed too).
    cov_e_v_rad : float
        Its covariance error at the spectrum's reduced χ² [km/s].
    rchi2 : float
        The spectrum's reduced χ² (the error model may depend on it).

    Returns
    -------
    float
        ``s σ`` [km/s] (with the model's rchi2 dependence); ``cov_e_v_rad`` without a
        calibration; NaN where ``cov_e_v_rad`` is not finite.
    """
    if not np.isfinite(cov_e_v_rad):
        return float("nan")
    calibration = getattr(fitter, "error_calibration", None)
    model = calibration.models.get("v_rad") if calibration is not None else None
    if model is None:
        return float(cov_e_v_rad)
    statistical = replace(model, floor=0.0, relative_floor=0.0)
    return float(statistical.apply([cov_e_v_rad], [v_rad], [rchi2])[0])


def noise_scale(single: FitResult | None, fitter: Fitter, weighting: str) -> float:
    """Factor on a spectrum's variances in the joint χ² (see
    :attr:`~zeta_payne.fitting.joint.JointOptions.weighting`).

    Parameters
    ----------
    single : FitResult or None
        The spectrum's own fit (``None`` or failed: 1).
    fitter : Fitter
        Its fitter (which labels are free).
    weighting : {"none", "rchi2", "calibrated"}

    Returns
    -------
    float
        ≥ 1e-6; 1 where the needed values are not finite.
    """
    if weighting == "none" or single is None:
        return 1.0
    if weighting == "rchi2":
        value = float(single.rchi2)
    elif weighting == "calibrated":
        ratio = (np.asarray(single.e_labels) / np.asarray(single.cov_e_labels))[fitter.free]
        ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
        value = float(np.median(ratio**2)) if ratio.size else float("nan")
    else:
        raise ValueError(f"unknown weighting {weighting!r} (none, rchi2, calibrated)")
    return max(value, 1e-6) if np.isfinite(value) else 1.0
