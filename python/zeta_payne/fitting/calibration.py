"""Calibrated uncertainties: an error model per label, fitted to pulls against known truth.

The statistical error of a fit is the covariance error ``σ`` (``cov_e_*``: the square root
of the diagonal of ``rchi2 · (JᵀJ)⁻¹``). It knows the noise but not the model's own error —
the emulator's and the physics' (what a direct synthesis differs from the network by), which
dominate at high S/N. The reported error is

    e = sqrt((a · σ · rchi2^((γ − 1)/2))² + b² + (c · θ)²)

per label (and RV): a scale ``a`` on the statistical error and a floor, absolute ``b`` (in
the label's unit) or relative ``c`` (a fraction of the value; used for teff, whose model
errors scale with it). ``γ`` says how much of the misfit a label's error follows: the
covariance error is the formal error (unit reduced χ²) times ``sqrt(rchi2)``, which assumes
the misfit is noise; at high S/N the misfit is the model's error, and a label such as the RV
(set by line positions, not depths) does not grow with it. ``γ = 1`` is the covariance error
as it stands, ``γ = 0`` the formal error. ``a`` and the floor are fitted so that the robust width of the pulls
``(θ_fit − θ_true) / e`` is 1 at every S/N of a calibration set (:func:`fit_error_model`).

The robust width is ``1.4826 × median |pull|`` — about zero, not about the median, so a
bias counts against the errors as a spread does (:func:`robust_width`).

**Box bound.** A label the spectrum barely constrains (APOGEE's [M/H] above ≈ 10 kK) can have
a covariance error of several dex, yet a fit inside the bundle's box cannot be further from a
star inside the box than the box allows. A calibration may carry each label's box
(``bounds``); its errors are then ``min(e, box_rms(θ))``, :func:`box_rms` being the RMS
distance from the fitted value to a truth spread uniformly over the box (``w/√12`` at the
centre of a box of width ``w``, ``w/√3`` at an edge). The model is fitted with the bound in
place (``fit_error_model(…, cap=…)``), so the scale and floor describe the constrained fits
and the bound the unconstrained ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ErrorCalibration",
    "ErrorModel",
    "box_rms",
    "fit_error_model",
    "pull_widths",
    "region_index",
    "robust_width",
    "width_interval",
]

#: Labels whose floor is relative to the value (a fraction of it) rather than absolute.
RELATIVE_FLOOR = frozenset({"teff"})

#: Normal-consistency factor of the median absolute value.
_MAD_TO_SIGMA = 1.482602218505602


def robust_width(pulls: npt.ArrayLike) -> float:
    """Robust width of pulls about zero: ``1.4826 × median |z|`` (1 for unit normal pulls).

    Parameters
    ----------
    pulls : array_like, shape (N,)
        ``(fit − truth) / error``; non-finite values are ignored.

    Returns
    -------
    float
        NaN when no pull is finite.
    """
    z = np.asarray(pulls, dtype=float)
    z = z[np.isfinite(z)]
    return float(_MAD_TO_SIGMA * np.median(np.abs(z))) if z.size else float("nan")


def box_rms(value: npt.ArrayLike, lo: float, hi: float) -> np.ndarray:
    """RMS distance from ``value`` to a truth uniform over the box ``[lo, hi]``.

    ``sqrt(((v − lo)³ + (hi − v)³) / (3 (hi − lo)))`` with ``v`` clipped into the box: the
    largest error a fit at ``v`` can have when the spectrum says nothing about the label and
    the star is inside the box.

    Parameters
    ----------
    value : array_like, shape (N,)
        Fitted values, in the label's unit.
    lo, hi : float
        The label's box, ``lo < hi``.

    Returns
    -------
    numpy.ndarray, shape (N,)
        In the label's unit; NaN where ``value`` is NaN.
    """
    if not hi > lo:
        raise ValueError(f"box bound needs lo < hi, not [{lo}, {hi}]")
    v = np.clip(np.asarray(value, dtype=float), lo, hi)
    return np.sqrt(((v - lo) ** 3 + (hi - v) ** 3) / (3.0 * (hi - lo)))


def region_index(values: npt.ArrayLike, edges: Sequence[float]) -> np.ndarray:
    """Region of each value: ``k`` for ``edges[k − 1] ≤ value < edges[k]``, −1 where the
    value is not finite.

    Parameters
    ----------
    values : array_like, shape (N,)
        Values of the region label.
    edges : sequence of float
        Interior region boundaries, increasing.

    Returns
    -------
    numpy.ndarray of int, shape (N,)
    """
    v = np.asarray(values, dtype=float)
    k = np.searchsorted(np.asarray(edges, dtype=float), v, side="right")
    return np.where(np.isfinite(v), k, -1)


def width_interval(
    pulls: npt.ArrayLike, level: float = 0.68, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval of :func:`robust_width` (resampling the pulls).

    With ``n`` pulls a calibrated error's width scatters by about ``1.17 / √n`` (0.13 at
    n = 80), so a single width outside 0.8–1.25 is not by itself a miscalibration; the
    interval says how far the data can place it.

    Parameters
    ----------
    pulls : array_like, shape (N,)
        ``(fit − truth) / error``; non-finite values are ignored.
    level : float
        Central probability of the interval.
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling.

    Returns
    -------
    (float, float)
        Lower and upper bound; NaN for fewer than 3 finite pulls.
    """
    z = np.abs(np.asarray(pulls, dtype=float))
    z = z[np.isfinite(z)]
    if z.size < 3:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = z[rng.integers(0, z.size, size=(n_boot, z.size))]
    widths = _MAD_TO_SIGMA * np.median(draws, axis=1)
    tail = 0.5 * (1.0 - level)
    lo, hi = np.quantile(widths, [tail, 1.0 - tail])
    return float(lo), float(hi)


