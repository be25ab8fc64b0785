"""Options of the joint and multi-epoch fits (:mod:`zeta_payne.fitting.joint`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JointOptions"]


@dataclass(frozen=True)
class JointOptions:
    """Options of :func:`fit_joint` and :func:`fit_epochs` (the single-spectrum options stay
    with each :class:`~zeta_payne.fitting.fitter.Fitter`).

    Attributes
    ----------
    max_nfev : int
        Evaluation limit of the joint least squares.
    tension_threshold : float
        A spectrum whose tension (:attr:`MemberResult.tension`) exceeds this sets
        ``JOINT_TENSION`` on itself and on the joint result. 0.4 was chosen on half of the
        synthesis-truth BOSS + APOGEE pairs at S/N 50 (``benchmarks/bench_joint.py``: the best
        matched-vs-mismatched separation, the middle of the tied range); on the held-out half
        0/30 matched and 28/30 mismatched (ΔTeff ≥ 2,000 K) pairs are flagged
        (``docs/validation/joint/report.md``).
    rv_p_threshold : float
        Probability of constancy below which a multi-epoch source is ``RV_VARIABLE``. 3e-3 was
        chosen on the single stars of two synthesis-truth draws (``benchmarks/bench_joint.py``
        seeds 17 and 19: 70 stars × 3 APOGEE visits at S/N 30, relative RV errors): the largest
        threshold of (1e-4, 1e-3, 3e-3, 0.01, 0.02, 0.05) with at most 2 % of them flagged
        (1/70; 0.01 flags 3/70); the rates on fresh draws are in
        ``docs/validation/joint/sb1/report.md``.
    rv_errors : {"relative", "absolute"}
        Which RV errors the variability test uses when all spectra share one bundle:
        ``relative`` (:attr:`MemberResult.rel_e_v_rad`: the bundle's RV error calibration
        without its floor — the floor is the zero-point of the RV scale, template mismatch
        included, which visits fitted with shared labels share, so it cancels between visits)
        or ``absolute`` (:attr:`MemberResult.e_v_rad`). Spectra of different bundles always use
        ``absolute``.
    rv_floor : float
        RV error floor [km/s] added in quadrature to every visit's RV error in the
        variability test (zero-point and template systematics).
    sb2 : bool
        Run the companion search (:func:`companion_search`) on every spectrum.
    sb2_threshold : float
        Δχ² (in units of the spectrum's reduced χ²) of the best shifted companion above which
        a spectrum is ``SB2_CANDIDATE``.
    sb2_max_shift : float
        Largest companion shift searched [km/s].
    sb2_exclusion : float
        Shifts closer than this many LSF FWHMs (or than the fitted v sin i) are not searched:
        there a shifted copy of the lines is degenerate with line depth and width.
    sb2_p_threshold : float
        :func:`fit_epochs` with ``single_fits``: a visit whose own fit is better than the shared
        labels with ``p_tension`` below this (its line profile differs from the other visits')
        is ``SB2_CANDIDATE``; the visits of one star share the model's systematics, so here the
        noise-only probability is meaningful. In multi-epoch fits the tension sets this flag,
        never ``JOINT_TENSION``.
    weighting : {"none", "rchi2", "calibrated"}
        :func:`fit_joint` only: how each spectrum's χ² enters the joint χ² (:func:`noise_scale`):
        as measured (``none``), its variances scaled by its own fit's reduced χ² (``rchi2``), or
        by the median over labels of (reported error / covariance error)² of its own fit
        (``calibrated``: a spectrum whose bundle's errors are mostly systematic weighs less).
        Default ``rchi2`` (a spectrum whose noise is underestimated does not dominate); on 60
        synthesis-truth BOSS + APOGEE pairs the three give teff RMS 291 / 286 / 285 K, [M/H]
        0.123 / 0.115 / 0.114 dex, log g 0.042 / 0.044 / 0.045 dex
        (``docs/validation/joint/weighting/report.md``) — differences within the sample's noise.
    single_fits : bool
        :func:`fit_epochs` only: fit every visit alone too (needed for the per-visit tension, the
        line-profile SB2 test and the visits' own labels; costs one single-spectrum fit per
        visit; ``False``: only the best visit, the others start from an RV scan).
    """

    max_nfev: int = 50
    tension_threshold: float = 0.4
    rv_p_threshold: float = 3e-3
    rv_errors: str = "relative"
    rv_floor: float = 0.0
    sb2: bool = True
    sb2_threshold: float = 50.0
    sb2_max_shift: float = 400.0
    sb2_exclusion: float = 1.5
    sb2_p_threshold: float = 1e-3
    single_fits: bool = True
    weighting: str = "rchi2"
