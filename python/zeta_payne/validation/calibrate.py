"""Measure a bundle's error calibration on a simulation study against synthesis truth.

The study (``zeta-payne validate --generator synthesis …`` at several S/N) gives, per fitted
spectrum, the fit minus the truth and the covariance error ``cov_e``. For each label and the
RV an :class:`~zeta_payne.fitting.calibration.ErrorModel` is fitted so that the pulls have
unit robust width at every S/N. Two-fold cross-validation by truth point (the models fitted
on the even points scored on the odd ones and the reverse) measures how well the calibration
holds on spectra it was not fitted to; the stored calibration is fitted on all points.

Only fits not flagged bad are used: a flagged row's labels are not for use, and its errors
neither. With ``bounds`` (the labels' boxes) the errors are bounded by
:func:`~zeta_payne.fitting.calibration.box_rms` and the models fitted with the bound in place.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from zeta_payne.fitting.calibration import (
    RELATIVE_FLOOR,
    ErrorCalibration,
    ErrorModel,
    box_rms,
    fit_error_model,
    region_index,
    robust_width,
    width_interval,
)
from zeta_payne.fitting.flags import BAD_MASK
from zeta_payne.validation.runner import StudyResult

__all__ = ["CalibrationCases", "CalibrationReport", "apply_calibration", "calibrate", "gather_cases"]


@dataclass(frozen=True)
class CalibrationCases:
    """The finite, unflagged cases of one label (or the RV) across a study's S/N values.

    Attributes
    ----------
    name : str
        Label name or ``"v_rad"``.
    delta : numpy.ndarray, shape (N,)
        Fit minus truth.
    cov_e, raw_e, reported_e : numpy.ndarray, shape (N,)
        Covariance, χ²-parabola and reported errors of the fits.
    value : numpy.ndarray, shape (N,)
        Fitted values.
    snr : numpy.ndarray, shape (N,)
        Nominal S/N of each case (``inf`` for noiseless).
    rchi2 : numpy.ndarray, shape (N,)
        Reduced χ² of each fit.
    point : numpy.ndarray, shape (N,)
        Truth point of each case (the cross-validation folds); the case index when the
        study does not record one.
    region : numpy.ndarray, shape (N,)
        Fitted value of the region label of each case (NaN without one).
    """

    name: str
    delta: np.ndarray
    cov_e: np.ndarray
    raw_e: np.ndarray
    reported_e: np.ndarray
    value: np.ndarray
    snr: np.ndarray
    point: np.ndarray
    rchi2: np.ndarray
    region: np.ndarray = field(default_factory=lambda: np.zeros(0))


def gather_cases(
    studies: Sequence[StudyResult], names: Sequence[str], region_label: str | None = None
) -> dict[str, CalibrationCases]:
    """Collect the calibration cases of ``names`` (labels and ``"v_rad"``) from studies.

    Rows flagged bad, and rows whose covariance error is not finite and positive, are left
    out. ``region_label``: the fitted label recorded as each case's ``region``.
    """
    out = {}
    for name in names:
        parts: dict[str, list[np.ndarray]] = {k: [] for k in "dcrevspxg"}
        for st in studies:
            good = (st.flags & int(BAD_MASK)) == 0
            if name == "v_rad":
                d = st.v_rad - st.true_rv
                cov = st.cov_e_v_rad if st.cov_e_v_rad is not None else st.e_v_rad
                raw = cov
                rep = st.e_v_rad
                val = st.v_rad
            else:
                j = st.label_names.index(name)
                d = st.labels[:, j] - st.true_labels[:, j]
                cov = st.cov_e_labels[:, j]
                raw = st.raw_e_labels[:, j] if st.raw_e_labels is not None else st.e_labels[:, j]
                rep = st.e_labels[:, j]
                val = st.labels[:, j]
            point = st.cases.get("truth_point")
            point = np.arange(len(d)) if point is None else np.asarray(point, dtype=float)
            keep = good & np.isfinite(d) & np.isfinite(cov) & (cov > 0)
            snr = np.full(len(d), st.snr)
            region = (
                st.labels[:, st.label_names.index(region_label)]
                if region_label is not None and region_label in st.label_names
                else np.full(len(d), np.nan)
            )
            arrays = (d, cov, raw, rep, val, snr, point, st.rchi2, region)
            for key, arr in zip("dcrevspxg", arrays, strict=True):
                parts[key].append(np.asarray(arr, dtype=float)[keep])
        cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
        out[name] = CalibrationCases(
            name, cat["d"], cat["c"], cat["r"], cat["e"], cat["v"], cat["s"], cat["p"], cat["x"], cat["g"]
        )
    return out


@dataclass(frozen=True)
class CalibrationReport:
    """A fitted calibration and the pull widths that measure it.

    Attributes
    ----------
    calibration : ErrorCalibration
        Error models fitted on all points.
    widths : list of dict
        Rows ``{name, snr, n, raw, cov, reported, reported_lo, reported_hi, calibrated,
        held_out}``: robust pull widths per label and S/N with the χ²-parabola, covariance
        and reported errors of the study (with the 68 % bootstrap interval of the
        reported one, :func:`~zeta_payne.fitting.calibration.width_interval`), the stored
        calibration (in sample) and the two-fold cross-validated one.
    """

    calibration: ErrorCalibration
    widths: list[dict]


#: Fewest cases (all S/N together) a regional error model is fitted on; fewer: the region
#: keeps the global model.
MIN_REGION_CASES = 60


def _fit_regional(
    cases: CalibrationCases, sel: np.ndarray, edges: Sequence[float], cap: np.ndarray | None = None
) -> tuple[ErrorModel | None, ...]:
    """One error model per region on the cases ``sel`` of that region (None: too few)."""
    k = region_index(cases.region, edges)
    out: list[ErrorModel | None] = []
    for r in range(len(edges) + 1):
        sub = sel & (k == r)
        if sub.sum() < MIN_REGION_CASES or len(np.unique(cases.snr[sub])) < 2:
            out.append(None)
            continue
        try:
            out.append(_fit(cases, sub, cap))
        except ValueError:
            out.append(None)
    return tuple(out)


def _apply(
    cases: CalibrationCases,
    sel: np.ndarray,
    model: ErrorModel,
    regional: tuple[ErrorModel | None, ...] | None,
    edges: Sequence[float],
    cap: np.ndarray | None = None,
) -> np.ndarray:
    """Errors of the cases ``sel`` from the global ``model`` or their region's model,
    bounded by ``cap`` (one per case) where given."""
    e = model.apply(cases.cov_e[sel], cases.value[sel], cases.rchi2[sel])
    if regional:
        k = region_index(cases.region[sel], edges)
        for r, m in enumerate(regional):
            here = k == r
            if m is not None and here.any():
                e[here] = m.apply(cases.cov_e[sel][here], cases.value[sel][here], cases.rchi2[sel][here])
    return e if cap is None else np.minimum(e, cap[sel])


def _fit(cases: CalibrationCases, sel: np.ndarray, cap: np.ndarray | None = None) -> ErrorModel:
    return fit_error_model(
        cases.delta[sel],
        cases.cov_e[sel],
        cases.value[sel],
        cases.snr[sel],
        relative=cases.name in RELATIVE_FLOOR,
        rchi2=cases.rchi2[sel],
        cap=None if cap is None else cap[sel],
    )


def calibrate(
    studies: Sequence[StudyResult],
    names: Sequence[str],
    snr_range: tuple[float, float] = (10.0, 200.0),
    provenance: dict | None = None,
    strict: bool = True,
    regions: tuple[str, Sequence[float]] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    label_studies: Mapping[str, Sequence[StudyResult]] | None = None,
) -> CalibrationReport:
    """Fit error models for ``names`` on the studies' cases with S/N in ``snr_range``.

    Parameters
    ----------
    studies : sequence of StudyResult
        One instrument's studies (several S/N), synthesis truth.
    names : sequence of str
        Free labels and ``"v_rad"``.
    snr_range : (float, float)
        S/N values the calibration is fitted on (inclusive); noiseless studies are outside
        any finite range and only reported.
    provenance : dict, optional
        Stored with the calibration (truth, observations, command …).
    strict : bool
        Raise when a label has fewer than 20 cases in ``snr_range`` (a calibration must cover
        every label). ``False`` (checking a stored calibration): such a label is left out and
        named in the report's ``skipped``.
    regions : (str, sequence of float), optional
        ``(label, edges)``: besides the global model, one model per region of the fitted
        ``label`` (regions with fewer than :data:`MIN_REGION_CASES` cases keep the global
        one). The widths rows then carry the per-region widths too (``region`` ≥ 0; −1 is
        every case).
    bounds : mapping, optional
        ``{label: (lo, hi)}``, the bundle's box: those labels' errors are bounded by
        :func:`~zeta_payne.fitting.calibration.box_rms` of the fitted value, fitted and
        stored so (labels without a box, and the RV, are not bounded).
    label_studies : mapping, optional
        ``{label: studies}``: more studies whose cases enter that label's model (and its
        widths) only — for a label fitted in part of the box (v_micro at 6–10 kK), a study of
        that part enlarges its sample without reweighting the other labels.

    Returns
    -------
    CalibrationReport

    Raises
    ------
    ValueError
        ``strict`` and a label with fewer than 20 cases in ``snr_range``.
    """
    region_label, edges = (regions[0], tuple(float(e) for e in regions[1])) if regions else (None, ())
    bounds = {name: (float(lo), float(hi)) for name, (lo, hi) in (bounds or {}).items() if name in names}
    gathered = gather_cases(studies, names, region_label)
    for name, more in (label_studies or {}).items():
        if name not in names:
            raise ValueError(f"label_studies: {name!r} is not one of {list(names)}")
        gathered[name] = gather_cases([*studies, *more], [name], region_label)[name]
    models: dict[str, ErrorModel] = {}
    regional_models: dict[str, tuple[ErrorModel | None, ...]] = {}
    rows: list[dict] = []
    lo, hi = snr_range
    skipped: dict[str, int] = {}
    for name, cases in gathered.items():
        in_range = (cases.snr >= lo) & (cases.snr <= hi)
        if in_range.sum() < 20:
            if strict:
                raise ValueError(
                    f"{name}: {int(in_range.sum())} cases in S/N {lo:g}–{hi:g}; need at least 20"
                )
            skipped[name] = int(in_range.sum())
            continue
        cap = box_rms(cases.value, *bounds[name]) if name in bounds else None
        model = _fit(cases, in_range, cap)
        models[name] = model
        regional = _fit_regional(cases, in_range, edges, cap) if region_label else None
        if regional:
            regional_models[name] = regional
        even = (np.round(cases.point) % 2) == 0
        held = np.full(cases.delta.size, np.nan)
        for fold in (even, ~even):
            train = in_range & ~fold
            if train.sum() >= 10 and fold.any():
                fold_regional = _fit_regional(cases, train, edges, cap) if region_label else None
                held[fold] = _apply(cases, fold, _fit(cases, train, cap), fold_regional, edges, cap)
        calibrated = _apply(cases, np.ones(cases.delta.size, bool), model, regional, edges, cap)
        case_region = region_index(cases.region, edges)
        groups = [(-1, np.ones(cases.delta.size, bool))]
        if region_label:
            groups += [(r, case_region == r) for r in range(len(edges) + 1)]
        for (region, members), snr in itertools.product(groups, np.unique(cases.snr)):
            sel = members & (cases.snr == snr)
            if not sel.any():
                continue
            pulls = cases.delta[sel] / cases.reported_e[sel]
            rows.append(
                {
                    "name": name,
                    "region": region,
                    "snr": float(snr),
                    "n": int(sel.sum()),
                    "raw": robust_width(cases.delta[sel] / cases.raw_e[sel]),
                    "cov": robust_width(cases.delta[sel] / cases.cov_e[sel]),
                    "reported": robust_width(pulls),
                    **dict(zip(("reported_lo", "reported_hi"), width_interval(pulls), strict=True)),
                    **{f"beyond_{k}": float(np.mean(np.abs(pulls) > k)) for k in (3, 4)},
                    "calibrated": robust_width(cases.delta[sel] / calibrated[sel]),
                    "held_out": robust_width(cases.delta[sel] / held[sel]),
                }
            )
    info = dict(provenance or {})
    info["snr_range"] = [lo, hi]
    info["pull_widths"] = rows
    info["pull_width_definition"] = "1.4826 * median |(fit - truth) / e| (about zero: a bias counts)"
    if region_label:
        info["regions"] = {
            "label": region_label,
            "edges": list(edges),
            "note": "rows with region -1 are every case; region k: edges[k-1] <= label < edges[k]",
        }
    if skipped:
        info["skipped"] = {
            name: f"{n} cases in S/N {lo:g}–{hi:g} (fewer than 20)" for name, n in skipped.items()
        }
    calibration = ErrorCalibration(
        models, info, region_label=region_label if regional_models else None,
        region_edges=edges if regional_models else (), regional=regional_models,
        bounds={name: b for name, b in bounds.items() if name in models},
    )
    return CalibrationReport(calibration, rows)


def apply_calibration(study: StudyResult, calibration: ErrorCalibration) -> StudyResult:
    """The study with its reported errors recomputed by ``calibration``.

    A calibration maps each fit's covariance errors (and its labels and reduced χ²) to the
    reported errors and changes nothing else — not the fit, not its flags — so a study
    fitted with one calibration of a bundle measures another calibration of the same
    network exactly: ``e_*`` are what the fitter would have reported with it.

    Parameters
    ----------
    study : StudyResult
        Fits with covariance errors (``cov_e_labels``; ``cov_e_v_rad`` for the RV).
    calibration : ErrorCalibration

    Returns
    -------
    StudyResult
        A copy with ``e_labels`` and ``e_v_rad`` replaced.
    """
    e_labels = np.full_like(study.labels, np.nan, dtype=float)
    cov_rv = study.cov_e_v_rad if study.cov_e_v_rad is not None else np.full(len(study.v_rad), np.nan)
    e_rv = np.full(len(study.v_rad), np.nan)
    for i in range(len(study.v_rad)):
        e_labels[i], e_rv[i] = calibration.apply(
            study.label_names, study.labels[i], study.cov_e_labels[i], float(study.v_rad[i]),
            float(cov_rv[i]), float(study.rchi2[i]),
        )
    return replace(study, e_labels=e_labels, e_v_rad=e_rv)
