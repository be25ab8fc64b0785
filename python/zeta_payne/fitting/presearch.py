"""Pre-search: χ² of many candidates with the response solved linearly (variable projection)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from scipy.stats import qmc

__all__ = ["packed_products", "regularised_solve", "solve_response", "sobol_unit", "varpro_chi2"]

#: Relative ridges tried in turn where a normal matrix is not numerically positive definite.
RIDGE_LADDER = (1e-6, 1e-4, 1e-2)


def sobol_unit(n_dim: int, n_points: int, seed: int) -> np.ndarray:
    """Scrambled Sobol points in the unit cube, shape ``(n_points, n_dim)``."""
    sampler = qmc.Sobol(d=n_dim, scramble=True, seed=seed)
    m = int(np.ceil(np.log2(max(n_points, 2))))
    return sampler.random_base2(m)[:n_points]


def packed_products(design: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Upper-triangle products ``T_k T_l`` of the design columns.

    Parameters
    ----------
    design : torch.Tensor, shape (N, C)

    Returns
    -------
    products : torch.Tensor, shape (N, C(C+1)/2)
    rows, cols : torch.Tensor of int, shape (C(C+1)/2,)
    """
    c = design.shape[1]
    rows, cols = torch.triu_indices(c, c, device=design.device)
    return design[:, rows] * design[:, cols], rows, cols


def varpro_chi2(
    model: torch.Tensor,
    flux: torch.Tensor,
    weight: torch.Tensor,
    design: torch.Tensor,
    packed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ridge: float = 1e-9,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimum χ² over the response coefficients for a batch of normalised models.

    For every candidate ``j`` the response ``R = T c`` is linear in ``c``, so
    ``c_j = argmin Σ_i w_i (f_i − m_ji (T c)_i)²`` solves the normal equations
    ``(Tᵀ diag(w m_j²) T) c = Tᵀ diag(w m_j) f``, and ``χ²_j = Σ w f² − cᵀ b``.
    All candidates are handled as matrix products.

    Parameters
    ----------
    model : torch.Tensor, shape (J, N)
        Normalised model spectra (before the response).
    flux, weight : torch.Tensor, shape (N,)
        Observed flux and inverse variance.
    design : torch.Tensor, shape (N, C)
        Response design matrix.
    packed : tuple, optional
        :func:`packed_products` of ``design`` (pass it when calling repeatedly).
    ridge : float
        Relative Tikhonov regularisation of the normal matrices.

    Returns
    -------
    chi2 : torch.Tensor, shape (J,)
    coeffs : torch.Tensor, shape (J, C)
    """
    products, rows, cols = packed if packed is not None else packed_products(design)
    c = design.shape[1]
    wf = weight * flux
    normal_packed = (model * model) @ (products * weight[:, None])  # (J, C(C+1)/2)
    rhs = (model * wf) @ design  # (J, C)
    normal = torch.zeros((model.shape[0], c, c), dtype=model.dtype, device=model.device)
    normal[:, rows, cols] = normal_packed
    normal[:, cols, rows] = normal_packed
    coeffs, ok = regularised_solve(normal, rhs, ridge)
    chi2 = (wf * flux).sum() - (coeffs * rhs).sum(dim=1)
    chi2 = torch.where(ok, chi2, torch.full_like(chi2, float("inf")))
    return chi2, coeffs


def regularised_solve(
    normal: torch.Tensor, rhs: torch.Tensor, ridge: float = 1e-9
) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve a batch of symmetric normal equations by Cholesky with a relative ridge.

    Each matrix gets ``ridge × mean(diag)`` on its diagonal. Where its Cholesky factor
    fails (a response basis that is nearly degenerate on the pixels it sees, e.g. a
    spectrum with a wide gap, is not positive definite in float32), the solve is
    repeated with the larger ridges of :data:`RIDGE_LADDER` for those matrices only, so
    well-conditioned systems are solved exactly as before.

    Parameters
    ----------
    normal : torch.Tensor, shape (..., C, C)
    rhs : torch.Tensor, shape (..., C)
    ridge : float
        First relative ridge.

    Returns
    -------
    coeffs : torch.Tensor, shape (..., C)
    ok : torch.Tensor of bool, shape (...)
        Whether a factorisation succeeded (``coeffs`` are meaningless where not).
    """
    c = normal.shape[-1]
    eye = torch.eye(c, dtype=normal.dtype, device=normal.device)
    scale = torch.diagonal(normal, dim1=-2, dim2=-1).mean(dim=-1).clamp_min(1e-30)
    chol, info = torch.linalg.cholesky_ex(normal + (ridge * scale)[..., None, None] * eye)
    coeffs = torch.cholesky_solve(rhs.unsqueeze(-1), chol).squeeze(-1)
    ok = info == 0
    for larger in (r for r in RIDGE_LADDER if r > ridge):
        if bool(ok.all()):
            break
        bad = ~ok
        chol, info = torch.linalg.cholesky_ex(normal[bad] + (larger * scale[bad])[..., None, None] * eye)
        coeffs[bad] = torch.cholesky_solve(rhs[bad].unsqueeze(-1), chol).squeeze(-1)
        ok[bad] = info == 0
    return coeffs, ok


def solve_response(
    normalized: npt.ArrayLike, flux: npt.ArrayLike, weight: npt.ArrayLike, design: npt.ArrayLike
) -> tuple[np.ndarray, float]:
    """Exact (float64) weighted linear least squares for the response of one model.

    Returns
    -------
    coeffs : numpy.ndarray, shape (C,)
    chi2 : float
    """
    m = np.asarray(normalized, dtype=float)
    f = np.asarray(flux, dtype=float)
    sw = np.sqrt(np.asarray(weight, dtype=float))
    a = np.asarray(design, dtype=float) * (m * sw)[:, None]
    coeffs, *_ = np.linalg.lstsq(a, f * sw, rcond=None)
    resid = f * sw - a @ coeffs
    return coeffs, float(resid @ resid)
