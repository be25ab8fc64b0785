"""The joint least squares of prepared spectra of one star, and what it returns.

:func:`solve` takes the usable spectra (:class:`Member`: prepared spectrum, forward model,
fitter, starting RV and, where made, its own single-spectrum fit) and the candidate starts
of the shared labels, and runs, in order:

1. the TRF least squares (:func:`~zeta_payne.fitting.least_squares.trf`) over
   ``[θ (F shared free labels), v_1 … v_K, c_1 … c_K]`` from the start of lowest joint χ²,
   with the exact Jacobians of every member's forward model stacked;
2. each member at the joint solution: its χ² with its own inverse variances, its RV error,
   its tension against its own fit and the companion search;
3. the paper's χ² parabolas of the summed χ² (the χ²_1σ level from the summed N_deg), the
   covariance errors and the calibrated errors (:func:`~zeta_payne.fitting.joint_errors.joint_errors`);
4. the joint flags and the RV summary (mean, constancy test).

A failure of any step is a flagged result (:func:`finish`), never an exception.

Numerical code only: no I/O, no configuration.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import chi2 as chi2_distribution

from zeta_payne.fitting.binarity import RVStatistics, companion_search, rv_statistics
from zeta_payne.fitting.diagnostics import (
    convergence_flags,
    covariance_errors,
    label_flags,
    parabola_errors,
    unconstrained_flags,
    unresolved_v_sini,
)
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.joint_errors import joint_errors, relative_rv_error, rv_error
from zeta_payne.fitting.joint_options import JointOptions
from zeta_payne.fitting.joint_results import JointResult, MemberResult
from zeta_payne.fitting.joint_space import LabelSpace
from zeta_payne.fitting.least_squares import trf
from zeta_payne.fitting.preparation import Prepared
from zeta_payne.fitting.presearch import solve_response
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.uncertainty import chi2_one_sigma, covariance, n_degrees
from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS
from zeta_payne.model.forward import ForwardModel

__all__ = ["Member", "Problem", "finish"]


@dataclass
class Member:
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


def _joint_chi2(space: LabelSpace, members: Sequence[Member], theta: np.ndarray) -> float:
    """Σ χ² of the members at ``theta``, each at its starting RV, responses solved linearly."""
    total = 0.0
    for m in members:
        lab = space.member_labels(m.fitter, theta)
        total += solve_response(m.fm.normalized(lab, m.v_start), m.prep.flux, m.prep.weight, m.design)[1]
    return float(total)


def _layout(space: LabelSpace, members: Sequence[Member]) -> tuple[int, list[slice]]:
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
    members: Sequence[Member],
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


@dataclass
class Problem:
    """A joint fit's input: the usable spectra, the rejected ones and the starts."""

    space: LabelSpace
    members: list[Member]
    rejected: list[MemberResult]  # spectra that could not be prepared (flagged rows)
    starts: list[np.ndarray]  # candidate starts of the shared free labels, each (F,)
    options: JointOptions
    t0: float  # time.perf_counter() at the start of the joint fit
    same_instrument: bool  # all spectra with one bundle (the RV test may use relative errors)
    epochs: bool  # visits of one star (tension sets SB2_CANDIDATE, not JOINT_TENSION)


def finish(problem: Problem) -> JointResult:
    """Joint least squares from the best start, then errors, tension, RVs, companions, flags."""
    space, members, rejected = problem.space, problem.members, problem.rejected
    metas = [dict(getattr(m.prep.spectrum, "meta", {}) or {}) for m in members]
    if not members or not problem.starts:
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
        return _solve(problem, metas)
    except Exception as exc:  # a failed joint fit is a flagged result, never a crash
        failed = FitResult.failed(
            space.names,
            ResultFlags.RUNTIME_EXCEPTION,
            f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
            _common_meta(metas),
        )
        outcome = [*rejected, *[_unfitted(m) for m in members]]
        return JointResult(failed, sorted(outcome, key=lambda r: r.index), rv_statistics([], []))


def _unfitted(m: Member) -> MemberResult:
    return MemberResult(
        m.index,
        m.fitter.bundle.name,
        flags=int(m.prep.flags),
        single=m.single,
        meta=dict(getattr(m.prep.spectrum, "meta", {}) or {}),
        snr=m.prep.snr,
    )


