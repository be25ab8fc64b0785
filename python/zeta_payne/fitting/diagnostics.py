"""What a finished fit says about itself: flags, covariance errors, correlations, χ² parabolas.

Pure functions of the optimum (no model evaluation except through the callable given to
:func:`parabola_errors`), so that every flag of a fit is set here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from zeta_payne.fitting.flags import ResultFlags, label_flag
from zeta_payne.fitting.options import FitOptions
from zeta_payne.fitting.region import below_logg_floor
from zeta_payne.fitting.uncertainty import covariance, parabola_error
from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS

__all__ = [
    "CovarianceErrors",
    "convergence_flags",
    "covariance_errors",
    "edge_chi2",
    "edge_sides",
    "label_flags",
    "parabola_errors",
    "parabola_from_values",
    "parabola_points",
    "unconstrained_flags",
    "unresolved_v_sini",
]


@dataclass(frozen=True)
class CovarianceErrors:
    """Errors and correlations from the covariance ``rchi2 · (JᵀJ)⁻¹`` of the final fit.

    Attributes
    ----------
    e_labels : numpy.ndarray, shape (L,)
        Covariance errors of the labels (NaN for fixed ones).
    e_v_rad : float
        Covariance error of the RV [km/s].
    formal : numpy.ndarray, shape (F,)
        Errors of the free labels at unit reduced χ² (``sqrt(diag (JᵀJ)⁻¹)``).
    correlations : dict
        ``{(a, b): ρ}`` for every pair of free labels and ``v_rad``.
    singular : bool
        A variance is zero or not finite (the fit did not constrain a parameter).
    """

    e_labels: np.ndarray
    e_v_rad: float
    formal: np.ndarray
    correlations: dict[tuple[str, str], float]
    singular: bool


def covariance_errors(
    jacobian: np.ndarray, rchi2: float, free: np.ndarray, label_names: Sequence[str]
) -> CovarianceErrors:
    """Covariance errors and correlations of the free labels and the RV.

    Parameters
    ----------
    jacobian : numpy.ndarray, shape (N, F + 1 + C)
        Weighted Jacobian at the optimum: free labels, RV, response coefficients.
    rchi2 : float
        Reduced χ² (scales the covariance).
    free : numpy.ndarray of bool, shape (L,)
        Which labels are free.
    label_names : sequence of str, length L

    Returns
    -------
    CovarianceErrors
    """
    n_free = int(np.sum(free))
    cov = covariance(jacobian, rchi2)
    sub = cov[: n_free + 1, : n_free + 1]
    diag = np.sqrt(np.clip(np.diag(sub), 0.0, None))
    e_labels = np.full(len(label_names), np.nan)
    e_labels[free] = diag[:n_free]
    names = [name for name, is_free in zip(label_names, free, strict=True) if is_free] + ["v_rad"]
    correlations = {}
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            denom = diag[a] * diag[b]
            correlations[(names[a], names[b])] = float(sub[a, b] / denom) if denom > 0 else float("nan")
    formal = np.sqrt(np.clip(np.diag(cov)[:n_free], 0.0, None) / max(rchi2, 1e-300))
    singular = bool(not np.all(np.isfinite(diag)) or np.any(diag == 0))
    return CovarianceErrors(e_labels, float(diag[n_free]), formal, correlations, singular)


def edge_sides(
    labels: np.ndarray, free: np.ndarray, lower: np.ndarray, upper: np.ndarray, at_edge: float
) -> np.ndarray:
    """Which edge of the box each free label ends at: −1 (lower), +1 (upper) or 0 (neither).

    A label is at an edge within ``at_edge`` of the box width (:attr:`FitOptions.at_edge`),
    the criterion of ``<LABEL>_AT_EDGE``. Both edges of every free label count here, v sin i's
    lower edge included: :func:`edge_chi2` is measured there too, although
    :func:`label_flags` reports a v sin i at its lower edge as ``V_SINI_UNRESOLVED``, never
    at the edge.

    Parameters
    ----------
    labels, lower, upper : numpy.ndarray, shape (L,)
    free : numpy.ndarray of bool, shape (L,)
    at_edge : float

    Returns
    -------
    numpy.ndarray of int, shape (L,)
    """
    width = upper - lower
    side = np.zeros(len(labels), dtype=int)
    side[free & ((labels - lower) / width <= at_edge)] = -1
    side[free & ((upper - labels) / width <= at_edge)] = 1
    return side


def edge_chi2(
    residual: np.ndarray, jacobian: np.ndarray, sides: np.ndarray, free: np.ndarray, rchi2: float
) -> np.ndarray:
    """How much the data ask for each label that ends at an edge to go past it.

    The fit ends on the bound of the box; linearised at the optimum, the χ² it would lose if
    the label alone were released past the bound — the other parameters not on a bound
    (labels, RV, response) adjusting with it — is the difference of the projections of the
    residual on the Jacobian's columns with and without that label. Divided by the reduced
    χ² (the scale of the covariance errors), it is the square of how many errors the data
    put the optimum beyond the edge: about 1 or less when the edge is merely where a weakly
    constrained label came to rest, tens when the spectrum wants physics outside the box.
    A label whose linearised step would point back into the box gets 0.

    Parameters
    ----------
    residual : numpy.ndarray, shape (N,)
        Weighted residual ``(model − data) / σ`` at the optimum.
    jacobian : numpy.ndarray, shape (N, F + 1 + C)
        Its Jacobian: free labels, RV, response coefficients.
    sides : numpy.ndarray of int, shape (L,)
        :func:`edge_sides` of the fit (−1, 0, +1 per label).
    free : numpy.ndarray of bool, shape (L,)
    rchi2 : float
        Reduced χ² of the fit.

    Returns
    -------
    numpy.ndarray, shape (L,)
        Δχ² / χ²_ν per label at an edge; NaN for the others (and when not computable).
    """
    out = np.full(len(sides), np.nan)
    free_sides = sides[free]
    if not np.any(free_sides) or not np.isfinite(rchi2) or rchi2 <= 0:
        return out
    norms = np.linalg.norm(jacobian, axis=0)
    scaled = jacobian / np.where(norms > 0, norms, 1.0)
    on_bound = np.zeros(jacobian.shape[1], dtype=bool)
    on_bound[: free_sides.size] = free_sides != 0
    labels_at = np.flatnonzero(free)
    inner = np.flatnonzero(~on_bound)
    explained = np.sum((np.linalg.qr(scaled[:, inner])[0].T @ residual) ** 2)  # without any
    for k in np.flatnonzero(free_sides):
        if norms[k] == 0:
            continue
        with_k = np.concatenate([[k], inner])
        step = np.linalg.lstsq(scaled[:, with_k], -residual, rcond=None)[0][0]
        if step * free_sides[k] <= 0:
            out[labels_at[k]] = 0.0
            continue
        gain = np.sum((np.linalg.qr(scaled[:, with_k])[0].T @ residual) ** 2) - explained
        out[labels_at[k]] = max(float(gain), 0.0) / rchi2
    return out


def unresolved_v_sini(resolution: float, fraction: float) -> float:
    """The v sin i [km/s] below which rotation is not resolved: ``fraction · c / R``.

    Parameters
    ----------
    resolution : float
        Resolving power R of the fitted spectrum (median λ/FWHM).
    fraction : float
        Fraction of the LSF's velocity FWHM (:attr:`FitOptions.unresolved_v_sini`).
    """
    return float(fraction * SPEED_OF_LIGHT_KMS / resolution) if resolution > 0 else 0.0


def label_flags(
    labels: np.ndarray,
    free: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    label_names: Sequence[str],
    options: FitOptions,
    v_sini_limit: float,
    edge_gain: np.ndarray | None = None,
) -> int:
    """Flags of labels at or near the box edges, and of unresolved rotation.

    A label within ``options.at_edge`` of the box width from an edge is ``<label>_AT_EDGE``
    (bad), within ``options.near_edge`` ``<label>_NEAR_EDGE`` (warning). v sin i is the
    exception at its lower edge: 0 is the normal answer for a slow rotator, so v sin i at
    or near the lower edge, or below ``v_sini_limit``, is ``V_SINI_UNRESOLVED`` (a warning:
    the value is an upper limit), never bad. A teff at or above ``options.lte_teff_max`` is
    ``NLTE_REGIME`` (a warning: LTE models there carry a systematic); v sin i at or above
    ``options.rigid_rotation_v_sini_max`` is ``RAPID_ROTATION`` (a warning: gravity darkening
    and oblateness are not modelled); teff and log g below
    ``options.logg_floor`` are ``UNTRAINED_REGION`` (bad: no training spectra there).

    A label of ``options.edge_chi2_min`` at an edge is ``<LABEL>_AT_EDGE`` only when the data
    push past the edge (its ``edge_gain``, :func:`edge_chi2`, at least the option's value);
    else ``<LABEL>_NEAR_EDGE``: the edge is where a weakly constrained label came to rest,
    a bound the data are content with, not physics outside the box.

    Parameters
    ----------
    labels : numpy.ndarray, shape (L,)
    free : numpy.ndarray of bool, shape (L,)
    lower, upper : numpy.ndarray, shape (L,)
        The box.
    label_names : sequence of str, length L
    options : FitOptions
    v_sini_limit : float
        :func:`unresolved_v_sini` of the fitted spectrum [km/s].
    edge_gain : numpy.ndarray, shape (L,), optional
        :func:`edge_chi2` of the fit (needed for the labels of ``options.edge_chi2_min``;
        without it they are flagged at the edge as every other label).

    Returns
    -------
    int
        :class:`ResultFlags` bits.
    """
    flags = 0
    demand = dict(options.edge_chi2_min or {})
    width = upper - lower
    for i, name in enumerate(label_names):
        if not free[i]:
            continue
        to_lower = (labels[i] - lower[i]) / width[i]
        to_upper = (upper[i] - labels[i]) / width[i]
        if name == "v_sini":
            if to_lower <= options.near_edge or labels[i] < v_sini_limit:
                flags |= ResultFlags.V_SINI_UNRESOLVED
            dist = to_upper
        else:
            dist = min(to_lower, to_upper)
        if dist <= options.at_edge and name in demand and edge_gain is not None \
                and np.isfinite(edge_gain[i]) and edge_gain[i] < float(demand[name]):
            flags |= label_flag(name, "near_edge")
        elif dist <= options.at_edge:
            flags |= label_flag(name, "at_edge")
        elif dist <= options.near_edge:
            flags |= label_flag(name, "near_edge")
    if "teff" in label_names and options.lte_teff_max is not None:
        if labels[list(label_names).index("teff")] >= options.lte_teff_max:
            flags |= ResultFlags.NLTE_REGIME
    if "v_sini" in label_names and options.rigid_rotation_v_sini_max is not None:
        if labels[list(label_names).index("v_sini")] >= options.rigid_rotation_v_sini_max:
            flags |= ResultFlags.RAPID_ROTATION
    if options.logg_floor and {"teff", "logg"} <= set(label_names):
        names = list(label_names)
        if below_logg_floor(labels[names.index("teff")], labels[names.index("logg")],
                            options.logg_floor)[0]:
            flags |= ResultFlags.UNTRAINED_REGION
    return int(flags)


def unconstrained_flags(
    cov_e_labels: np.ndarray, free: np.ndarray, label_names: Sequence[str], options: FitOptions
) -> int:
    """``<LABEL>_UNCONSTRAINED`` for the free labels whose covariance error exceeds the
    bundle's ``options.unconstrained_error`` (a warning: the spectrum barely constrains them).

    Parameters
    ----------
    cov_e_labels : numpy.ndarray, shape (L,)
        Covariance errors (:func:`covariance_errors`; NaN for held labels) [label units].
    free : numpy.ndarray of bool, shape (L,)
    label_names : sequence of str, length L
    options : FitOptions

    Returns
    -------
    int
        :class:`ResultFlags` bits. A singular covariance (non-finite error) is not flagged
        here: ``FITTING_FAILURE`` says it.
    """
    flags = 0
    for name, limit in (options.unconstrained_error or {}).items():
        if name not in label_names:
            continue
        i = list(label_names).index(name)
        if free[i] and np.isfinite(cov_e_labels[i]) and cov_e_labels[i] > float(limit):
            flags |= label_flag(name, "unconstrained")
    return int(flags)


def convergence_flags(
    options: FitOptions,
    projected_status: int,
    polish_status: int,
    polish_gain: float,
    v_rad: float,
    chi2: float,
    rchi2: float,
    singular: bool,
) -> int:
    """Flags of the optimisation itself.

    Parameters
    ----------
    options : FitOptions
    projected_status, polish_status : int
        ``least_squares`` status of the projected stage and of the polish (0: evaluation
        limit reached).
    polish_gain : float
        χ² gained by the polish. It starts at the projected optimum: running out of
        evaluations there only matters if it was still gaining more than the tolerance.
    v_rad : float
        Fitted RV [km/s]; outside ``options.rv_range`` a better solution may lie beyond.
    chi2, rchi2 : float
    singular : bool
        :attr:`CovarianceErrors.singular`.

    Returns
    -------
    int
        ``UNCONVERGED``, ``RV_AT_SEARCH_EDGE``, ``FITTING_FAILURE``, ``POOR_FIT`` bits.
    """
    flags = 0
    if projected_status == 0 or (polish_status == 0 and polish_gain > options.chi2_tolerance):
        flags |= ResultFlags.UNCONVERGED
    if not options.rv_range[0] <= v_rad <= options.rv_range[1]:
        flags |= ResultFlags.RV_AT_SEARCH_EDGE
    if not np.isfinite(chi2) or singular:
        flags |= ResultFlags.FITTING_FAILURE
    if rchi2 > options.poor_fit_rchi2:
        flags |= ResultFlags.POOR_FIT
    return int(flags)


def parabola_errors(
    chi2_of: Callable[[np.ndarray], np.ndarray],
    labels: np.ndarray,
    free: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    label_names: Sequence[str],
    formal: np.ndarray,
    chi2: float,
    level: float,
    offsets: Sequence[float] = (-1.0, -0.5, 0.0, 0.5, 1.0),
) -> tuple[np.ndarray, int]:
    """The paper's χ²-parabola errors (eqs. 6, 7) of every free label.

    χ² is evaluated at ``len(offsets)`` points along each free label (all other parameters
    at the optimum), spaced by the expected half-width ``formal · sqrt((level − 1) χ²)``,
    and a parabola through them gives the half-width at ``level · χ²_min``.

    Parameters
    ----------
    chi2_of : callable
        ``rows (B, L) -> χ² (B,)`` at the optimum's RV and response.
    labels : numpy.ndarray, shape (L,)
        The optimum.
    free : numpy.ndarray of bool, shape (L,)
    lower, upper : numpy.ndarray, shape (L,)
        The box (points are kept inside it).
    label_names : sequence of str, length L
    formal : numpy.ndarray, shape (F,)
        :attr:`CovarianceErrors.formal`.
    chi2 : float
        χ² at the optimum.
    level : float
        χ²_1σ (:func:`zeta_payne.fitting.uncertainty.chi2_one_sigma`).
    offsets : sequence of float
        Points in units of the expected half-width.

    Returns
    -------
    errors : numpy.ndarray, shape (L,)
        NaN for fixed labels and non-convex curves.
    flags : int
        ``<label>_NONCONVEX_CHI2`` bits.
    """
    rows, values = parabola_points(labels, free, lower, upper, formal, chi2, level, offsets)
    return parabola_from_values(values, chi2_of(rows), free, label_names, level)


def parabola_points(
    labels: np.ndarray,
    free: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    formal: np.ndarray,
    chi2: float,
    level: float,
    offsets: Sequence[float] = (-1.0, -0.5, 0.0, 0.5, 1.0),
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The label vectors at which :func:`parabola_errors` evaluates χ².

    Returns
    -------
    rows : numpy.ndarray, shape (F · S, L)
        ``S = len(offsets)`` rows per free label, in label order.
    values : list of numpy.ndarray, shape (S,)
        The free label's value in its rows, one array per free label.
    """
    target = np.sqrt((level - 1.0) * chi2)
    width = upper - lower
    rows, values = [], []
    for k, i in enumerate(np.flatnonzero(free)):
        step = formal[k] * target if np.isfinite(formal[k]) and formal[k] > 0 else 0.01 * width[i]
        step = float(np.clip(step, 1e-6 * width[i], 0.25 * width[i]))
        pts = labels[i] + step * np.asarray(offsets)
        pts += max(0.0, lower[i] - pts.min()) - max(0.0, pts.max() - upper[i])
        for x in pts:
            row = labels.copy()
            row[i] = x
            rows.append(row)
        values.append(pts)
    return np.array(rows), values


def parabola_from_values(
    values: list[np.ndarray],
    chi: np.ndarray,
    free: np.ndarray,
    label_names: Sequence[str],
    level: float,
) -> tuple[np.ndarray, int]:
    """Parabola errors and non-convexity flags from χ² at :func:`parabola_points`.

    Parameters
    ----------
    values : list of numpy.ndarray, shape (S,)
        :func:`parabola_points`' second value.
    chi : numpy.ndarray, shape (F · S,)
        χ² at its rows.
    free : numpy.ndarray of bool, shape (L,)
    label_names : sequence of str, length L
    level : float
        χ²_1σ.

    Returns
    -------
    errors : numpy.ndarray, shape (L,)
    flags : int
    """
    errors = np.full(len(label_names), np.nan)
    flags = 0
    for k, i in enumerate(np.flatnonzero(free)):
        n_pts = len(values[k])
        par = parabola_error(values[k], chi[k * n_pts : (k + 1) * n_pts], level)
        errors[i] = par.error
        if not par.convex:
            flags |= label_flag(label_names[i], "nonconvex_chi2")
    return errors, int(flags)