@dataclass(frozen=True)
class ErrorModel:
    """The error model of one label.

    ``e = sqrt((scale · σ · rchi2^((rchi2_power − 1)/2))² + floor² + (relative_floor · θ)²)``

    Attributes
    ----------
    scale : float
        Factor on the covariance error σ (dimensionless).
    floor : float
        Absolute floor, in the label's unit.
    relative_floor : float
        Floor as a fraction of the label's value (dimensionless).
    rchi2_power : float
        γ: 1 scales the formal error by ``sqrt(rchi2)`` (the covariance error as it stands),
        0 not at all.
    """

    scale: float = 1.0
    floor: float = 0.0
    relative_floor: float = 0.0
    rchi2_power: float = 1.0

    def apply(
        self, sigma: npt.ArrayLike, value: npt.ArrayLike, rchi2: npt.ArrayLike | None = None
    ) -> np.ndarray:
        """Calibrated errors.

        Parameters
        ----------
        sigma : array_like, shape (N,)
            Covariance errors, in the label's unit.
        value : array_like, shape (N,)
            Fitted values (used by the relative floor).
        rchi2 : array_like, shape (N,), optional
            Reduced χ² of the fits (needed unless ``rchi2_power`` is 1).

        Returns
        -------
        numpy.ndarray, shape (N,)
            NaN where ``sigma`` is not finite.
        """
        s = np.asarray(sigma, dtype=float)
        v = np.asarray(value, dtype=float)
        if self.rchi2_power != 1.0:
            if rchi2 is None:
                raise ValueError("this error model needs the fits' reduced χ²")
            s = s * np.clip(np.asarray(rchi2, dtype=float), 1e-6, None) ** (0.5 * (self.rchi2_power - 1.0))
        return np.sqrt((self.scale * s) ** 2 + self.floor**2 + (self.relative_floor * v) ** 2)