@dataclass
class _Solution:
    """The joint least squares' answer, unpacked: shared labels, one RV and response per member."""

    res: Any  # scipy.optimize.OptimizeResult of the TRF driver
    rows: np.ndarray  # (K + 1,) residual row offsets of the members
    slices: list[slice]  # each member's response coefficients in ``res.x``
    n_free: int
    theta0: np.ndarray  # (F,) the start
    labels: np.ndarray  # (L,) every joint label, held ones included

    @property
    def theta(self) -> np.ndarray:
        return self.res.x[: self.n_free]

    @property
    def velocities(self) -> np.ndarray:
        return self.res.x[self.n_free : self.n_free + len(self.slices)]

    @property
    def chi2(self) -> float:
        return float(self.res.fun @ self.res.fun)

    @property
    def dof(self) -> int:
        return max(self.res.fun.size - self.res.x.size, 1)

    def residuals(self, k: int) -> np.ndarray:
        return self.res.fun[self.rows[k] : self.rows[k + 1]]

    def coeffs(self, k: int) -> np.ndarray:
        return self.res.x[self.slices[k]]


def _solve(problem: Problem, metas: list[dict[str, Any]]) -> JointResult:
    """Joint least squares from the best start, then each member, the errors, flags and RVs."""
    space, members, options = problem.space, problem.members, problem.options
    timing: dict[str, float] = {}
    t = time.perf_counter()
    sol = _least_squares_from_best(space, members, problem.starts, options)
    timing["least_squares"] = time.perf_counter() - t
    rchi2 = sol.chi2 / sol.dof
    cov = covariance_errors(sol.res.jac, rchi2, space.free, space.names)

    t = time.perf_counter()
    unit_cov = covariance(sol.res.jac, 1.0)
    v_sini = float(sol.labels[space.names.index("v_sini")]) if "v_sini" in space.names else 0.0
    outcome = [
        _member_result(space, sol, k, m, unit_cov, metas[k], options, problem.epochs, v_sini)
        for k, m in enumerate(members)
    ]
    timing["members"] = time.perf_counter() - t

    t = time.perf_counter()
    raw_e, nonconvex = _joint_parabola_errors(space, members, sol, cov.formal)
    timing["uncertainties"] = time.perf_counter() - t

    flags = _joint_flags(space, members, sol, cov, outcome) | nonconvex
    rv, rv_flags = _rv_summary(outcome, options, problem.same_instrument)
    flags |= rv_flags

    correlations = {key: value for key, value in cov.correlations.items() if "v_rad" not in key}
    chi2_own = float(sum(mr.chi2 for mr in outcome))  # each spectrum with its own ivar
    e_labels, calibrated = joint_errors(
        space, [m.fitter for m in members], sol.labels, cov.e_labels, raw_e, chi2_own / sol.dof
    )
    timing["total"] = time.perf_counter() - problem.t0
    result = FitResult(
        label_names=space.names,
        labels=sol.labels,
        e_labels=e_labels,
        raw_e_labels=raw_e,
        cov_e_labels=cov.e_labels,
        initial_labels=space.full(sol.theta0),
        v_rad=rv.mean,
        e_v_rad=rv.e_mean,
        initial_v_rad=float("nan"),
        correlations=correlations,
        coeffs=np.zeros(0),
        chi2=chi2_own,
        rchi2=chi2_own / sol.dof,
        dof=sol.dof,
        snr=float(np.sqrt(np.nansum([m.prep.snr**2 for m in members]))),
        n_pixels=int(sol.res.fun.size),
        model_flux=None,
        flags=int(flags),
        message="" if sol.res.status > 0 else f"joint least squares: {sol.res.message}",
        n_fev=int(sol.res.nfev),
        timing=timing,
        meta=_common_meta(metas),
        lsf_source=",".join(sorted({m.prep.lsf_source for m in members})),
    )
    if calibrated and hasattr(result, "calibrated"):
        result.calibrated = True
    outcome.extend(problem.rejected)
    outcome.sort(key=lambda r: r.index)
    return JointResult(result, outcome, rv)


