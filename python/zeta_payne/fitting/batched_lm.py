"""A batched, bounded trust-region Levenberg–Marquardt least-squares solver in torch.

Every problem of the batch (one spectrum each) has its own parameters, trust radius, bounds,
evaluation count and convergence; only the problems still running are evaluated. A problem's
arithmetic does not depend on which others run beside it (on a CPU, to the last bit, given an
``evaluate`` that treats rows alone): the matrix products and the trust-region step run one
problem at a time on fresh copies (batched products take other kernels for other batch sizes
and memory alignments); what runs over the batch is elementwise or reduces within a row. The step
of each problem is the Levenberg–Marquardt step ``(JᵀJ + λ D²) p = −Jᵀr`` whose scaled norm
``|D p|`` fits the trust radius Δ (Moré's trust-region form: λ from the secular equation,
solved for all problems at once on the eigenvectors of their scaled normal matrix), and Δ
follows the ratio of the actual to the predicted χ² reduction, as SciPy's TRF does. A
rejected step therefore shrinks the next one to a quarter of its length at once, instead of
raising λ in fixed factors that barely shorten the step while λ is below the normal
matrix's small eigenvalues (the cause of fits that ran out of evaluations in a flat valley).

Bounds are kept by projection: parameters at a bound whose gradient points outwards are
frozen for the step (projected Gauss–Newton), and trial points are clipped into the box.
Scaling ``D`` is Marquardt's (``sqrt diag JᵀJ``, the running maximum, like
``x_scale="jac"`` of SciPy) or ``1 / x_scale``. A problem stops when an accepted step lowers
χ² by less than an absolute tolerance while the quadratic model predicted it well (ratio
above 1/4; SciPy's ``ftol`` of :func:`~zeta_payne.fitting.least_squares.trf`, status 2),
when the step is negligible (status 3), or at the evaluation limit (status 0, as SciPy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["BatchedEvaluation", "LMResult", "batched_lm", "trust_region_step"]

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
    last_gain : torch.Tensor, shape (B,)
        χ² gained by the last accepted step (``inf`` if none was accepted): what a problem
        stopped at the evaluation limit was still gaining.
    """

    x: torch.Tensor
    residual: torch.Tensor
    jacobian: torch.Tensor
    extra: torch.Tensor | None
    chi2: torch.Tensor
    chi2_start: torch.Tensor
    status: torch.Tensor
    nfev: torch.Tensor
    last_gain: torch.Tensor


def _own(t: torch.Tensor) -> torch.Tensor:
    """A fresh (aligned) copy of one problem's slice of a batch: the matrix kernels take
    other paths for operands at other memory alignments, so a problem's products must not
    depend on where in the batch it sits (also used by :mod:`~zeta_payne.fitting.batched`)."""
    return t.clone(memory_format=torch.contiguous_format)


