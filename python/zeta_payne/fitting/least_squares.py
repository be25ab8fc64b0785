"""One Trust-Region-Reflective least-squares driver for the fit's two stages.

Both stages (labels + RV with the response projected out, then labels + RV + response)
evaluate residual and Jacobian together; :func:`trf` caches that pair per parameter
vector, starts strictly inside the bounds and stops when an iteration lowers χ² by less
than an absolute tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult, least_squares

__all__ = ["Evaluation", "relative_ftol", "trf"]

#: ``evaluate(p) -> (residual (N,), jacobian (N, P), extra)``; ``extra`` is anything the
#: caller wants back at the solution (e.g. the linearly solved response).
Evaluation = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, Any]]


def relative_ftol(chi2_tolerance: float, chi2: float) -> float:
    """SciPy's relative ``ftol`` for an absolute χ² tolerance at χ² = ``chi2``.

    Clipped to [1e-12, 1e-3].
    """
    return float(np.clip(chi2_tolerance / max(chi2, 1e-300), 1e-12, 1e-3))


def trf(
    evaluate: Evaluation,
    start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    max_nfev: int,
    chi2_tolerance: float,
    x_scale: np.ndarray | str = "jac",
) -> tuple[OptimizeResult, Any]:
    """Minimise ``|residual(p)|²`` within bounds with ``scipy.optimize.least_squares`` (TRF).

    Parameters
    ----------
    evaluate : callable
        ``p (P,) -> (residual (N,), jacobian (N, P), extra)``, see :data:`Evaluation`.
    start : numpy.ndarray, shape (P,)
        Start; moved inside the bounds by 1e-6 of the span where it touches them.
    lower, upper : numpy.ndarray, shape (P,)
        Bounds (``±inf`` for none).
    max_nfev : int
        Evaluation limit.
    chi2_tolerance : float
        Stop when an iteration lowers χ² by less than this (absolute).
    x_scale : numpy.ndarray or "jac"
        Characteristic scale of each parameter.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
        ``x``, ``fun`` (residual), ``jac``, ``cost`` (χ²/2), ``status``, ``nfev``, ...
    extra : object
        ``evaluate``'s third value at ``result.x``.
    """
    cache: dict[str, Any] = {}

    def at(p: np.ndarray) -> dict[str, Any]:
        key = p.tobytes()
        if cache.get("key") != key:
            resid, jac, extra = evaluate(p)
            cache.update(key=key, resid=resid, jac=jac, extra=extra)
        return cache

    span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    x0 = np.clip(np.asarray(start, dtype=float), lower + 1e-6 * span, upper - 1e-6 * span)
    resid0 = at(x0)["resid"]
    result = least_squares(
        lambda p: at(p)["resid"],
        x0,
        jac=lambda p: at(p)["jac"],
        bounds=(lower, upper),
        method="trf",
        x_scale=x_scale,
        max_nfev=max_nfev,
        ftol=relative_ftol(chi2_tolerance, float(resid0 @ resid0)),
        xtol=1e-8,
    )
    return result, at(result.x)["extra"]