def _least_squares_from_best(
    space: LabelSpace, members: Sequence[Member], starts: Sequence[np.ndarray], options: JointOptions
) -> _Solution:
    """TRF from the start of lowest joint χ², each member's response solved linearly there."""
    scores = [_joint_chi2(space, members, s) for s in starts]
    theta0 = starts[int(np.argmin(scores))]
    coeffs0 = []
    for m in members:
        lab = space.member_labels(m.fitter, theta0)
        coeffs0.append(
            solve_response(m.fm.normalized(lab, m.v_start), m.prep.flux, m.prep.weight, m.design)[0]
        )
    v0 = np.array([m.v_start for m in members])
    res, rows, slices = _least_squares(
        space, members, theta0, v0, coeffs0, options.max_nfev, members[0].fitter.options.chi2_tolerance
    )
    return _Solution(res, rows, slices, space.n_free, theta0, space.full(res.x[: space.n_free]))


def _member_result(
    space: LabelSpace,
    sol: _Solution,
    k: int,
    m: Member,
    unit_cov: np.ndarray,
    meta: dict[str, Any],
    options: JointOptions,
    epochs: bool,
    v_sini: float,
) -> MemberResult:
    """Member ``k`` at the joint solution: its χ², RV and RV error, tension and companion."""
    r = sol.residuals(k)
    c_k = sol.coeffs(k)
    v_k = float(sol.velocities[k])
    rchi2_k = float(r @ r) / max(r.size - 1 - c_k.size, 1)  # in the joint's (weighted) units
    var_v = unit_cov[sol.n_free + k, sol.n_free + k] * rchi2_k
    chi2_k = float(r @ r) * m.noise  # with the spectrum's own ivar
    rchi2_k *= m.noise
    lab = space.member_labels(m.fitter, sol.theta)
    cov_e_v = float(np.sqrt(var_v)) if var_v > 0 else float("nan")
    mr = MemberResult(
        index=m.index,
        bundle_name=m.fitter.bundle.name,
        v_rad=v_k,
        e_v_rad=rv_error(m.fitter, lab, v_k, cov_e_v, rchi2_k),
        cov_e_v_rad=cov_e_v,
        rel_e_v_rad=relative_rv_error(m.fitter, v_k, cov_e_v, rchi2_k),
        initial_v_rad=float(m.v_start),
        coeffs=c_k * m.prep.scale,
        chi2=chi2_k,
        rchi2=rchi2_k,
        n_pixels=int(r.size),
        snr=m.prep.snr,
        flags=int(m.prep.flags),
        meta=dict(meta),
        single=m.single,
        model_flux=m.fitter._model_flux(m.prep, m.fm, lab, v_k, c_k),
    )
    if m.single is not None and np.isfinite(m.single.chi2):
        _set_tension(mr, m, sol.n_free, options, epochs)
    if options.sb2:
        _search_companion(mr, m, lab, v_k, c_k, v_sini, options)
    return mr


def _set_tension(mr: MemberResult, m: Member, n_free: int, options: JointOptions, epochs: bool) -> None:
    """How much worse the member is fitted at the joint labels than alone; its flag."""
    mr.chi2_single = float(m.single.chi2)
    mr.delta_chi2 = max(mr.chi2 - mr.chi2_single, 0.0)
    mr.tension = mr.delta_chi2 / max((m.level - 1.0) * mr.chi2_single, 1e-300)
    scale = m.single.rchi2 if np.isfinite(m.single.rchi2) and m.single.rchi2 > 0 else 1.0
    mr.p_tension = float(chi2_distribution.sf(mr.delta_chi2 / scale, max(n_free, 1)))
    if epochs:  # visits of one star disagree: the line profile changes (a second star?)
        if mr.p_tension < options.sb2_p_threshold:
            mr.flags |= ResultFlags.SB2_CANDIDATE
    elif mr.tension > options.tension_threshold:
        mr.flags |= ResultFlags.JOINT_TENSION


