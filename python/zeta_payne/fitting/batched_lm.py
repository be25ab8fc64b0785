"""A batched, bounded Levenberg–Marquardt least-squares solver in torch.

Every problem of the batch (one spectrum each) has its own parameters, damping, bounds,
evaluation count and convergence; only the problems still running are evaluated. Bounds are
kept by projection: parameters at a bound whose gradient points outwards are frozen for the
step (projected Gauss–Newton), and trial points are clipped into the box. Scaling is
Marquardt's (``diag JᵀJ``), like ``x_scale="jac"`` of SciPy. A problem stops when an
accepted step lowers χ² by less than an absolute tolerance (SciPy's ``ftol`` of
:func:`~zeta_payne.fitting.least_squares.trf`, status 2), when the step is negligible
(status 3), or at the evaluation limit (status 0, as SciPy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["BatchedEvaluation", "LMResult", "batched_lm"]

#: ``evaluate(x (R, P), rows (R,)) -> (residual (R, N), jacobian (R, N, P), extra)``:
#: the problems ``rows`` of the batch at ``x``; ``extra`` is a tensor with a leading ``R``
#: axis (or ``None``) that is returned at the solution.
BatchedEvaluation = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, Any]]


@dataclass
class LMResult:
    """Solutions of a batch.

    Attributes
    ----------
    x : torch.Tensor, shape (B, P)
    residual : torch.Tensor, shape (B, N)
    jacobian : torch.Tensor, shape (B, N, P)
    extra : torch.Tensor or None, shape (B, ...)
    chi2, chi2_start : torch.Tensor, shape (B,)
        At the solution and at the start.
    status : torch.Tensor of int, shape (B,)
        0 evaluation limit, 2 χ² tolerance, 3 step tolerance.
    nfev : torch.Tensor of int, shape (B,)
    """

    x: torch.Tensor
    residual: torch.Tensor
    jacobian: torch.Tensor
    extra: torch.Tensor | None
    chi2: torch.Tensor
    chi2_start: torch.Tensor
    status: torch.Tensor
    nfev: torch.Tensor


def _step(jac: torch.Tensor, resid: torch.Tensor, lam: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
    """Damped Gauss–Newton steps ``(R, P)`` with frozen parameters held still."""
    a = jac.transpose(1, 2) @ jac
    g = (jac.transpose(1, 2) @ resid[:, :, None]).squeeze(-1)
    scale = torch.sqrt(torch.diagonal(a, dim1=1, dim2=2).clamp_min(1e-300))
    a_s = a / (scale[:, :, None] * scale[:, None, :])
    g_s = g / scale
    keep = (~frozen).to(a.dtype)
    a_s = a_s * keep[:, :, None] * keep[:, None, :]
    eye = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
    system = a_s + eye * (lam[:, None, None] * keep[:, None, :] + (1.0 - keep)[:, None, :])
    chol, info = torch.linalg.cholesky_ex(system)
    step_s = torch.cholesky_solve(-(g_s * keep)[:, :, None], chol).squeeze(-1)
    bad = info != 0
    if bad.any():  # not positive definite: a plain scaled gradient step
        step_s[bad] = -(g_s * keep)[bad] / (1.0 + lam[bad, None])
    return step_s / scale


def batched_lm(
    evaluate: BatchedEvaluation,
    start: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
    max_nfev: int,
    chi2_tolerance: float,
    xtol: float = 1e-8,
) -> LMResult:
    """Minimise ``|residual_b(x_b)|²`` for every problem ``b`` of a batch within bounds.

    Parameters
    ----------
    evaluate : callable
        See :data:`BatchedEvaluation`.
    start : torch.Tensor, shape (B, P)
        Starts; moved inside the bounds by 1e-6 of the span where they touch them.
    lower, upper : torch.Tensor, shape (B, P)
        Bounds (``±inf`` for none).
    max_nfev : int
        Evaluation limit per problem.
    chi2_tolerance : float
        Stop when an accepted step lowers χ² by less than this (absolute).
    xtol : float
        Stop when the step is below ``xtol · (xtol + |x|)`` in every parameter.

    Returns
    -------
    LMResult
    """
    finite = torch.isfinite(upper - lower)
    span = torch.where(finite, upper - lower, torch.ones_like(upper))
    x = torch.minimum(torch.maximum(start, lower + 1e-6 * span), upper - 1e-6 * span)
    b = x.shape[0]
    all_rows = torch.arange(b, device=x.device)
    resid, jac, extra = evaluate(x, all_rows)
    chi2 = (resid * resid).sum(dim=1)
    chi2_start = chi2.clone()
    nfev = torch.ones(b, dtype=torch.long, device=x.device)
    status = torch.full((b,), -1, dtype=torch.long, device=x.device)
    lam = torch.full((b,), 1e-3, dtype=x.dtype, device=x.device)
    status[nfev >= max_nfev] = 0
    while True:
        rows = torch.nonzero(status < 0).squeeze(1)
        if rows.numel() == 0:
            break
        xa, ja, ra = x[rows], jac[rows], resid[rows]
        g = (ja.transpose(1, 2) @ ra[:, :, None]).squeeze(-1)
        at_lower = (xa <= lower[rows]) & (g > 0)
        at_upper = (xa >= upper[rows]) & (g < 0)
        step = _step(ja, ra, lam[rows], at_lower | at_upper)
        trial = torch.minimum(torch.maximum(xa + step, lower[rows]), upper[rows])
        moved = trial - xa
        r_new, j_new, e_new = evaluate(trial, rows)
        c_new = (r_new * r_new).sum(dim=1)
        nfev[rows] += 1
        gain = chi2[rows] - c_new
        accept = torch.isfinite(c_new) & (gain > 0)
        acc = rows[accept]
        x[acc] = trial[accept]
        resid[acc] = r_new[accept]
        jac[acc] = j_new[accept]
        if extra is not None:
            extra[acc] = e_new[accept]
        chi2[acc] = c_new[accept]
        lam[rows] = torch.where(accept, (lam[rows] / 3.0).clamp_min(1e-12), lam[rows] * 4.0)
        tiny = (moved.abs() <= xtol * (xtol + xa.abs())).all(dim=1)
        done_f = accept & (gain < chi2_tolerance)
        # a rejected step from a point whose model predicts less than the tolerance
        stalled = ~accept & (lam[rows] > 1e10)
        new_status = torch.full_like(rows, -1)
        new_status[tiny | stalled] = 3
        new_status[done_f] = 2
        new_status[(new_status < 0) & (nfev[rows] >= max_nfev)] = 0
        status[rows] = new_status
    return LMResult(x, resid, jac, extra, chi2, chi2_start, status, nfev)
