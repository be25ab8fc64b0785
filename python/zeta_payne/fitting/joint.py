"""Joint fits of several spectra of one source: shared labels, one RV, response and LSF per spectrum.

Two uses, one least-squares core:

* :func:`fit_joint` — spectra of one star from different instruments (a BOSS and an APOGEE
  spectrum, each with its own bundle): every spectrum is fitted alone first
  (:meth:`Fitter.fit <zeta_payne.fitting.fitter.Fitter.fit>`), the joint fit starts from the
  single-spectrum labels that give the lowest joint χ², and each spectrum's **tension**
  measures how much worse it is fitted at the joint labels than at its own;
* :func:`fit_epochs` — visit spectra of one star from one instrument: every visit is fitted
  alone (or only the best, the others starting from an RV scan), and the joint fit gives one RV
  per visit; the RVs' constancy is tested (:func:`rv_statistics`, ``RV_VARIABLE``), a visit
  whose own fit is much better than the shared labels (its line profile differs: a second
  star) and residuals with a second, velocity-shifted set of lines
  (:func:`companion_search`) set ``SB2_CANDIDATE``.

The joint least squares runs over ``[θ (F shared free labels), v_1 … v_K, c_1 … c_K]`` with the
exact Jacobians of each spectrum's :class:`~zeta_payne.model.forward.ForwardModel` stacked
(block structure: the labels couple all spectra, each RV and response only its own), driven by
:func:`~zeta_payne.fitting.least_squares.trf`. Uncertainties come from the joint χ²: the
covariance of the stacked Jacobian and the paper's χ² parabolas of the summed χ²
(:mod:`~zeta_payne.fitting.diagnostics`), the χ²_1σ level from the summed N_deg of the
spectra. The reported ``e_`` errors are calibrated as for single spectra when every bundle has
an error calibration (:func:`joint_errors`), else the raw parabola errors.

Numerical code only: no I/O, no configuration.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.stats import chi2 as chi2_distribution

from zeta_payne.exceptions import SpectrumRejected
from zeta_payne.fitting.binarity import RVStatistics, companion_search, rv_scan, rv_statistics
from zeta_payne.fitting.diagnostics import (
    convergence_flags,
    covariance_errors,
    label_flags,
    parabola_errors,
    unconstrained_flags,
    unresolved_v_sini,
)
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.flags import ResultFlags, flag_names, labels_flag
from zeta_payne.fitting.least_squares import trf
from zeta_payne.fitting.preparation import Prepared
from zeta_payne.fitting.presearch import solve_response
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.uncertainty import chi2_one_sigma, covariance, n_degrees
from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS
from zeta_payne.model.forward import ForwardModel
from zeta_payne.spectrum import Spectrum

__all__ = [
    "JointOptions",
    "JointResult",
    "LabelSpace",
    "MemberResult",
    "RVStatistics",
    "companion_search",
    "fit_epochs",
    "fit_joint",
    "joint_errors",
    "noise_scale",
    "relative_rv_error",
    "rv_statistics",
]


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
        error calibration without its floors (:func:`relative_rv_error`); what the RV
        variability test of one bundle's spectra uses.
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
        :func:`companion_search`: best Δχ² (in units of the reduced χ²) of a velocity-shifted
        copy of the lines, and its shift [km/s] (NaN when not searched).
    flags : int
        :class:`ResultFlags` of this spectrum (its preparation warnings, ``JOINT_TENSION``,
        ``SB2_CANDIDATE``; a rejection's bits).
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
        The shared labels, their errors (``e_``: :func:`joint_errors`; ``raw_e_``: parabolas
        of the summed χ²; ``cov_e_``: covariance of the stacked Jacobian), χ² over all
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


@dataclass
class _Member:
    """What the joint least squares needs of one usable spectrum."""

    index: int
    fitter: Fitter
    prep: Prepared
    fm: ForwardModel
    columns: np.ndarray  # (F,) fitter label index per joint free label, −1: not fitted by it
    single: FitResult | None = None
    v_start: float = 0.0
    noise: float = 1.0  # the spectrum's variances are multiplied by this in the joint χ²

    @property
    def sw(self) -> np.ndarray:
        return np.sqrt(self.prep.weight)

    @property
    def design(self) -> np.ndarray:
        return self.fm.design.cpu().numpy()

    @property
    def level(self) -> float:
        """The paper's χ²_1σ of this spectrum alone."""
        return chi2_one_sigma(self.n_deg)

    @property
    def n_deg(self) -> float:
        return n_degrees(self.prep.resolution, *self.prep.fit_range)

    def fwhm_kms(self) -> float:
        """Median LSF FWHM of the fitted pixels [km/s]."""
        used = self.prep.used
        return (
            float(np.median(self.prep.fwhm[used] / self.prep.spectrum.wavelength[used])) * SPEED_OF_LIGHT_KMS
        )