def trust_region_step(
    normal: torch.Tensor, gradient: torch.Tensor, radius: torch.Tensor, iterations: int = 12
) -> torch.Tensor:
    """Scaled Levenberg–Marquardt steps of length at most ``radius`` for a batch.

    Solves ``(A + λ I) p = −g`` with the smallest ``λ ≥ 0`` such that ``|p| ≤ radius``
    (Moré's secular equation ``1/|p(λ)| = 1/radius``, Newton iterations on the eigenvectors
    of ``A``; a fixed number of them, no data-dependent branch).

    Parameters
    ----------
    normal : torch.Tensor, shape (R, P, P)
        Scaled normal matrices ``A`` (symmetric, positive semi-definite).
    gradient : torch.Tensor, shape (R, P)
        Scaled gradients ``g``.
    radius : torch.Tensor, shape (R,)
        Trust radii.
    iterations : int
        Newton iterations on λ.

    Returns
    -------
    torch.Tensor, shape (R, P)
    """
    s, v = torch.linalg.eigh(normal)
    s = s.clamp_min(0.0)
    gt = (v.transpose(1, 2) @ gradient[:, :, None]).squeeze(-1)  # (R, P)
    floor = 1e-12 * s.amax(dim=1, keepdim=True).clamp_min(1e-300)

    def norm_at(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = s + lam[:, None] + floor
        q = gt / d
        n2 = (q * q).sum(dim=1)
        dn2 = -2.0 * (q * q / d).sum(dim=1)  # d|p|²/dλ
        return n2, dn2

    lam = torch.zeros_like(radius)
    n2, dn2 = norm_at(lam)
    inside = n2 <= radius**2
    for _ in range(iterations):
        # ψ(λ) = 1/|p| − 1/Δ is close to linear in λ: Newton from below never overshoots
        norm = torch.sqrt(n2.clamp_min(1e-300))
        psi = 1.0 / norm - 1.0 / radius
        dpsi = -0.5 * dn2 / norm**3
        lam = torch.where(inside, lam, (lam - psi / dpsi.clamp_min(1e-300)).clamp_min(0.0))
        n2, dn2 = norm_at(lam)
    q = gt / (s + lam[:, None] + floor)
    step = -(v @ q[:, :, None]).squeeze(-1)
    # the Newton iterations end just outside at worst: scale onto the sphere
    norm = torch.linalg.vector_norm(step, dim=1)
    shrink = torch.where(norm > radius, radius / norm.clamp_min(1e-300), torch.ones_like(norm))
    return step * shrink[:, None]


def batched_lm(
    evaluate: BatchedEvaluation,
    start: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
    max_nfev: int,
    chi2_tolerance: float,
    xtol: float = 1e-8,
    x_scale: torch.Tensor | None = None,
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
        Stop when ``|step| < xtol · (xtol + |x|)`` (norms over the parameters, as SciPy).
    x_scale : torch.Tensor, shape (B, P), optional
        Characteristic scale of every parameter (SciPy's ``x_scale``); ``None``: the
        Jacobian's column norms (``x_scale="jac"``).

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
    last_gain = torch.full((b,), float("inf"), dtype=x.dtype, device=x.device)
    if x_scale is None:
        scale = torch.linalg.vector_norm(jac, dim=1).clamp_min(1e-300)  # D: running maximum
    else:
        scale = 1.0 / x_scale.to(x.dtype)
    radius = torch.linalg.vector_norm(x * scale, dim=1)
    radius = torch.where(radius > 0, radius, torch.ones_like(radius))
    status[nfev >= max_nfev] = 0
    status[~torch.isfinite(chi2)] = 3
    while True:
        rows = torch.nonzero(status < 0).squeeze(1)
        if rows.numel() == 0:
            break
        xa, ja, ra = x[rows], jac[rows], resid[rows]
        if x_scale is None:
            scale[rows] = torch.maximum(scale[rows], torch.linalg.vector_norm(ja, dim=1))
        d = scale[rows]
        # one problem at a time, each from its own fresh copy: the matrix kernels take other
        # paths for other batch shapes and other memory alignments of a row
        own = [(_own(j), _own(r)) for j, r in zip(ja, ra, strict=True)]
        a = torch.stack([j.T @ j for j, _ in own])
        g = torch.stack([j.T @ r for j, r in own])
        frozen = ((xa <= lower[rows]) & (g > 0)) | ((xa >= upper[rows]) & (g < 0))
        keep = (~frozen).to(a.dtype)
        a_s = a / (d[:, :, None] * d[:, None, :]) * keep[:, :, None] * keep[:, None, :]
        g_s = g / d * keep
        radii = radius[rows]
        step = torch.cat(
            [trust_region_step(_own(a_s[i : i + 1]), _own(g_s[i : i + 1]), _own(radii[i : i + 1]))
             for i in range(len(rows))]
        ) * keep / d
        trial = torch.minimum(torch.maximum(xa + step, lower[rows]), upper[rows])
        moved = trial - xa
        # χ² reduction the linear model predicts for the step actually taken
        quadratic = torch.stack([_own(m) @ (_own(ai) @ _own(m)) for ai, m in zip(a, moved, strict=True)])
        predicted = -(2.0 * (g * moved).sum(dim=1) + quadratic)
        r_new, j_new, e_new = evaluate(trial, rows)
        c_new = (r_new * r_new).sum(dim=1)
        nfev[rows] += 1
        gain = chi2[rows] - c_new
        gain = torch.where(torch.isfinite(gain), gain, torch.full_like(gain, -float("inf")))
        ratio = torch.where(predicted > 0, gain / predicted.clamp_min(1e-300), torch.full_like(gain, -1.0))
        accept = gain > 0
        acc = rows[accept]
        x[acc] = trial[accept]
        resid[acc] = r_new[accept]
        jac[acc] = j_new[accept]
        if extra is not None:
            extra[acc] = e_new[accept]
        chi2[acc] = c_new[accept]
        last_gain[acc] = gain[accept]
        step_norm = torch.linalg.vector_norm(moved * d, dim=1)
        r_old = radius[rows]
        r_new_radius = torch.where(
            ratio < 0.25,
            0.25 * step_norm,
            torch.where((ratio > 0.75) & (step_norm >= 0.95 * r_old), 2.0 * r_old, r_old),
        )
        radius[rows] = r_new_radius
        tiny = torch.linalg.vector_norm(moved, dim=1) <= xtol * (xtol + torch.linalg.vector_norm(xa, dim=1))
        done_f = accept & (gain < chi2_tolerance) & (ratio > 0.25)
        # no step left: the trust radius collapsed
        stalled = r_new_radius <= 1e-12 * (1.0 + torch.linalg.vector_norm(xa * d, dim=1))
        new_status = torch.full_like(rows, -1)
        new_status[tiny | stalled] = 3
        new_status[done_f] = 2
        new_status[(new_status < 0) & (nfev[rows] >= max_nfev)] = 0
        status[rows] = new_status
    return LMResult(x, resid, jac, extra, chi2, chi2_start, status, nfev, last_gain)
