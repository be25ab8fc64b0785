"""What a joint fit returns (:mod:`zeta_payne.fitting.joint`): the source's shared labels and
one row per spectrum."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeta_payne.fitting.binarity import RVStatistics
from zeta_payne.fitting.flags import flag_names
from zeta_payne.fitting.result import FitResult

__all__ = ["JointResult", "MemberResult"]


@dataclass
class MemberResult:
    """One spectrum of a joint fit.

    Attributes
    ----------
    index : int
        Position of the spectrum in the input.
    bundle_name : str
        The bundle that modelled it.
    v_rad, e_v_rad, initial_v_rad : float
        Its RV at the joint solution [km/s], its reported error (the covariance error through
        its bundle's RV error calibration, as for single spectra; the covariance error without
        one) and the start of the joint fit.
    cov_e_v_rad : float
        The covariance error of the RV, scaled by this spectrum's own reduced χ² [km/s].
    rel_e_v_rad : float
        The visit-to-visit error of the RV [km/s]: the covariance error through the bundle's RV
        error calibration without its floors
        (:func:`~zeta_payne.fitting.joint_errors.relative_rv_error`); what the RV variability
        test of one bundle's spectra uses.
    coeffs : numpy.ndarray, shape (C,)
        Its response coefficients (data units).
    chi2, rchi2 : float
        Its χ² at the joint solution, and per degree of freedom (pixels − 1 − C).
    n_pixels : int
    snr : float
        Median S/N per pixel of the fitted pixels.
    chi2_single : float
        χ² of its own single-spectrum fit (NaN when not fitted alone).
    delta_chi2 : float
        ``chi2 − chi2_single`` (≥ 0): the price of the joint labels.
    tension : float
        ``delta_chi2`` over the paper's 1σ χ² increment of the spectrum,
        ``(χ²_1σ − 1) · chi2_single`` (eq. 7): 1 means the joint labels sit about one
        parabola error (in one label) from its own.
    p_tension : float
        ``P(χ²_F ≥ delta_chi2 / rchi2_single)``: the probability of a Δχ² this large for
        consistent spectra and a perfect model (F shared free labels).
    sb2_delta_chi2, sb2_shift : float
        :func:`~zeta_payne.fitting.binarity.companion_search`: best Δχ² (in units of the
        reduced χ²) of a velocity-shifted copy of the lines, and its shift [km/s] (NaN when
        not searched).
    flags : int
        :class:`~zeta_payne.fitting.flags.ResultFlags` of this spectrum (its preparation
        warnings, ``JOINT_TENSION``, ``SB2_CANDIDATE``; a rejection's bits).
    message : str
    model_flux : numpy.ndarray or None, shape (N_all,)
        Joint-solution model on the observed pixels (NaN where not modelled).
    meta : dict
        The spectrum's ``meta``.
    single : FitResult or None
        Its own single-spectrum fit.
    """

    index: int
    bundle_name: str
    v_rad: float = float("nan")
    e_v_rad: float = float("nan")
    cov_e_v_rad: float = float("nan")
    rel_e_v_rad: float = float("nan")
    initial_v_rad: float = float("nan")
    coeffs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    chi2: float = float("nan")
    rchi2: float = float("nan")
    n_pixels: int = 0
    snr: float = float("nan")
    chi2_single: float = float("nan")
    delta_chi2: float = float("nan")
    tension: float = float("nan")
    p_tension: float = float("nan")
    sb2_delta_chi2: float = float("nan")
    sb2_shift: float = float("nan")
    flags: int = 0
    message: str = ""
    model_flux: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    single: FitResult | None = None

    @property
    def flag_names(self) -> list[str]:
        """Names of the set bits."""
        return flag_names(self.flags)

    def as_row(self) -> dict[str, Any]:
        """A flat dictionary: the spectrum's joint-fit columns, then its single fit as
        ``single_<column>`` (labels, errors, RV, rchi2, flags) when it has one."""
        row: dict[str, Any] = {
            "spectrum_index": self.index,
            "bundle_name": self.bundle_name,
            "v_rad": self.v_rad,
            "e_v_rad": self.e_v_rad,
            "cov_e_v_rad": self.cov_e_v_rad,
            "rel_e_v_rad": self.rel_e_v_rad,
            "initial_v_rad": self.initial_v_rad,
            "chi2": self.chi2,
            "rchi2": self.rchi2,
            "n_pixels": self.n_pixels,
            "snr": self.snr,
            "chi2_single": self.chi2_single,
            "delta_chi2": self.delta_chi2,
            "tension": self.tension,
            "p_tension": self.p_tension,
            "sb2_delta_chi2": self.sb2_delta_chi2,
            "sb2_shift": self.sb2_shift,
            "result_flags": int(self.flags),
            "flag_names": ",".join(self.flag_names),
        }
        if self.single is not None:
            s = self.single
            for i, name in enumerate(s.label_names):
                row[f"single_{name}"] = float(s.labels[i])
                row[f"single_e_{name}"] = float(s.e_labels[i])
            row.update(
                single_v_rad=s.v_rad,
                single_e_v_rad=s.e_v_rad,
                single_rchi2=s.rchi2,
                single_result_flags=int(s.flags),
            )
        return row


@dataclass
class JointResult:
    """A joint fit of one source.

    Attributes
    ----------
    result : FitResult
        The shared labels, their errors (``e_``:
        :func:`~zeta_payne.fitting.joint_errors.joint_errors`; ``raw_e_``: parabolas of the
        summed χ²; ``cov_e_``: covariance of the stacked Jacobian), χ² over all
        spectra (each with its own ivar); ``v_rad`` is
        the weighted mean of the spectra's RVs and ``e_v_rad`` its error; flags
        (``JOINT_TENSION``, ``RV_VARIABLE``, ``SB2_CANDIDATE`` and the usual ones).
    members : list of MemberResult
        One per input spectrum, in order.
    rv : RVStatistics
        Constancy of the members' RVs.
    """

    result: FitResult
    members: list[MemberResult]
    rv: RVStatistics

    @property
    def flags(self) -> int:
        """The joint result's flag bits."""
        return int(self.result.flags)

    def as_row(self) -> dict[str, Any]:
        """The joint row: :meth:`FitResult.as_row` plus ``n_spectra``, the RV statistics
        (``rv_mean, rv_e_mean, rv_chi2, rv_dof, rv_p_constant, rv_peak_to_peak``) and the
        largest member tension and companion Δχ²."""
        row = self.result.as_row()
        tension = [m.tension for m in self.members if np.isfinite(m.tension)]
        sb2 = [m.sb2_delta_chi2 for m in self.members if np.isfinite(m.sb2_delta_chi2)]
        row.update(
            n_spectra=len(self.members),
            rv_mean=self.rv.mean,
            rv_e_mean=self.rv.e_mean,
            rv_chi2=self.rv.chi2,
            rv_dof=self.rv.dof,
            rv_p_constant=self.rv.p_constant,
            rv_peak_to_peak=self.rv.peak_to_peak,
            max_tension=max(tension) if tension else float("nan"),
            max_sb2_delta_chi2=max(sb2) if sb2 else float("nan"),
        )
        return row