# ------------------------------------------------------------------------- entry points
def fit_joint(
    fitters: Sequence[Fitter],
    spectra: Sequence[Spectrum],
    options: JointOptions | None = None,
    singles: Sequence[FitResult | None] | None = None,
) -> JointResult:
    """Joint fit of spectra of one star taken with different instruments (or bundles).

    Every spectrum is fitted alone (unless ``singles`` are given); the joint fit starts from
    the single-spectrum labels with the lowest joint χ² (each spectrum at its own RV, the
    responses solved linearly), each spectrum's RV at its own fit.

    Parameters
    ----------
    fitters : sequence of Fitter, length K
        The fitter (bundle and options) of each spectrum; the same fitter may appear several
        times.
    spectra : sequence of Spectrum, length K
    options : JointOptions, optional
    singles : sequence of FitResult or None, length K, optional
        Single-spectrum fits already made (``None`` entries are fitted here).

    Returns
    -------
    JointResult
        Never raises for bad data: a spectrum that cannot be fitted becomes a flagged
        member; with no usable spectrum the joint result is flagged.
    """
    options = options or JointOptions()
    spectra = list(spectra)
    if len(fitters) != len(spectra):
        raise ValueError(f"{len(fitters)} fitters for {len(spectra)} spectra")
    singles = list(singles) if singles is not None else [None] * len(spectra)
    t0 = time.perf_counter()
    space = LabelSpace(fitters)
    members, rejected = _members(space, fitters, spectra)
    for m in members:
        if singles[m.index] is None:
            singles[m.index] = m.fitter.fit(m.prep.spectrum)
        m.single = singles[m.index]
        m.v_start = m.single.v_rad if np.isfinite(m.single.v_rad) else 0.0
        m.noise = noise_scale(m.single, m.fitter, options.weighting)
        if m.noise != 1.0:
            m.prep = replace(m.prep, weight=m.prep.weight / m.noise)
    starts = [
        space.from_member(m.fitter, m.single.labels) for m in members if np.isfinite(m.single.labels).any()
    ]
    result = _finish(
        space, members, rejected, starts, options, t0, same_instrument=_same(fitters), epochs=False
    )
    return _with_holds(fitters, result, lambda held: fit_joint(held, spectra, options))