@dataclass(frozen=True)
class ErrorCalibration:
    """Error models of a bundle's labels and the RV, with how they were measured.

    Attributes
    ----------
    models : dict
        ``{name: ErrorModel}`` for labels and ``"v_rad"``; a name without a model keeps its
        covariance error.
    provenance : dict
        How the calibration was measured (truth, observations, S/N values, cases, the pull
        widths before and after, the command).
    region_label : str, optional
        The fitted label whose value picks a regional model (e.g. ``"teff"``: the model's
        error differs between cool, warm and hot stars).
    region_edges : tuple of float
        Interior region boundaries, increasing, in ``region_label``'s unit.
    regional : dict
        ``{name: (ErrorModel or None, …)}``, one per region (``len(region_edges) + 1``);
        None, or a fit without a finite ``region_label``, uses the global model.
    bounds : dict
        ``{name: (lo, hi)}``: the labels' boxes; a label here never gets an error above
        :func:`box_rms` of its fitted value (see the module docstring). Empty: no bound
        (calibrations made before the bound).
    """

    models: dict[str, ErrorModel]
    provenance: dict[str, Any] = field(default_factory=dict)
    region_label: str | None = None
    region_edges: tuple[float, ...] = ()
    regional: dict[str, tuple[ErrorModel | None, ...]] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.bounds.items():
            if not float(hi) > float(lo):
                raise ValueError(f"{name!r}: box bound needs lo < hi, not [{lo}, {hi}]")
        edges = tuple(float(e) for e in self.region_edges)
        if list(edges) != sorted(set(edges)):
            raise ValueError(f"region edges must increase: {self.region_edges}")
        if self.regional and self.region_label is None:
            raise ValueError("regional error models need a region label")
        for name, models in self.regional.items():
            if len(models) != len(edges) + 1:
                raise ValueError(f"{name!r}: {len(models)} regional models for {len(edges) + 1} regions")

    def region_of(self, value: float) -> int | None:
        """Index of the region a fitted ``region_label`` value falls in (None: NaN or no
        regions). Region ``k`` is ``edges[k − 1] ≤ value < edges[k]``."""
        if self.region_label is None:
            return None
        k = int(region_index([value], self.region_edges)[0])
        return None if k < 0 else k

    def model_for(self, name: str, labels: Mapping[str, float] | None = None) -> ErrorModel | None:
        """The error model of ``name`` for a fit ending at ``labels`` (by name): the model of
        its region where there is one, else the global model (None: no model)."""
        if labels is not None and name in self.regional and self.region_label is not None:
            k = self.region_of(float(labels.get(self.region_label, np.nan)))
            if k is not None and self.regional[name][k] is not None:
                return self.regional[name][k]
        return self.models.get(name)

    def apply(
        self,
        label_names: Sequence[str],
        labels: npt.ArrayLike,
        cov_e_labels: npt.ArrayLike,
        v_rad: float,
        cov_e_v_rad: float,
        rchi2: float = 1.0,
    ) -> tuple[np.ndarray, float]:
        """Calibrated errors of one fit.

        Parameters
        ----------
        label_names : sequence of str, length L
        labels : array_like, shape (L,)
            Fitted labels.
        cov_e_labels : array_like, shape (L,)
            Covariance errors (NaN for fixed labels: they stay NaN).
        v_rad : float
            Fitted RV [km/s].
        cov_e_v_rad : float
            Its covariance error [km/s].
        rchi2 : float
            Reduced χ² of the fit.

        Returns
        -------
        e_labels : numpy.ndarray, shape (L,)
        e_v_rad : float
        """
        labels = np.asarray(labels, dtype=float)
        sigma = np.asarray(cov_e_labels, dtype=float)
        by_name = dict(zip(label_names, labels.tolist(), strict=True))
        out = sigma.copy()
        for i, name in enumerate(label_names):
            model = self.model_for(name, by_name)
            if model is not None:
                out[i] = model.apply(sigma[i : i + 1], labels[i : i + 1], [rchi2])[0]
                if name in self.bounds and np.isfinite(out[i]):  # fmin: a NaN label keeps it
                    out[i] = np.fmin(out[i], box_rms(labels[i : i + 1], *self.bounds[name])[0])
        rv_model = self.model_for("v_rad", by_name)
        e_rv = float(rv_model.apply([cov_e_v_rad], [v_rad], [rchi2])[0]) if rv_model else float(cov_e_v_rad)
        return out, e_rv

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "schema": "zeta-payne/error-calibration/1",
            "formula": (
                "e = sqrt((scale * cov_e * rchi2^((rchi2_power - 1)/2))^2 + floor^2 "
                "+ (relative_floor * value)^2)"
                + (", at most box_rms(value, *bounds[label])" if self.bounds else "")
            ),
            "models": {name: _model_dict(m) for name, m in self.models.items()},
            **(
                {
                    "regions": {
                        "label": self.region_label,
                        "edges": list(self.region_edges),
                        "models": {
                            name: [None if m is None else _model_dict(m) for m in models]
                            for name, models in self.regional.items()
                        },
                    }
                }
                if self.region_label is not None
                else {}
            ),
            **({"bounds": {name: [float(lo), float(hi)] for name, (lo, hi) in self.bounds.items()}}
               if self.bounds else {}),
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorCalibration:
        """Build from :meth:`to_dict`'s form (raises ``ValueError`` when malformed)."""
        if data.get("schema") != "zeta-payne/error-calibration/1":
            raise ValueError(f"not an error calibration (schema {data.get('schema')!r})")
        models = {str(name): _model_from(name, m) for name, m in dict(data.get("models", {})).items()}
        bounds = {str(name): (float(b[0]), float(b[1])) for name, b in dict(data.get("bounds", {})).items()}
        regions = data.get("regions")
        if not regions:
            return cls(models=models, provenance=dict(data.get("provenance", {})), bounds=bounds)
        regional = {
            str(name): tuple(None if m is None else _model_from(name, m) for m in ms)
            for name, ms in dict(regions.get("models", {})).items()
        }
        return cls(
            models=models,
            provenance=dict(data.get("provenance", {})),
            region_label=str(regions["label"]),
            region_edges=tuple(float(e) for e in regions.get("edges", ())),
            regional=regional,
            bounds=bounds,
        )


