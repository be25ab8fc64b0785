"""The result of one fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, flag_names

__all__ = ["FitResult"]


@dataclass
class FitResult:
    """Labels, uncertainties, diagnostics and flags of one spectrum.

    Label arrays follow ``label_names`` (the bundle's input order; fixed labels carry their
    fixed value and NaN errors).

    Attributes
    ----------
    label_names : tuple of str
        Names of the labels.
    labels : numpy.ndarray, shape (L,)
        Best-fit labels.
    e_labels : numpy.ndarray, shape (L,)
        The reported errors: calibrated (``calibrated`` True) from ``cov_e_labels`` by the
        bundle's error calibration (:mod:`zeta_payne.fitting.calibration`), measured against
        synthesis truth; for a bundle without one, equal to ``raw_e_labels``.
    cov_e_labels : numpy.ndarray, shape (L,)
        Errors from the covariance matrix ``rchi2 · (JᵀJ)⁻¹`` (statistical only).
    raw_e_labels : numpy.ndarray, shape (L,)
        χ²-parabola half-widths (paper eqs. 6, 7); ``None`` at construction takes
        ``e_labels``.
    correlations : dict
        ``{(a, b): ρ}`` for every pair of free labels and RV.
    initial_labels : numpy.ndarray, shape (L,)
        Best pre-search candidate.
    v_rad, e_v_rad, initial_v_rad : float
        Radial velocity [km/s], its reported error (calibrated like the labels) and
        pre-search value.
    cov_e_v_rad : float
        Covariance error of the RV [km/s]; ``None`` at construction takes ``e_v_rad``.
    calibrated : bool
        ``e_labels`` and ``e_v_rad`` come from the bundle's error calibration.
    lsf_source : str
        Where the LSF came from: ``"spectrum"`` (its per-pixel FWHM), ``"option"`` (an
        explicit ``resolution``), ``"bundle"`` (the bundle's nominal R, flagged
        ``LSF_FROM_BUNDLE``); ``""`` when the fit did not get that far.
    coeffs : numpy.ndarray, shape (C,)
        Response (Chebyshev) coefficients.
    chi2, rchi2 : float
        χ² and χ² per degree of freedom (pixels − free parameters).
    dof : int
        Degrees of freedom.
    snr : float
        Median per-pixel S/N of the used pixels.
    n_pixels : int
        Pixels in χ².
    model_flux : numpy.ndarray, shape (N,)
        Best model on the observed wavelength grid (NaN where the model does not reach).
    flags : int
        :class:`zeta_payne.fitting.flags.ResultFlags` bits.
    message : str
        Human-readable reason for bad flags, or the optimiser's message.
    timing : dict
        Seconds per stage.
    meta : dict
        The spectrum's ``meta``.
    edge_chi2 : numpy.ndarray, shape (L,)
        For each label that ends at an edge of the box, the χ² (over the reduced χ²) the fit
        would lose by going past it (:func:`zeta_payne.fitting.diagnostics.edge_chi2`); NaN
        for the others.
    """

    label_names: tuple[str, ...]
    labels: np.ndarray
    e_labels: np.ndarray
    cov_e_labels: np.ndarray
    initial_labels: np.ndarray
    v_rad: float = float("nan")
    e_v_rad: float = float("nan")
    initial_v_rad: float = float("nan")
    correlations: dict[tuple[str, str], float] = field(default_factory=dict)
    coeffs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    chi2: float = float("nan")
    rchi2: float = float("nan")
    dof: int = 0
    snr: float = float("nan")
    n_pixels: int = 0
    model_flux: np.ndarray | None = None
    flags: int = 0
    message: str = ""
    n_fev: int = 0
    timing: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    raw_e_labels: np.ndarray | None = None
    lsf_source: str = ""
    cov_e_v_rad: float | None = None
    calibrated: bool = False
    edge_chi2: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.raw_e_labels is None:
            self.raw_e_labels = np.array(self.e_labels, dtype=float, copy=True)
        if self.edge_chi2 is None:
            self.edge_chi2 = np.full(len(self.label_names), np.nan)
        if self.cov_e_v_rad is None:
            self.cov_e_v_rad = self.e_v_rad

    @classmethod
    def failed(
        cls, label_names: tuple[str, ...], flags: int, message: str, meta: dict[str, Any] | None = None
    ) -> FitResult:
        """A result row for a spectrum that could not be fitted (all values NaN)."""
        nan = np.full(len(label_names), np.nan)
        return cls(
            label_names=tuple(label_names),
            labels=nan.copy(),
            e_labels=nan.copy(),
            cov_e_labels=nan.copy(),
            initial_labels=nan.copy(),
            flags=int(flags),
            message=message,
            meta=dict(meta or {}),
        )

    @property
    def flag_bad(self) -> bool:
        """Any bad bit set (labels unusable)."""
        return bool(self.flags & BAD_MASK)

    @property
    def flag_warn(self) -> bool:
        """Any warning bit set."""
        return bool(self.flags & WARN_MASK)

    @property
    def flag_names(self) -> list[str]:
        """Names of the set bits."""
        return flag_names(self.flags)

    def label(self, name: str) -> float:
        """Best-fit value of label ``name`` (NaN if the bundle has no such label)."""
        return float(self.labels[self.label_names.index(name)]) if name in self.label_names else float("nan")

    def error(self, name: str, kind: str = "parabola") -> float:
        """Error of label ``name``.

        ``kind``: "parabola" (the reported ``e_``), "raw" (the χ² parabola, ``raw_e_``) or
        "covariance" (``cov_e_``).
        """
        if name not in self.label_names:
            return float("nan")
        arr = {"parabola": self.e_labels, "raw": self.raw_e_labels, "covariance": self.cov_e_labels}[kind]
        return float(arr[self.label_names.index(name)])

    def as_row(self) -> dict[str, Any]:
        """A flat dictionary (one table row).

        Columns: ``<label>``, ``e_<label>`` (reported: calibrated when ``calibrated``, else
        equal to ``raw_e_``), ``raw_e_<label>`` (χ² parabola), ``cov_e_<label>``
        (covariance), ``initial_<label>``; ``v_rad``, ``e_v_rad`` (reported),
        ``raw_e_v_rad`` and ``cov_e_v_rad`` (both its covariance error: the RV has no
        parabola), ``initial_v_rad``; ``edge_chi2_<label>`` (NaN unless at an edge); fit
        statistics, ``lsf_source``, ``errors_calibrated``,
        ``result_flags`` and ``flag_names``.
        """
        row: dict[str, Any] = {}
        for i, name in enumerate(self.label_names):
            row[name] = float(self.labels[i])
            row[f"e_{name}"] = float(self.e_labels[i])
            row[f"raw_e_{name}"] = float(self.raw_e_labels[i])
            row[f"cov_e_{name}"] = float(self.cov_e_labels[i])
            row[f"initial_{name}"] = float(self.initial_labels[i])
            row[f"edge_chi2_{name}"] = float(self.edge_chi2[i])
        row.update(
            v_rad=self.v_rad,
            e_v_rad=self.e_v_rad,
            raw_e_v_rad=self.cov_e_v_rad,
            cov_e_v_rad=self.cov_e_v_rad,
            initial_v_rad=self.initial_v_rad,
            chi2=self.chi2,
            rchi2=self.rchi2,
            snr=self.snr,
            n_pixels=self.n_pixels,
            lsf_source=self.lsf_source,
            errors_calibrated=bool(self.calibrated),
            result_flags=int(self.flags),
            flag_names=",".join(self.flag_names),
        )
        return row