def fit_epochs(
    fitter: Fitter,
    spectra: Sequence[Spectrum],
    options: JointOptions | None = None,
) -> JointResult:
    """Multi-epoch fit: visit spectra of one star with one bundle, shared labels, one RV per visit.

    Every visit is fitted alone (``options.single_fits``; else only the visit with the highest
    S/N, and every other visit's starting RV is the minimum of a χ² scan over the fitter's
    ``rv_range`` at its labels); the joint fit starts from the highest-S/N visit's labels.

    Parameters
    ----------
    fitter : Fitter
        Bundle and options of every visit (its ``rv_range`` must hold the visits' RVs).
    spectra : sequence of Spectrum, length K
    options : JointOptions, optional

    Returns
    -------
    JointResult
        ``rv`` holds the variability statistics; ``RV_VARIABLE`` is set when
        ``rv.p_constant < options.rv_p_threshold``.
    """
    options = options or JointOptions()
    spectra = list(spectra)
    t0 = time.perf_counter()
    fitters = [fitter] * len(spectra)
    space = LabelSpace(fitters)
    members, rejected = _members(space, fitters, spectra)
    if members:
        best = max(members, key=lambda m: m.prep.snr if np.isfinite(m.prep.snr) else -np.inf)
        for m in members:
            if m is best or options.single_fits:
                m.single = fitter.fit(m.prep.spectrum)
        reference = best.single.labels
        lo, hi = fitter.options.rv_range
        for m in members:
            if m.single is not None and np.isfinite(m.single.v_rad):
                m.v_start = float(m.single.v_rad)
            elif np.isfinite(reference).all():
                m.v_start = rv_scan(m.fitter, m.prep, m.fm, reference, lo, hi)
        starts = [space.from_member(fitter, best.single.labels)] if np.isfinite(reference).any() else []
    else:
        starts = []
    result = _finish(space, members, rejected, starts, options, t0, same_instrument=True, epochs=True)
    return _with_holds([fitter], result, lambda held: fit_epochs(held[0], spectra, options))


def _with_holds(fitters: Sequence[Fitter], first: JointResult,
                refit: Callable[[list[Fitter]], JointResult]) -> JointResult:
    """``first`` fitted again under the fitters' refit rules, as :meth:`Fitter.fit` does for
    one spectrum, or ``first`` itself when no rule applies.

    The ``hold_outside`` (and blue-limit, extra-mask) rules are decided by the first joint
    fit's labels; ``hold_unconstrained_at_edge`` by each fit's flags (a label at an edge
    *and* unconstrained), so a refit that puts another such label at an edge is fitted once
    more with it held too: the held names only grow, so this ends. Every refit is made with
    fitters that have no rules of their own (``Fitter.held_fitter``), so ``refit`` does not
    recurse. The labels held for an edge keep ``<LABEL>_UNCONSTRAINED``; a refit that
    contradicts its rule is flagged ``REFIT_DISAGREES`` (:func:`_checked_refit`).

    Parameters
    ----------
    fitters : sequence of Fitter
        The members' fitters, as given to the joint fit.
    first : JointResult
        The joint fit with the fitters as given.
    refit : callable
        The same joint fit with other fitters (one per entry of ``fitters``).
    """
    def more(held: list[tuple[str, ...]], result: JointResult) -> list[tuple[str, ...]]:
        flags = int(result.result.flags)
        return [tuple(n for n in f.edge_held_names(flags) if n not in h)
                for f, h in zip(fitters, held, strict=True)]

    labels = dict(zip(first.result.label_names, first.result.labels, strict=True))
    names = [f.held_names(labels) for f in fitters]
    extra = more(names, first)
    if not any(names) and not any(extra):
        return first
    edge: set[str] = set()
    current = first
    while current is first or any(extra):
        names = [held + e for held, e in zip(names, extra, strict=True)]
        edge.update(n for e in extra for n in e)
        current = refit([f.held_fitter(held) for f, held in zip(fitters, names, strict=True)])
        extra = more(names, current)
    why = labels_flag(edge, "unconstrained")
    if why:
        current = replace(current, result=replace(current.result, flags=int(current.result.flags) | why))
    return _checked_refit(fitters, first, current)


def _checked_refit(fitters: Sequence[Fitter], first: JointResult, refit: JointResult) -> JointResult:
    """``refit`` flagged ``REFIT_DISAGREES`` where it contradicts a fitter's rule
    (:meth:`Fitter.refit_disagrees`, as for one spectrum)."""
    a = dict(zip(first.result.label_names, first.result.labels, strict=True))
    b = dict(zip(refit.result.label_names, refit.result.labels, strict=True))
    if not any(f.refit_disagrees(a, b) for f in fitters):
        return refit
    flags = int(refit.result.flags) | int(ResultFlags.REFIT_DISAGREES)
    return replace(refit, result=replace(refit.result, flags=flags))


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


