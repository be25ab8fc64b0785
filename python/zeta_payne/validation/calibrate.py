"""Measure a bundle's error calibration on a simulation study against synthesis truth.

The study (``zeta-payne validate --generator synthesis …`` at several S/N) gives, per fitted
spectrum, the fit minus the truth and the covariance error ``cov_e``. For each label and the
RV an :class:`~zeta_payne.fitting.calibration.ErrorModel` is fitted so that the pulls have
unit robust width at every S/N. Two-fold cross-validation by truth point (the models fitted
on the even points scored on the odd ones and the reverse) measures how well the calibration
holds on spectra it was not fitted to; the stored calibration is fitted on all points.

Only fits not flagged bad are used: a flagged row's labels are not for use, and its errors
neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zeta_payne.fitting.calibration import (
    RELATIVE_FLOOR,
    ErrorCalibration,
    ErrorModel,
    fit_error_model,
    robust_width,
    width_interval,
)
from zeta_payne.fitting.flags import BAD_MASK
from zeta_payne.validation.runner import StudyResult

__all__ = ["CalibrationCases", "CalibrationReport", "calibrate", "gather_cases"]


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


def gather_cases(studies: Sequence[StudyResult], names: Sequence[str]) -> dict[str, CalibrationCases]:
    """Collect the calibration cases of ``names`` (labels and ``"v_rad"``) from studies.

    Rows flagged bad, and rows whose covariance error is not finite and positive, are left
    out.
    """
    out = {}
    for name in names:
        parts: dict[str, list[np.ndarray]] = {k: [] for k in "dcrevspx"}
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
            for key, arr in zip("dcrevspx", (d, cov, raw, rep, val, snr, point, st.rchi2), strict=True):
                parts[key].append(np.asarray(arr, dtype=float)[keep])
        cat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
        out[name] = CalibrationCases(
            name, cat["d"], cat["c"], cat["r"], cat["e"], cat["v"], cat["s"], cat["p"], cat["x"]
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


def _fit(cases: CalibrationCases, sel: np.ndarray) -> ErrorModel:
    return fit_error_model(
        cases.delta[sel],
        cases.cov_e[sel],
        cases.value[sel],
        cases.snr[sel],
        relative=cases.name in RELATIVE_FLOOR,
        rchi2=cases.rchi2[sel],
    )


def calibrate(
    studies: Sequence[StudyResult],
    names: Sequence[str],
    snr_range: tuple[float, float] = (10.0, 200.0),
    provenance: dict | None = None,
    strict: bool = True,
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

    Returns
    -------
    CalibrationReport

    Raises
    ------
    ValueError
        ``strict`` and a label with fewer than 20 cases in ``snr_range``.
    """
    gathered = gather_cases(studies, names)
    models: dict[str, ErrorModel] = {}
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
        model = _fit(cases, in_range)
        models[name] = model
        even = (np.round(cases.point) % 2) == 0
        held = np.full(cases.delta.size, np.nan)
        for fold in (even, ~even):
            train = in_range & ~fold
            if train.sum() >= 10 and fold.any():
                held[fold] = _fit(cases, train).apply(cases.cov_e[fold], cases.value[fold], cases.rchi2[fold])
        calibrated = model.apply(cases.cov_e, cases.value, cases.rchi2)
        for snr in np.unique(cases.snr):
            sel = cases.snr == snr
            rows.append(
                {
                    "name": name,
                    "snr": float(snr),
                    "n": int(sel.sum()),
                    "raw": robust_width(cases.delta[sel] / cases.raw_e[sel]),
                    "cov": robust_width(cases.delta[sel] / cases.cov_e[sel]),
                    "reported": robust_width(cases.delta[sel] / cases.reported_e[sel]),
                    **dict(zip(("reported_lo", "reported_hi"),
                               width_interval(cases.delta[sel] / cases.reported_e[sel]), strict=True)),
                    "calibrated": robust_width(cases.delta[sel] / calibrated[sel]),
                    "held_out": robust_width(cases.delta[sel] / held[sel]),
                }
            )
    info = dict(provenance or {})
    info["snr_range"] = [lo, hi]
    info["pull_widths"] = rows
    info["pull_width_definition"] = "1.4826 * median |(fit - truth) / e| (about zero: a bias counts)"
    if skipped:
        info["skipped"] = {
            name: f"{n} cases in S/N {lo:g}–{hi:g} (fewer than 20)" for name, n in skipped.items()
        }
    return CalibrationReport(ErrorCalibration(models, info), rows)