def _model_dict(m: ErrorModel) -> dict[str, float]:
    return {
        "scale": m.scale, "floor": m.floor, "relative_floor": m.relative_floor, "rchi2_power": m.rchi2_power
    }


def _model_from(name: str, m: Mapping[str, Any]) -> ErrorModel:
    model = ErrorModel(
        float(m["scale"]),
        float(m["floor"]),
        float(m.get("relative_floor", 0.0)),
        float(m.get("rchi2_power", 1.0)),
    )
    if not (model.scale > 0 and model.floor >= 0 and model.relative_floor >= 0):
        raise ValueError(f"error model of {name!r} has a non-positive scale or a negative floor")
    return model


def pull_widths(
    delta: npt.ArrayLike, error: npt.ArrayLike, groups: npt.ArrayLike
) -> dict[float, tuple[float, int]]:
    """Robust pull width per group (e.g. per S/N).

    Parameters
    ----------
    delta : array_like, shape (N,)
        Fit minus truth.
    error : array_like, shape (N,)
        Reported errors.
    groups : array_like, shape (N,)
        Group key of each case.

    Returns
    -------
    dict
        ``{group: (width, cases)}``, cases counting finite pulls.
    """
    delta = np.asarray(delta, dtype=float)
    error = np.asarray(error, dtype=float)
    groups = np.asarray(groups)
    out = {}
    for key in np.unique(groups):
        sel = groups == key
        z = delta[sel] / error[sel]
        out[key.item() if hasattr(key, "item") else key] = (robust_width(z), int(np.isfinite(z).sum()))
    return out