def _rv_error(fitter: Fitter, labels: np.ndarray, v_rad: float, cov_e_v_rad: float, rchi2: float) -> float:
    """An RV's reported error: its covariance error through the bundle's error calibration."""
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
    """Factor on a spectrum's variances in the joint χ² (see :attr:`JointOptions.weighting`).

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


# ------------------------------------------------------------------------------ internals
def _same(fitters: Sequence[Fitter]) -> bool:
    return len({id(f) for f in fitters}) == 1 or len({f.bundle.name for f in fitters}) == 1


def _members(
    space: LabelSpace, fitters: Sequence[Fitter], spectra: Sequence[Spectrum]
) -> tuple[list[_Member], list[MemberResult]]:
    """Prepare every spectrum; rejected ones become flagged member rows."""
    members, rejected = [], []
    for index, (fitter, spectrum) in enumerate(zip(fitters, spectra, strict=True)):
        try:
            prep = fitter._prepare(spectrum)
        except SpectrumRejected as rejection:
            rejected.append(
                MemberResult(
                    index,
                    fitter.bundle.name,
                    flags=int(rejection.flags),
                    message=rejection.message,
                    meta=dict(getattr(spectrum, "meta", {}) or {}),
                )
            )
            continue
        except Exception as exc:  # a spectrum that cannot even be prepared is a flagged member
            rejected.append(
                MemberResult(
                    index,
                    fitter.bundle.name,
                    flags=int(ResultFlags.RUNTIME_EXCEPTION),
                    message=f"{type(exc).__name__}: {exc}",
                    meta=dict(getattr(spectrum, "meta", {}) or {}),
                )
            )
            continue
        fm = fitter._forward(prep, prep.used)
        members.append(_Member(index, fitter, prep, fm, space.columns(fitter)))
    return members, rejected


def _joint_chi2(space: LabelSpace, members: Sequence[_Member], theta: np.ndarray) -> float:
    """Σ χ² of the members at ``theta``, each at its starting RV, responses solved linearly."""
    total = 0.0
    for m in members:
        lab = space.member_labels(m.fitter, theta)
        total += solve_response(m.fm.normalized(lab, m.v_start), m.prep.flux, m.prep.weight, m.design)[1]
    return float(total)


def _layout(space: LabelSpace, members: Sequence[_Member]) -> tuple[int, list[slice]]:
    """Number of parameters and the slice of each member's response coefficients."""
    n = space.n_free + len(members)
    slices = []
    for m in members:
        c = m.fm.design.shape[1]
        slices.append(slice(n, n + c))
        n += c
    return n, slices


