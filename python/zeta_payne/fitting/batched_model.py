"""The forward model of many spectra at once, with exact Jacobians, in torch (float64).

The same model as :class:`~zeta_payne.model.forward.ForwardModel` (``S_v · C · NN(θ)``),
evaluated for a batch of spectra of different lengths, LSFs and wavelength grids, padded to
a common pixel count. Each spectrum's network rows run through the network on their own,
the last layer on the spectrum's own model-pixel window, then its own LSF band and Doppler
resampling as a sparse product and gathers — so no spectrum's model depends on its
batch-mates (the matrix kernels round differently by shape; an earlier form applied the last
layer once to the whole batch over the union of the windows and moved fits by up to an error
bar with the batch, ``docs/validation/diagnosis/repeatability``). CPU and CUDA run the same code.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS
from zeta_payne.model.emulator import NEGATIVE_SLOPE, Emulator
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.lsf import apply_composed, band_padded

__all__ = ["ROW_BLOCK", "BatchedForward", "keys_cubic", "log_doppler"]

#: Rows of one network evaluation (:meth:`BatchedForward.network_rows`): fixed, so that a
#: row's result does not depend on how many rows are evaluated with it.
ROW_BLOCK = 8


def log_doppler(beta: torch.Tensor) -> torch.Tensor:
    """``ln D = atanh β = ½ [ln(1 + β) − ln(1 − β)]`` of every element, float64.

    Each element by the same scalar routine (Python's ``math.log1p``): torch evaluates
    ``log1p`` with a vectorised routine on whole SIMD lanes and a scalar one on the tail, which
    round differently, so an element's value would depend on its position in the tensor —
    that is, on its batch-mates.

    Parameters
    ----------
    beta : torch.Tensor, shape (*)
        ``v / c``.

    Returns
    -------
    torch.Tensor, shape (*)
    """
    values = [0.5 * (math.log1p(b) - math.log1p(-b)) for b in beta.reshape(-1).tolist()]
    return torch.tensor(values, dtype=torch.float64, device=beta.device).reshape(beta.shape)


def keys_cubic(t: torch.Tensor, derivative: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Keys (a = −0.5) cubic weights and derivatives for fractional offsets ``t``.

    The torch twin of :func:`zeta_payne.model.lsf._keys_cubic`, as the four polynomials in
    ``t`` of the taps (no branches).

    Parameters
    ----------
    t : torch.Tensor, shape (*)
        Fractional positions in [0, 1).
    derivative : bool
        Also return the derivatives (else ``None``).

    Returns
    -------
    weights, derivatives : torch.Tensor, shape (*, 4)
        For the samples at offsets −1, 0, 1, 2 from ``floor(u)``; derivatives per unit ``u``.
    """
    t2 = t * t
    t3 = t2 * t
    w = torch.stack(
        [
            -0.5 * t3 + t2 - 0.5 * t,
            1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t,
            0.5 * t3 - 0.5 * t2,
        ],
        dim=-1,
    )
    if not derivative:
        return w, None
    dw = torch.stack(
        [-1.5 * t2 + 2.0 * t - 0.5, 4.5 * t2 - 5.0 * t, -4.5 * t2 + 4.0 * t + 0.5, 1.5 * t2 - t], dim=-1
    )
    return w, dw


class BatchedForward:
    """Normalised model and its Jacobian for a batch of spectra.

    Every spectrum's arithmetic has shapes fixed by that spectrum alone: the network runs on
    its own label rows and its own model-pixel window, then its own LSF band and Doppler
    resampling. So a spectrum's model does not change, to the last bit, with the spectra
    that share its batch (on a CPU; measured by ``tests/unit/test_batch_independence.py``).

    Parameters
    ----------
    models : sequence of ForwardModel
        One per spectrum (their windows, LSF bands, pixels and response designs are used).
    emulator64 : Emulator
        The float64 emulator on ``device``.
    device : torch.device or str
    emulator32 : Emulator, optional
        The float32 network ``emulator64`` was upcast from: its last layer takes the
        Jacobian's tangent columns and the float32 evaluations (the model itself stays float64).
    n_pad : int, optional
        Pixels every array is padded to (default: the longest spectrum's). Give one fixed by
        each spectrum's own length (:func:`~zeta_payne.fitting.batched.pixel_bucket`) so
        that sums over pixels do not depend on the batch.

    Attributes
    ----------
    n_pixels : torch.Tensor of int, shape (B,)
        Pixels of every spectrum; arrays are padded to ``n_max``.
    design : torch.Tensor, shape (B, N_max, C)
        Response design (zero rows in the padding).
    """

    def __init__(
        self,
        models: Sequence[ForwardModel],
        emulator64: Emulator,
        device: torch.device | str,
        emulator32: Emulator | None = None,
        n_pad: int | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.emulator = emulator64
        dtype = torch.float64
        grid = models[0].grid
        self.delta = float(grid.delta)
        b = len(models)
        longest = max(m.n_pixels for m in models)
        self.n_max = longest if n_pad is None else int(n_pad)
        if self.n_max < longest:
            raise ValueError(f"n_pad {n_pad} is shorter than the longest spectrum ({longest} pixels)")
        self.n_pixels = torch.tensor([m.n_pixels for m in models], device=self.device)
        loglam = np.zeros((b, self.n_max))
        design = np.zeros((b, self.n_max, models[0].design.shape[1]))
        self.n_window = np.array([m.n_window for m in models])
        self.window_loglam0 = np.array([m.window_loglam0 for m in models])
        for k, m in enumerate(models):
            loglam[k, : m.n_pixels] = m.loglam
            loglam[k, m.n_pixels :] = m.loglam[-1]
            design[k, : m.n_pixels] = m.design.cpu().numpy()
        self.loglam = torch.as_tensor(loglam, dtype=dtype, device=self.device)
        self.design = torch.as_tensor(design, dtype=dtype, device=self.device)
        self.mask = torch.arange(self.n_max, device=self.device)[None, :] < self.n_pixels[:, None]
        last = emulator64.layers[-1]
        self._w2 = last.weight.detach()
        self._b2 = last.bias.detach()
        # the float32 network's last layer (the float64 one is its exact upcast)
        self._w2_32 = self._b2_32 = None
        if emulator32 is not None:
            last32 = emulator32.layers[-1]
            if last32.weight.dtype == torch.float32:
                self._w2_32 = last32.weight.detach()
                self._b2_32 = last32.bias.detach()
        self._models = list(models)
        self._band_weights: dict[tuple[int, torch.dtype], torch.Tensor] = {}
        self._converted: dict[torch.dtype, tuple[torch.Tensor, torch.Tensor]] = {}
        self._n_window_t = torch.as_tensor(self.n_window, dtype=dtype, device=self.device)
        self._loglam0_t = torch.as_tensor(self.window_loglam0, dtype=dtype, device=self.device)

    # ------------------------------------------------------------------ pieces
    def hidden_and_tangent(
        self, labels: torch.Tensor, tangent: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Last hidden activations ``(R, H)`` and their label derivatives ``(R, L, H)``.

        Every product has the rows as its first (``M``) dimension, the form in which a row's
        result does not depend on the other rows of a product of the same shape.
        """
        emu = self.emulator
        z = emu.scale(labels)
        dz = None
        if tangent:
            width = (emu.x_max - emu.x_min).to(torch.float64)
            dz = torch.diag_embed((1.0 / width).expand(labels.shape[0], -1))  # (R, L, L_in)
        for layer in emu.layers[:-1]:
            pre = layer(z)
            if dz is not None:
                slope = torch.where(pre > 0, 1.0, NEGATIVE_SLOPE).to(torch.float64)
                r, n_lab, n_in = dz.shape
                dz = (dz.reshape(r * n_lab, n_in) @ layer.weight.T).reshape(r, n_lab, -1) * slope[:, None, :]
            z = torch.nn.functional.leaky_relu(pre, NEGATIVE_SLOPE)
        return z, dz

    def network_rows(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network on the whole model grid for every row, and its label derivatives.

        The hidden layers run row by row; the last layer in blocks of exactly
        :data:`ROW_BLOCK` rows (the last block filled up with copies of its last row), with
        the rows as the products' first dimension: a row's result is then the same whatever
        rows share its block — the form measured to be (the union-window form that ran all
        rows at once was not), at the cost of one read of the last layer per block.

        Parameters
        ----------
        labels : torch.Tensor, shape (R, L)
            All labels of every row, float64.

        Returns
        -------
        values : torch.Tensor, shape (R, P)
            The network's output, float64.
        tangents : torch.Tensor, shape (R, L, P)
            Its derivative with respect to every label, through the float32 last layer where
            there is one (relative error ~1e-7: the steps, not the χ² they are judged by).
        """
        r, n_lab = labels.shape
        w32 = self._w2_32 if self._w2_32 is not None else self._w2
        values = torch.empty((r, self._w2.shape[0]), dtype=torch.float64, device=self.device)
        tangents = torch.empty((r, n_lab, self._w2.shape[0]), dtype=w32.dtype, device=self.device)
        # the hidden layers row by row (small products; their kernels depend on the row's
        # position even at a fixed shape), the last layer in blocks
        rows = [self.hidden_and_tangent(labels[i : i + 1].clone()) for i in range(r)]
        for start in range(0, r, ROW_BLOCK):
            part = rows[start : start + ROW_BLOCK]
            n = len(part)
            part = part + [part[-1]] * (ROW_BLOCK - n)
            h = torch.cat([z for z, _ in part])
            dh = torch.cat([dz for _, dz in part])
            values[start : start + n] = torch.addmm(self._b2, h, self._w2.T)[:n]
            flat = dh.reshape(ROW_BLOCK * n_lab, -1).to(w32.dtype)
            tangents[start : start + n] = (flat @ w32.T).reshape(ROW_BLOCK, n_lab, -1)[:n]
        return values, tangents

    def _last_layer(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's last layer (weights ``(P, H)``, bias ``(P,)``) in ``dtype``: the
        float32 network's own for float32, else the float64 one converted (kept)."""
        if dtype == torch.float32 and self._w2_32 is not None:
            return self._w2_32, self._b2_32
        if dtype == torch.float64:
            return self._w2, self._b2
        if dtype not in self._converted:
            self._converted[dtype] = (self._w2.to(dtype), self._b2.to(dtype))
        return self._converted[dtype]

    def _composed(
        self, b: int, index: torch.Tensor, w: torch.Tensor, dw: torch.Tensor, rest: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``S_v C rest`` and ``(dS_v/du) C rest[:, 0]`` of spectrum ``b`` through composed bands.

        The Doppler cubic of every pixel is composed with the LSF rows it reads into one
        band of ``T + 3`` taps (four gathered LSF rows, shifted and weighted), applied to
        all columns of ``rest`` in one sparse product: ``N (T + 3) K`` multiply-adds, not
        ``P_w T K`` (the whole window convolved; 16× more rows than pixels for an
        authors'-format 57,800-pixel network under BOSS pixels) — 3× faster there, and no
        slower where the model grid is as coarse as the pixels.

        Parameters
        ----------
        b : int
            Spectrum (batch index).
        index : torch.Tensor of int, shape (N, 4)
            Window rows of the cubic's four taps (clipped into the window).
        w, dw : torch.Tensor, shape (N, 4)
            The cubic's weights and their derivatives per unit ``u`` (model pixels).
        rest : torch.Tensor, shape (P_w, K)
            Network outputs on the spectrum's window (column 0: the model).

        Returns
        -------
        values : torch.Tensor, shape (N, K)
        derivative : torch.Tensor, shape (N,)
            Of column 0, per unit ``u``.
        """
        model = self._models[b]
        key = (id(model.conv_band), rest.dtype)
        weights = self._band_weights.get(key)
        if weights is None:
            weights = torch.as_tensor(model.conv_band.weights, dtype=rest.dtype, device=self.device)
            self._band_weights[key] = weights
        value, derivative = apply_composed(weights, index, (w, dw), rest, columns=(None, 0))
        return value, derivative

    def _convolved_rows(
        self, b: int, taps: torch.Tensor, rest: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Spectrum ``b``'s LSF band applied only at the model pixels the cubic reads.

        The Doppler cubic reads four convolved model pixels per observed pixel; where the
        model grid is finer than the pixels (an authors'-format 57,800-pixel network under
        BOSS pixels: ~16 model pixels per pixel) most rows of ``C · rest`` are never read.
        Only the rows marked in ``taps`` are convolved (a row subset of the band as one
        sparse product), so the cost follows ``min(4 N, P_w) × T`` instead of ``P_w × T``.

        Parameters
        ----------
        b : int
            Spectrum (batch index).
        taps : torch.Tensor of int, shape (*)
            Window rows the cubic reads (any shape, repeats allowed).
        rest : torch.Tensor, shape (P_w, K)
            Network outputs on the spectrum's window.

        Returns
        -------
        rows : torch.Tensor, shape (M, K)
            ``(C · rest)`` at the ``M`` distinct rows read.
        where : torch.Tensor of int, shape like ``taps``
            Row of ``rows`` holding each entry of ``taps``.
        """
        model = self._models[b]
        n_win = model.n_window
        key = (id(model.conv_band), rest.dtype)
        weights = self._band_weights.get(key)
        if weights is None:
            weights = torch.as_tensor(model.conv_band.weights, dtype=rest.dtype, device=self.device)
            self._band_weights[key] = weights
        marked = torch.zeros(n_win, dtype=torch.bool, device=self.device)
        marked[taps.reshape(-1)] = True
        needed = torch.nonzero(marked).squeeze(1)
        slot = torch.cumsum(marked, 0) - 1
        m, t = needed.numel(), weights.shape[1]
        # the band is centred (row j starts at j − T//2): extend ``rest`` by its edge rows
        # instead of clipping columns (as ``BandOperator`` does)
        half = t // 2
        padded = band_padded(rest, half, t - half)
        cols = needed[:, None] + torch.arange(t, device=self.device)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
            band = torch.sparse_csr_tensor(
                torch.arange(0, m * t + 1, t, device=self.device),
                cols.reshape(-1),
                weights[needed].reshape(-1),
                size=(m, padded.shape[0]),
                check_invariants=False,
            )
        return band @ padded, slot[taps]

    # ------------------------------------------------------------------ public
    def normalized_columns(
        self, labels: torch.Tensor, v_rad: torch.Tensor, dtype: torch.dtype = torch.float64
    ) -> torch.Tensor:
        """Model before the response of ``K`` label vectors per spectrum, each at its own RV.

        The cheap form for many columns per spectrum (pre-search re-check, χ² parabolas):
        the network's last layer on each spectrum's window, the LSF band applied once to
        all its columns (one sparse product per spectrum), then each column's Doppler cubic
        as a four-tap gather — instead of a composed band per column (:meth:`normalized`).

        Parameters
        ----------
        labels : torch.Tensor, shape (B, K, L)
            All labels (fixed ones included) of ``K`` columns for every spectrum of the batch.
        v_rad : torch.Tensor, shape (B, K)
            Radial velocity of every column [km/s].
        dtype : torch.dtype
            Precision of the last layer, convolution and resampling (float32 for χ² scans,
            as the per-spectrum parabolas).

        Returns
        -------
        torch.Tensor, shape (B, K, N_max)
            Zero in the padding.
        """
        b, k, _ = labels.shape
        w2, b2 = self._last_layer(dtype)
        # Doppler resampling: Keys cubic at u = (lnλ − ln D(v) − lnλ0) / Δ on the window
        beta = v_rad.to(torch.float64) / SPEED_OF_LIGHT_KMS
        ln_d = log_doppler(beta)  # (B, K)
        u = (self.loglam[:, None, :] - ln_d[:, :, None] - self._loglam0_t[:, None, None]) / self.delta
        top = (self._n_window_t - 1.0)[:, None, None]
        u = torch.minimum(u.clamp_min(0.0), top)
        base = torch.floor(u)
        t = (u - base).to(dtype)
        t2 = t * t
        t3 = t2 * t
        weights = (
            -0.5 * t3 + t2 - 0.5 * t,
            1.5 * t3 - 2.5 * t2 + 1.0,
            -1.5 * t3 + 2.0 * t2 + 0.5 * t,
            0.5 * t3 - 0.5 * t2,
        )
        first = base.long()
        last = top.long()
        index = torch.stack(
            [torch.minimum((first + j).clamp_min(0), last) for j in range(-1, 3)], dim=-1
        )  # (B, K, N, 4)
        out = torch.zeros_like(t)
        n_pix = self.n_pixels.tolist()
        for i in range(b):
            n = n_pix[i]
            h, _ = self.hidden_and_tangent(labels[i], tangent=False)  # (K, H)
            lo, hi = self._models[i].j_lo, self._models[i].j_hi
            window = torch.addmm(b2[lo:hi, None], w2[lo:hi], h.to(dtype).T)  # (P_w, K)
            taps = index[i, :, :n]  # (K, n, 4)
            conv, where = self._convolved_rows(i, taps, window)  # (M, K)
            values = torch.gather(conv.T, 1, where.reshape(k, -1)).reshape(k, n, 4)
            out[i, :, :n] = sum(values[:, :, j] * weights[j][i, :, :n] for j in range(4))
        return out * self.mask[:, None, :]

    def normalized_and_jacobian(
        self, labels: torch.Tensor, v_rad: torch.Tensor, rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised model and its exact derivatives (labels, then RV).

        Returns
        -------
        normalized : torch.Tensor, shape (R, N_max)
        jacobian : torch.Tensor, shape (R, N_max, L + 1)
            ``d normalized / d label`` for every label, then ``d / d v_rad`` [per km/s];
            zero in the padding.
        """
        r, n_lab = labels.shape
        k = 1 + n_lab
        # the Doppler cubic's taps; the LSF band of each row applied once to all its columns,
        # at the model pixels those taps read (sparse), then the cubic and its RV derivative
        beta = v_rad / SPEED_OF_LIGHT_KMS
        ln_d = log_doppler(beta)
        top = (self._n_window_t[rows] - 1.0)[:, None]
        u = (self.loglam[rows] - ln_d[:, None] - self._loglam0_t[rows, None]) / self.delta
        u = torch.minimum(u.clamp_min(0.0), top)
        base = torch.floor(u)
        w, dw = keys_cubic(u - base)  # (R, N, 4)
        first, last = base.long(), top.long()
        index = torch.stack([torch.minimum((first + (j - 1)).clamp_min(0), last) for j in range(4)], dim=-1)
        n_all = u.shape[1]
        out = torch.zeros((r, n_all, k), dtype=torch.float64, device=self.device)
        dv = torch.zeros_like(u)
        n_pix = self.n_pixels[rows].tolist()
        values, tangents = self.network_rows(labels)
        for i, b in enumerate(rows.tolist()):
            n = n_pix[i]
            lo, hi = self._models[b].j_lo, self._models[b].j_hi
            window = torch.empty((hi - lo, k), dtype=torch.float64, device=self.device)
            window[:, 0] = values[i, lo:hi]
            window[:, 1:] = tangents[i, :, lo:hi].T
            out[i, :n], dv[i, :n] = self._composed(b, index[i, :n], w[i, :n], dw[i, :n], window)
        dlnd_dv = 1.0 / (SPEED_OF_LIGHT_KMS * (1.0 - beta * beta))
        dv = dv * (-dlnd_dv / self.delta)[:, None]
        mask = self.mask[rows]
        jac = torch.cat([out[:, :, 1:], dv[:, :, None]], dim=2) * mask[:, :, None]
        return out[:, :, 0] * mask, jac