#: The γ values :func:`fit_error_model` tries when the fits' reduced χ² are given.
RCHI2_POWERS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def fit_error_model(
    delta: npt.ArrayLike,
    sigma: npt.ArrayLike,
    value: npt.ArrayLike,
    groups: npt.ArrayLike,
    relative: bool = False,
    rchi2: npt.ArrayLike | None = None,
    powers: Sequence[float] = RCHI2_POWERS,
    n_grid: int = 41,
    cap: npt.ArrayLike | None = None,
) -> ErrorModel:
    """Fit the scale, the floor (and γ) so that the pull width is 1 in every group.

    Minimises ``Σ_g (ln w_g)²`` over the groups ``g`` (the S/N values of the calibration
    set), ``w_g`` the robust pull width of group ``g``: for each γ in ``powers`` (only γ = 1
    without ``rchi2``) a grid over ``ln scale`` and the floor, refined twice on a finer grid
    around the best cell; the best γ wins. The parameters are identified when the groups
    span S/N where the noise dominates and where the model's error does.

    Parameters
    ----------
    delta : array_like, shape (N,)
        Fit minus truth, in the label's unit.
    sigma : array_like, shape (N,)
        Covariance errors of the same fits.
    value : array_like, shape (N,)
        Fitted values (for a relative floor).
    groups : array_like, shape (N,)
        Group of each case (S/N).
    relative : bool
        Fit a floor relative to the value (``relative_floor``) instead of an absolute one.
    rchi2 : array_like, shape (N,), optional
        Reduced χ² of the fits; given, γ is fitted too.
    powers : sequence of float
        The γ values tried.
    n_grid : int
        Grid points per parameter and pass.
    cap : array_like, shape (N,), optional
        Upper bound of each case's error (:func:`box_rms` of its value): the model is
        fitted as ``min(e, cap)``, the form :class:`ErrorCalibration` reports with bounds.

    Returns
    -------
    ErrorModel
    """
    delta = np.asarray(delta, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    value = np.abs(np.asarray(value, dtype=float))
    groups = np.asarray(groups)
    chi = np.ones_like(sigma) if rchi2 is None else np.asarray(rchi2, dtype=float)
    bound = np.full_like(sigma, np.inf) if cap is None else np.asarray(cap, dtype=float)
    ok = (np.isfinite(delta) & np.isfinite(sigma) & (sigma > 0) & np.isfinite(value) & np.isfinite(chi)
          & (bound > 0))
    delta, sigma, value, groups, chi, bound = delta[ok], sigma[ok], value[ok], groups[ok], chi[ok], bound[ok]
    if delta.size < 10:
        raise ValueError(f"too few finite cases to calibrate ({delta.size})")
    members = [groups == k for k in np.unique(groups)]
    unit = value if relative else np.ones_like(value)
    # The floor cannot exceed the largest robust |Δ| of a group in the floor's unit.
    ratio = np.abs(delta) / unit
    top = max(float(np.max([_MAD_TO_SIGMA * np.median(ratio[m]) for m in members])) * 2.0, 1e-12)
    chi = np.clip(chi, 1e-6, None)

    def objective(base: np.ndarray, log_scale: np.ndarray, floor: np.ndarray) -> np.ndarray:
        err = np.minimum(np.sqrt(
            (np.exp(log_scale)[:, None, None] * base[None, None, :]) ** 2
            + (floor[None, :, None] * unit[None, None, :]) ** 2
        ), bound[None, None, :])
        z = np.abs(delta)[None, None, :] / err
        total = np.zeros((log_scale.size, floor.size))
        for m in members:
            total += np.log(_MAD_TO_SIGMA * np.median(z[:, :, m], axis=2)) ** 2
        return total

    best: tuple[float, float, float, float] | None = None  # (objective, γ, ln scale, floor)
    for power in powers if rchi2 is not None else (1.0,):
        base = sigma * chi ** (0.5 * (power - 1.0))
        log_scale = np.linspace(np.log(0.05), np.log(50.0), n_grid)
        floor = np.concatenate([[0.0], np.geomspace(top * 1e-4, top, n_grid - 1)])
        for _ in range(3):
            obj = objective(base, log_scale, floor)
            i, j = np.unravel_index(np.nanargmin(obj), obj.shape)
            value_ij, best_scale, best_floor = float(obj[i, j]), log_scale[i], floor[j]
            ds = (log_scale[1] - log_scale[0]) * 2
            log_scale = np.linspace(best_scale - ds, best_scale + ds, n_grid)
            lo = floor[max(j - 2, 0)]
            hi = floor[min(j + 2, floor.size - 1)]
            floor = np.unique(np.concatenate([[0.0], np.linspace(lo, hi, n_grid - 1)]))
        if best is None or value_ij < best[0] - 1e-9:
            best = (value_ij, float(power), float(best_scale), float(best_floor))
    _, power, log_scale_best, floor_best = best
    scale = float(np.exp(log_scale_best))
    if relative:
        return ErrorModel(scale=scale, floor=0.0, relative_floor=floor_best, rchi2_power=power)
    return ErrorModel(scale=scale, floor=floor_best, relative_floor=0.0, rchi2_power=power)
