"""One batch's least-squares problem: the padded data and the residuals of both stages.

:class:`~zeta_payne.fitting.batched.BatchedFit` fits a pixel group of spectra at once in two
Levenberg–Marquardt stages (:func:`~zeta_payne.fitting.batched_lm.batched_lm`):

1. **projected** — parameters ``[free labels, RV]``; at every step each row's response
   (Chebyshev coefficients) is solved linearly and projected out of the residuals and the
   Jacobian (variable projection);
2. **polish** — parameters ``[free labels, RV, response coefficients]``, the per-spectrum
   fitter's full problem.

A *row* is one start of one spectrum: the first ``B`` rows are the spectra's best starts,
further rows their restarts in other basins (``spectrum_of`` maps rows to spectra). Every
row is computed on its own pixels, with no padding and no batch-mate in any matrix product
(``_own``), so a spectrum's fit does not depend on its batch.

Numerical code only: no I/O, no configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from zeta_payne.fitting.batched_lm import _own
from zeta_payne.fitting.batched_model import BatchedForward
from zeta_payne.fitting.batched_presearch import product_moments, varpro_chi2_moments
from zeta_payne.fitting.preparation import Prepared

__all__ = ["BatchProblem"]

Residuals = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


class BatchProblem:
    """The padded data of ``B`` prepared spectra and the residual functions of both stages.

    Parameters
    ----------
    batch : BatchedForward
        The spectra's forward models, padded to ``N`` pixels.
    preps : sequence of Prepared, length B
        The prepared spectra (flux and weight on the fitted pixels).
    free : ndarray of bool, shape (L,)
        Which labels are fitted.
    fixed_values : ndarray, shape (L,)
        The values of the labels that are not (the free entries are ignored).
    """

    def __init__(
        self, batch: BatchedForward, preps: Sequence[Prepared], free: np.ndarray, fixed_values: np.ndarray
    ) -> None:
        dev, f64 = batch.design.device, torch.float64
        self.batch = batch
        self.device = dev
        self.n_pix = [p.flux.size for p in preps]
        n = len(preps)
        self.flux = torch.zeros((n, batch.n_max), dtype=f64, device=dev)  # (B, N)
        self.weight = torch.zeros_like(self.flux)  # (B, N), 0 on padding
        for b, prep in enumerate(preps):
            self.flux[b, : prep.flux.size] = torch.as_tensor(prep.flux, device=dev)
            self.weight[b, : prep.weight.size] = torch.as_tensor(prep.weight, device=dev)
        self.sw = torch.sqrt(self.weight)
        self.swf = self.sw * self.flux
        self.free = torch.as_tensor(free, device=dev)
        self.fixed = torch.as_tensor(fixed_values, dtype=f64, device=dev)
        self.n_free = int(free.sum())
        # Jacobian columns of the forward model kept: the free labels and the RV
        self.columns = torch.as_tensor(np.concatenate([np.flatnonzero(free), [len(free)]]), device=dev)
        self.spectrum_of = torch.arange(n, device=dev)  # (R,): the spectrum of each row

    @property
    def n_coeffs(self) -> int:
        """Response coefficients per spectrum."""
        return int(self.batch.design.shape[2])

    def add_rows(self, owner: Sequence[int]) -> None:
        """Rows beyond the first ``B``, one per further start, of the spectra ``owner``."""
        n = self.flux.shape[0]
        self.spectrum_of = torch.as_tensor(list(range(n)) + list(owner), device=self.device)

    def full_labels(self, x: torch.Tensor) -> torch.Tensor:
        """All labels ``(R, L)`` from parameter rows ``x`` whose first columns are the free labels."""
        labels = self.fixed.expand(x.shape[0], -1).clone()
        labels[:, self.free] = x[:, : self.n_free]
        return labels

    def presearch_chi2(
        self, stride: int, n_chebyshev: int
    ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The per-spectrum pre-search's own criterion, exactly (float64 χ²).

        Returns a function of candidates' labels ``(B, K, L)`` and RVs ``(B, K)`` [km/s] that
        gives their χ² ``(B, K)`` on every ``stride``-th pixel with the response solved by the
        normal equations; the model in float32 (errors ~1e-7 move χ² by ~1e-3).
        """
        batch = self.batch
        design_s = batch.design[:, ::stride].contiguous()
        moments_s, maps_s = product_moments(design_s, n_chebyshev)
        flux_s, weight_s = self.flux[:, ::stride].contiguous(), self.weight[:, ::stride].contiguous()

        def chi2(labels: torch.Tensor, v_rad: torch.Tensor) -> torch.Tensor:
            model = batch.normalized_columns(labels, v_rad, dtype=torch.float32)[:, :, ::stride].double()
            arrays = (model, flux_s, weight_s, design_s, moments_s)
            parts = [  # each spectrum alone
                varpro_chi2_moments(*(_own(t[b : b + 1]) for t in arrays), maps_s)
                for b in range(model.shape[0])
            ]
            return torch.cat(parts)

        return chi2

    def projected(self, x: torch.Tensor, rows: torch.Tensor) -> Residuals:
        """Stage 1: weighted residuals ``(R, N)``, Jacobian ``(R, N, F + 1)`` and the solved
        response coefficients ``(R, C)`` of parameter rows ``x = [free labels, RV]``."""
        rows = self.spectrum_of[rows]
        batch, columns = self.batch, self.columns
        norm, dnorm = batch.normalized_and_jacobian(self.full_labels(x), x[:, -1], rows)
        resid = torch.zeros_like(norm)
        jac = torch.zeros((len(rows), norm.shape[1], len(columns)), dtype=torch.float64, device=self.device)
        coeffs = torch.empty((len(rows), self.n_coeffs), dtype=torch.float64, device=self.device)
        for i, b in enumerate(rows.tolist()):
            m = self.n_pix[b]
            s, design, target = _own(self.sw[b, :m]), _own(batch.design[b, :m]), _own(self.swf[b, :m])
            a = design * (s * norm[i, :m])[:, None]
            q, r = torch.linalg.qr(a)
            proj = q.T @ target
            c = _triangular_solve(r, proj, a, target)
            coeffs[i] = c
            resid[i, :m] = q @ proj - target
            d = (s * (design @ c))[:, None] * dnorm[i, :m][:, columns]
            jac[i, :m] = d - q @ (q.T @ d)
        return resid, jac, coeffs

    def polish(self, x: torch.Tensor, rows: torch.Tensor) -> Residuals:
        """Stage 2: weighted residuals ``(R, N)`` and Jacobian ``(R, N, F + 1 + C)`` of
        parameter rows ``x = [free labels, RV, response coefficients]``."""
        rows = self.spectrum_of[rows]
        batch, n_free = self.batch, self.n_free
        norm, dnorm = batch.normalized_and_jacobian(self.full_labels(x), x[:, n_free], rows)
        resp = torch.stack(
            [_own(batch.design[b]) @ _own(x[i, n_free + 1 :]) for i, b in enumerate(rows.tolist())]
        )
        s = self.sw[rows]
        resid = s * (norm * resp - self.flux[rows])
        design = batch.design[rows]
        jac = torch.cat([dnorm[:, :, self.columns] * resp[:, :, None], design * norm[:, :, None]], dim=2)
        return resid, jac * s[:, :, None], None

    def chi2_at(self, labels: torch.Tensor, v_rad: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
        """χ² ``(B, S)`` of ``S`` label rows per spectrum (``labels`` (B, S, L)) at each
        spectrum's RV ``(B,)`` [km/s] and response ``(B, C)``; the model in float32, as the
        per-spectrum χ² parabolas."""
        batch = self.batch
        v_cols = v_rad[:, None].expand(-1, labels.shape[1])
        norm = batch.normalized_columns(labels, v_cols, dtype=torch.float32).double()  # (B, S, N)
        return torch.stack(
            [  # each spectrum alone
                (
                    ((norm[b] * (_own(batch.design[b]) @ _own(coeffs[b])) - self.flux[b]) ** 2)
                    * self.weight[b]
                ).sum(dim=1)
                for b in range(labels.shape[0])
            ]
        )


def _triangular_solve(r: torch.Tensor, rhs: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``R⁻¹ rhs`` (``r`` (C, C), ``rhs`` (C,)); the least squares of ``a x = b`` where ``R``
    is singular."""
    if bool((torch.diagonal(r).abs() > 0).all()):
        return torch.linalg.solve_triangular(r, rhs[:, None], upper=True).squeeze(-1)
    return torch.linalg.pinv(a) @ b
