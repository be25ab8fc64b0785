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
an error calibration (:func:`~zeta_payne.fitting.joint_errors.joint_errors`), else the raw
parabola errors.

Beside this module: :mod:`~zeta_payne.fitting.joint_options` (:class:`JointOptions`),
:mod:`~zeta_payne.fitting.joint_solve` (the joint least squares of the prepared spectra, step
by step), :mod:`~zeta_payne.fitting.joint_space` (the shared labels),
:mod:`~zeta_payne.fitting.joint_results` (what a joint fit returns) and
:mod:`~zeta_payne.fitting.joint_errors` (its reported errors and the spectra's weights); their
public names are importable from here too.

Numerical code only: no I/O, no configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from zeta_payne.exceptions import SpectrumRejected
from zeta_payne.fitting.binarity import RVStatistics, companion_search, rv_scan, rv_statistics
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.flags import ResultFlags, labels_flag
from zeta_payne.fitting.joint_errors import joint_errors, noise_scale, relative_rv_error
from zeta_payne.fitting.joint_options import JointOptions
from zeta_payne.fitting.joint_results import JointResult, MemberResult
from zeta_payne.fitting.joint_solve import Member, Problem, finish
from zeta_payne.fitting.joint_space import LabelSpace
from zeta_payne.fitting.result import FitResult
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
    result = finish(
        Problem(space, members, rejected, starts, options, t0, same_instrument=_same(fitters), epochs=False)
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
    result = finish(Problem(space, members, rejected, starts, options, t0, same_instrument=True, epochs=True))
    return _with_holds([fitter], result, lambda held: fit_epochs(held[0], spectra, options))


def _with_holds(
    fitters: Sequence[Fitter], first: JointResult, refit: Callable[[list[Fitter]], JointResult]
) -> JointResult:
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
        return [
            tuple(n for n in f.rules.edge_held_names(flags) if n not in h)
            for f, h in zip(fitters, held, strict=True)
        ]

    labels = dict(zip(first.result.label_names, first.result.labels, strict=True))
    names = [f.rules.held_names(labels) for f in fitters]
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
    (:meth:`~zeta_payne.fitting.refits.RefitRules.disagrees`, as for one spectrum)."""
    a = dict(zip(first.result.label_names, first.result.labels, strict=True))
    b = dict(zip(refit.result.label_names, refit.result.labels, strict=True))
    if not any(f.rules.disagrees(a, b) for f in fitters):
        return refit
    flags = int(refit.result.flags) | int(ResultFlags.REFIT_DISAGREES)
    return replace(refit, result=replace(refit.result, flags=flags))


# ------------------------------------------------------------------------------ internals
def _same(fitters: Sequence[Fitter]) -> bool:
    return len({id(f) for f in fitters}) == 1 or len({f.bundle.name for f in fitters}) == 1


def _members(
    space: LabelSpace, fitters: Sequence[Fitter], spectra: Sequence[Spectrum]
) -> tuple[list[Member], list[MemberResult]]:
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
        members.append(Member(index, fitter, prep, fm, space.columns(fitter)))
    return members, rejected