def _least_squares(
    space: LabelSpace,
    members: Sequence[_Member],
    theta: np.ndarray,
    velocities: np.ndarray,
    coeffs: Sequence[np.ndarray],
    max_nfev: int,
    chi2_tolerance: float,
):
    """TRF over shared labels, one RV and one response per member, exact stacked Jacobian."""
    n_free = space.n_free
    n_par, slices = _layout(space, members)
    sizes = [m.prep.flux.size for m in members]
    rows = np.concatenate([[0], np.cumsum(sizes)])

    def evaluate(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        resid = np.empty(rows[-1])
        jac = np.zeros((rows[-1], n_par))
        for k, m in enumerate(members):
            lab = space.member_labels(m.fitter, p[:n_free])
            flux, _, j = m.fm.flux_and_jacobian(lab, float(p[n_free + k]), p[slices[k]])
            sw = m.sw
            block = slice(rows[k], rows[k + 1])
            resid[block] = sw * (flux - m.prep.flux)
            n_lab = lab.size
            sel = m.columns >= 0
            jac[block, np.flatnonzero(sel)] = sw[:, None] * j[:, m.columns[sel]]
            jac[block, n_free + k] = sw * j[:, n_lab]
            jac[block, slices[k]] = sw[:, None] * j[:, n_lab + 1 :]
        return resid, jac, None

    width = (space.upper - space.lower)[space.free]
    lower = [space.lower[space.free]]
    upper = [space.upper[space.free]]
    v_lo, v_hi = [], []
    for m in members:
        opt = m.fitter.options
        v_lo.append(opt.rv_range[0] - opt.rv_margin)
        v_hi.append(opt.rv_range[1] + opt.rv_margin)
    c_all = np.concatenate(list(coeffs))
    lower = np.concatenate(lower + [v_lo, np.full(c_all.size, -np.inf)])
    upper = np.concatenate(upper + [v_hi, np.full(c_all.size, np.inf)])
    start = np.concatenate([theta, velocities, c_all])
    x_scale = np.concatenate([0.1 * width, np.ones(len(members)), np.maximum(np.abs(c_all), 1e-3)])
    result, _ = trf(evaluate, start, lower, upper, max_nfev, chi2_tolerance, x_scale)
    return result, rows, slices


def _common_meta(metas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ``meta`` items every spectrum shares (e.g. the source identifier)."""
    if not metas:
        return {}
    out = {}
    for key, value in metas[0].items():
        try:
            if all(key in m and m[key] == value for m in metas[1:]):
                out[key] = value
        except Exception:  # arrays and other values that do not compare to a bool
            continue
    return out


def _finish(
    space: LabelSpace,
    members: list[_Member],
    rejected: list[MemberResult],
    starts: list[np.ndarray],
    options: JointOptions,
    t0: float,
    same_instrument: bool,
    epochs: bool,
) -> JointResult:
    """Joint least squares from the best start, then errors, tension, RVs, companions, flags."""
    metas = [dict(getattr(m.prep.spectrum, "meta", {}) or {}) for m in members]
    if not members or not starts:
        flags = ResultFlags.NO_PIXELS if not members else ResultFlags.FITTING_FAILURE
        for r in rejected:
            flags |= r.flags
        failed = FitResult.failed(
            space.names,
            int(flags),
            "no spectrum of the source could be fitted",
            _common_meta(metas or [r.meta for r in rejected]),
        )
        outcome = [*rejected, *[_unfitted(m) for m in members]]
        return JointResult(failed, sorted(outcome, key=lambda r: r.index), rv_statistics([], []))
    try:
        return _solve(space, members, rejected, starts, options, t0, same_instrument, epochs, metas)
    except Exception as exc:  # a failed joint fit is a flagged result, never a crash
        failed = FitResult.failed(
            space.names,
            ResultFlags.RUNTIME_EXCEPTION,
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
            _common_meta(metas),
        )
        outcome = [*rejected, *[_unfitted(m) for m in members]]
        return JointResult(failed, sorted(outcome, key=lambda r: r.index), rv_statistics([], []))


def _unfitted(m: _Member) -> MemberResult:
    return MemberResult(
        m.index,
        m.fitter.bundle.name,
        flags=int(m.prep.flags),
        single=m.single,
        meta=dict(getattr(m.prep.spectrum, "meta", {}) or {}),
        snr=m.prep.snr,
    )


def _solve(
    space: LabelSpace,
    members: list[_Member],
    rejected: list[MemberResult],
    starts: list[np.ndarray],
    options: JointOptions,
    t0: float,
    same_instrument: bool,
    epochs: bool,
    metas: list[dict[str, Any]],
) -> JointResult:
    timing: dict[str, float] = {}
    t = time.perf_counter()
    scores = [_joint_chi2(space, members, s) for s in starts]
    theta0 = starts[int(np.argmin(scores))]
    coeffs0 = []
    for m in members:
        lab = space.member_labels(m.fitter, theta0)
        coeffs0.append(
            solve_response(m.fm.normalized(lab, m.v_start), m.prep.flux, m.prep.weight, m.design)[0]
        )
    v0 = np.array([m.v_start for m in members])
    opt0 = members[0].fitter.options
    res, rows, slices = _least_squares(
        space, members, theta0, v0, coeffs0, options.max_nfev, opt0.chi2_tolerance
    )
    timing["least_squares"] = time.perf_counter() - t

    n_free, k_members = space.n_free, len(members)
    theta = res.x[:n_free]
    labels = space.full(theta)
    velocities = res.x[n_free : n_free + k_members]
    chi2 = float(res.fun @ res.fun)
    dof = max(res.fun.size - res.x.size, 1)
    rchi2 = chi2 / dof
    cov = covariance_errors(res.jac, rchi2, space.free, space.names)
    unit_cov = covariance(res.jac, 1.0)

    # per member: χ², RV error at its own reduced χ², tension, companions
    t = time.perf_counter()
    outcome: list[MemberResult] = []
    v_sini = float(labels[space.names.index("v_sini")]) if "v_sini" in space.names else 0.0
    for k, m in enumerate(members):
        r = res.fun[rows[k] : rows[k + 1]]
        n_k = int(r.size)
        c_k = res.x[slices[k]]
        rchi2_k = float(r @ r) / max(n_k - 1 - c_k.size, 1)  # in the joint's (weighted) units
        var_v = unit_cov[n_free + k, n_free + k] * rchi2_k
        chi2_k = float(r @ r) * m.noise  # with the spectrum's own ivar
        rchi2_k *= m.noise
        lab = space.member_labels(m.fitter, theta)
        cov_e_v = float(np.sqrt(var_v)) if var_v > 0 else float("nan")
        mr = MemberResult(
            index=m.index,
            bundle_name=m.fitter.bundle.name,
            v_rad=float(velocities[k]),
            e_v_rad=_rv_error(m.fitter, lab, float(velocities[k]), cov_e_v, rchi2_k),
            cov_e_v_rad=cov_e_v,
            rel_e_v_rad=relative_rv_error(m.fitter, float(velocities[k]), cov_e_v, rchi2_k),
            initial_v_rad=float(m.v_start),
            coeffs=c_k * m.prep.scale,
            chi2=chi2_k,
            rchi2=rchi2_k,
            n_pixels=n_k,
            snr=m.prep.snr,
            flags=int(m.prep.flags),
            meta=dict(metas[k]),
            single=m.single,
            model_flux=m.fitter._model_flux(m.prep, m.fm, lab, float(velocities[k]), c_k),
        )
        if m.single is not None and np.isfinite(m.single.chi2):
            mr.chi2_single = float(m.single.chi2)
            mr.delta_chi2 = max(chi2_k - mr.chi2_single, 0.0)
            mr.tension = mr.delta_chi2 / max((m.level - 1.0) * mr.chi2_single, 1e-300)
            scale = m.single.rchi2 if np.isfinite(m.single.rchi2) and m.single.rchi2 > 0 else 1.0
            mr.p_tension = float(chi2_distribution.sf(mr.delta_chi2 / scale, max(n_free, 1)))
            if epochs:  # visits of one star disagree: the line profile changes (a second star?)
                if mr.p_tension < options.sb2_p_threshold:
                    mr.flags |= ResultFlags.SB2_CANDIDATE
            elif mr.tension > options.tension_threshold:
                mr.flags |= ResultFlags.JOINT_TENSION
        if options.sb2:
            fwhm = m.fwhm_kms()
            exclusion = max(options.sb2_exclusion * fwhm, v_sini)
            step = max(0.5 * fwhm, 1.0)
            grid = np.arange(-options.sb2_max_shift, options.sb2_max_shift + 0.5 * step, step)
            grid = grid[np.abs(grid) >= exclusion]
            if grid.size:
                gain, _ = companion_search(m.prep, m.fm, lab, float(velocities[k]), c_k, grid)
                best = int(np.argmax(gain))
                mr.sb2_delta_chi2 = float(gain[best] / max(rchi2_k / m.noise, 1e-300))
                mr.sb2_shift = float(grid[best])
                if mr.sb2_delta_chi2 > options.sb2_threshold:
                    mr.flags |= ResultFlags.SB2_CANDIDATE
        outcome.append(mr)
    timing["members"] = time.perf_counter() - t

    # joint errors: parabolas of the summed χ², the level from the summed N_deg
    t = time.perf_counter()
    responses = [m.fm.response(res.x[slices[k]]) for k, m in enumerate(members)]

    def chi2_of(rows_: np.ndarray) -> np.ndarray:
        total = np.zeros(len(rows_))
        for k, m in enumerate(members):
            sub = np.array([space.member_labels(m.fitter, row[space.free]) for row in rows_])
            model = m.fm.normalized_batch(sub, float(velocities[k])) * responses[k][None, :]
            total += ((model - m.prep.flux[None, :]) ** 2 * m.prep.weight[None, :]).sum(axis=1)
        return total

    level = chi2_one_sigma(sum(m.n_deg for m in members))
    raw_e, nonconvex = parabola_errors(
        chi2_of, labels, space.free, space.lower, space.upper, space.names, cov.formal, chi2, level
    )
    timing["uncertainties"] = time.perf_counter() - t

    # flags of the joint result
    flags = 0
    for m in members:
        flags |= m.prep.flags
    flags |= convergence_flags(
        opt0, res.status, res.status, np.inf, float(velocities[0]), chi2, rchi2, cov.singular
    )
    for k, m in enumerate(members):
        lo, hi = m.fitter.options.rv_range
        if not lo <= velocities[k] <= hi:
            flags |= ResultFlags.RV_AT_SEARCH_EDGE
    v_limit = min(unresolved_v_sini(m.prep.resolution, m.fitter.options.unresolved_v_sini) for m in members)
    flags |= label_flags(labels, space.free, space.lower, space.upper, space.names, opt0, v_limit)
    for fitter in {id(m.fitter): m.fitter for m in members}.values():  # each bundle's thresholds
        flags |= unconstrained_flags(cov.e_labels, space.free, space.names, fitter.options)
    flags |= nonconvex
    for mr in outcome:
        flags |= mr.flags & (ResultFlags.JOINT_TENSION | ResultFlags.SB2_CANDIDATE)
    if options.rv_errors not in ("relative", "absolute"):
        raise ValueError(f"unknown rv_errors {options.rv_errors!r} (relative, absolute)")
    relative = same_instrument and options.rv_errors == "relative"
    rv = rv_statistics(
        [mr.v_rad for mr in outcome],
        [mr.rel_e_v_rad if relative else mr.e_v_rad for mr in outcome],
        options.rv_floor,
    )
    if same_instrument and rv.n >= 2 and rv.p_constant < options.rv_p_threshold:
        flags |= ResultFlags.RV_VARIABLE

    correlations = {key: value for key, value in cov.correlations.items() if "v_rad" not in key}
    chi2_own = float(sum(mr.chi2 for mr in outcome))  # each spectrum with its own ivar
    initial = space.full(theta0)
    e_labels, calibrated = joint_errors(
        space, [m.fitter for m in members], labels, cov.e_labels, raw_e, chi2_own / dof
    )
    snr = float(np.sqrt(np.nansum([m.prep.snr**2 for m in members])))
    timing["total"] = time.perf_counter() - t0
    result = FitResult(
        label_names=space.names,
        labels=labels,
        e_labels=e_labels,
        raw_e_labels=raw_e,
        cov_e_labels=cov.e_labels,
        initial_labels=initial,
        v_rad=rv.mean,
        e_v_rad=rv.e_mean,
        initial_v_rad=float("nan"),
        correlations=correlations,
        coeffs=np.zeros(0),
        chi2=chi2_own,
        rchi2=chi2_own / dof,
        dof=dof,
        snr=snr,
        n_pixels=int(res.fun.size),
        model_flux=None,
        flags=int(flags),
        message="" if res.status > 0 else f"joint least squares: {res.message}",
        n_fev=int(res.nfev),
        timing=timing,
        meta=_common_meta(metas),
        lsf_source=",".join(sorted({m.prep.lsf_source for m in members})),
    )
    if calibrated and hasattr(result, "calibrated"):
        result.calibrated = True
    outcome.extend(rejected)
    outcome.sort(key=lambda r: r.index)
    return JointResult(result, outcome, rv)