def _search_companion(
    mr: MemberResult,
    m: Member,
    lab: np.ndarray,
    v_rad: float,
    coeffs: np.ndarray,
    v_sini: float,
    options: JointOptions,
) -> None:
    """The best velocity-shifted second set of lines in the member's residuals; its flag."""
    fwhm = m.fwhm_kms()
    exclusion = max(options.sb2_exclusion * fwhm, v_sini)
    step = max(0.5 * fwhm, 1.0)
    grid = np.arange(-options.sb2_max_shift, options.sb2_max_shift + 0.5 * step, step)
    grid = grid[np.abs(grid) >= exclusion]
    if not grid.size:
        return
    gain, _ = companion_search(m.prep, m.fm, lab, v_rad, coeffs, grid)
    best = int(np.argmax(gain))
    mr.sb2_delta_chi2 = float(gain[best] / max(mr.rchi2 / m.noise, 1e-300))
    mr.sb2_shift = float(grid[best])
    if mr.sb2_delta_chi2 > options.sb2_threshold:
        mr.flags |= ResultFlags.SB2_CANDIDATE


def _joint_parabola_errors(
    space: LabelSpace, members: Sequence[Member], sol: _Solution, formal: np.ndarray
) -> tuple[np.ndarray, int]:
    """The paper's χ² parabolas of the summed χ², the χ²_1σ level from the summed N_deg."""
    responses = [m.fm.response(sol.coeffs(k)) for k, m in enumerate(members)]
    velocities = sol.velocities

    def chi2_of(rows_: np.ndarray) -> np.ndarray:
        total = np.zeros(len(rows_))
        for k, m in enumerate(members):
            sub = np.array([space.member_labels(m.fitter, row[space.free]) for row in rows_])
            model = m.fm.normalized_batch(sub, float(velocities[k])) * responses[k][None, :]
            total += ((model - m.prep.flux[None, :]) ** 2 * m.prep.weight[None, :]).sum(axis=1)
        return total

    level = chi2_one_sigma(sum(m.n_deg for m in members))
    return parabola_errors(
        chi2_of, sol.labels, space.free, space.lower, space.upper, space.names, formal, sol.chi2, level
    )


def _joint_flags(
    space: LabelSpace,
    members: Sequence[Member],
    sol: _Solution,
    cov: Any,
    outcome: Sequence[MemberResult],
) -> int:
    """The joint result's flags: the members' preparation, convergence, RV edges, labels,
    each bundle's unconstrained labels, and the members' tension and companion flags."""
    opt0 = members[0].fitter.options
    velocities = sol.velocities
    flags = 0
    for m in members:
        flags |= m.prep.flags
    flags |= convergence_flags(
        opt0,
        sol.res.status,
        sol.res.status,
        np.inf,
        float(velocities[0]),
        sol.chi2,
        sol.chi2 / sol.dof,
        cov.singular,
    )
    for k, m in enumerate(members):
        lo, hi = m.fitter.options.rv_range
        if not lo <= velocities[k] <= hi:
            flags |= ResultFlags.RV_AT_SEARCH_EDGE
    v_limit = min(unresolved_v_sini(m.prep.resolution, m.fitter.options.unresolved_v_sini) for m in members)
    flags |= label_flags(sol.labels, space.free, space.lower, space.upper, space.names, opt0, v_limit)
    for fitter in {id(m.fitter): m.fitter for m in members}.values():  # each bundle's thresholds
        flags |= unconstrained_flags(cov.e_labels, space.free, space.names, fitter.options)
    for mr in outcome:
        flags |= mr.flags & (ResultFlags.JOINT_TENSION | ResultFlags.SB2_CANDIDATE)
    return int(flags)


def _rv_summary(
    outcome: Sequence[MemberResult], options: JointOptions, same_instrument: bool
) -> tuple[RVStatistics, int]:
    """The weighted mean RV and the constancy test (``RV_VARIABLE`` for one instrument)."""
    if options.rv_errors not in ("relative", "absolute"):
        raise ValueError(f"unknown rv_errors {options.rv_errors!r} (relative, absolute)")
    relative = same_instrument and options.rv_errors == "relative"
    rv = rv_statistics(
        [mr.v_rad for mr in outcome],
        [mr.rel_e_v_rad if relative else mr.e_v_rad for mr in outcome],
        options.rv_floor,
    )
    flags = 0
    if same_instrument and rv.n >= 2 and rv.p_constant < options.rv_p_threshold:
        flags |= ResultFlags.RV_VARIABLE
    return rv, int(flags)
