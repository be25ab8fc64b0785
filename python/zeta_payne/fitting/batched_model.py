"""The forward model of many spectra at once, with exact Jacobians, in torch (float64).

The same model as :class:`~zeta_payne.model.forward.ForwardModel` (``S_v · C · NN(θ)``),
evaluated for a batch of spectra of different lengths, LSFs and wavelength grids, padded to
a common pixel count. The network's last layer is applied once for the whole batch over the
union of the spectra's model-pixel windows (one matrix product that reads ``W2`` once, the
cost that dominates one spectrum's evaluation); each spectrum's own LSF band and Doppler
resampling follow as shifted multiply-adds and gathers, so CPU and CUDA run the same code.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS
from zeta_payne.model.emulator import NEGATIVE_SLOPE, Emulator
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.lsf import apply_composed, band_padded

__all__ = ["BatchedForward", "keys_cubic"]


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
    ) -> None:
        self.device = torch.device(device)
        self.emulator = emulator64
        dtype = torch.float64
        grid = models[0].grid
        self.delta = float(grid.delta)
        b = len(models)
        self.j_lo = min(m.j_lo for m in models)
        self.j_hi = max(m.j_hi for m in models)
        self.n_union = self.j_hi - self.j_lo
        self.n_max = max(m.n_pixels for m in models)
        self.n_pixels = torch.tensor([m.n_pixels for m in models], device=self.device)
        self.half = max(m.conv_band.weights.shape[1] // 2 for m in models)
        loglam = np.zeros((b, self.n_max))
        design = np.zeros((b, self.n_max, models[0].design.shape[1]))
        self.offset = np.array([m.j_lo - self.j_lo for m in models])
        self.n_window = np.array([m.n_window for m in models])
        self.window_loglam0 = np.array([m.window_loglam0 for m in models])
        for k, m in enumerate(models):
            loglam[k, : m.n_pixels] = m.loglam
            loglam[k, m.n_pixels :] = m.loglam[-1]
            design[k, : m.n_pixels] = m.design.cpu().numpy()
        self._conv_flat_t: torch.Tensor | None = None
        self.loglam = torch.as_tensor(loglam, dtype=dtype, device=self.device)
        self.design = torch.as_tensor(design, dtype=dtype, device=self.device)
        self.mask = torch.arange(self.n_max, device=self.device)[None, :] < self.n_pixels[:, None]
        last = emulator64.layers[-1]
        self._w2 = last.weight.detach()[self.j_lo : self.j_hi]
        self._b2 = last.bias.detach()[self.j_lo : self.j_hi]
        # the float32 network's last layer (the float64 one is its exact upcast), a view
        self._w2_32 = self._b2_32 = None
        if emulator32 is not None:
            last32 = emulator32.layers[-1]
            if last32.weight.dtype == torch.float32:
                self._w2_32 = last32.weight.detach()[self.j_lo : self.j_hi]
                self._b2_32 = last32.bias.detach()[self.j_lo : self.j_hi]
        self._models = list(models)
        self._conv_csr: dict[torch.dtype, list[torch.Tensor]] = {}
        self._band_weights: dict[tuple[int, torch.dtype], torch.Tensor] = {}
        self._offset_t = torch.as_tensor(self.offset, device=self.device)
        self._n_window_t = torch.as_tensor(self.n_window, dtype=dtype, device=self.device)
        self._loglam0_t = torch.as_tensor(self.window_loglam0, dtype=dtype, device=self.device)

    # ------------------------------------------------------------------ pieces
    def hidden_and_tangent(
        self, labels: torch.Tensor, tangent: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Last hidden activations ``(R, H)`` and their label derivatives ``(R, H, L)``."""
        emu = self.emulator
        z = emu.scale(labels)
        dz = None
        if tangent:
            width = (emu.x_max - emu.x_min).to(torch.float64)
            dz = torch.diag_embed((1.0 / width).expand(labels.shape[0], -1))  # (R, L, L)
        for layer in emu.layers[:-1]:
            pre = layer(z)
            if dz is not None:
                slope = torch.where(pre > 0, 1.0, NEGATIVE_SLOPE).to(torch.float64)
                dz = torch.matmul(layer.weight, dz) * slope[:, :, None]
            z = torch.nn.functional.leaky_relu(pre, NEGATIVE_SLOPE)
        return z, dz

    def _rest(self, columns: torch.Tensor, bias: bool, tangent_columns: bool = False) -> torch.Tensor:
        """``W2 x [+ b2]`` on the union window for every row, zero-padded, ``(R, P_u + pad, K)``.

        ``columns`` is ``(R, H, K)``: hidden vectors (and tangents) to push through the last
        layer, as one matrix product for the whole batch; the bias is added to column 0, and
        to the others too unless they are ``tangent_columns``.
        """
        r, h, k = columns.shape
        rest = self._w2 @ columns.permute(1, 0, 2).reshape(h, r * k)
        rest = rest.reshape(-1, r, k).permute(1, 0, 2)
        if bias:
            rest = rest.clone()
            rest[:, :, 0] += self._b2
            if k > 1 and not tangent_columns:
                rest[:, :, 1:] += self._b2[:, None]
        return torch.nn.functional.pad(rest, (0, 0, self.half, self.half + 3)).contiguous()

    def _bands(
        self, v_rad: torch.Tensor, rows: torch.Tensor, derivative: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Doppler resampling composed with the LSF band: ``S_v · C`` for every row.

        The window of every spectrum reaches three pixels and a kernel half-width beyond
        the RVs its fit may take (:class:`ForwardModel`), so the cubic's taps never need
        the edge folding of :func:`~zeta_payne.model.lsf.resampling_band` there.

        Returns
        -------
        weights : torch.Tensor, shape (R, N, T + 3)
            Weights of the composed band of every observed pixel.
        dweights : torch.Tensor or None, shape (R, N, T + 3)
            Their derivative with respect to ``v`` [per km/s].
        first : torch.Tensor of int, shape (R, N)
            Index of the band's first tap in :meth:`_rest`'s padded rows.
        """
        beta = v_rad / SPEED_OF_LIGHT_KMS
        ln_d = 0.5 * (torch.log1p(beta) - torch.log1p(-beta))
        n_win = self._n_window_t[rows]
        u = (self.loglam[rows] - ln_d[:, None] - self._loglam0_t[rows, None]) / self.delta
        u = torch.minimum(u.clamp_min(0.0), (n_win - 1.0)[:, None])
        base = torch.floor(u)
        w, dw = keys_cubic(u - base, derivative)
        first = base.long() - 1 + self._offset_t[rows, None]  # union column of the first cubic tap
        first = first.clamp(0, self.n_union - 4)
        taps = 2 * self.half + 1
        flat = rows[:, None] * self.n_union + first
        shape = (u.shape[0], u.shape[1], taps + 3)
        weights = torch.zeros(shape, dtype=u.dtype, device=u.device)
        dweights = torch.zeros(shape, dtype=u.dtype, device=u.device) if derivative else None
        for j in range(4):
            band = self._conv_flat[flat + j]  # (R, N, T)
            weights[:, :, j : j + taps].addcmul_(w[:, :, j, None], band)
            if dweights is not None:
                dweights[:, :, j : j + taps].addcmul_(dw[:, :, j, None], band)
        if dweights is not None:
            dlnd_dv = 1.0 / (SPEED_OF_LIGHT_KMS * (1.0 - beta**2))
            dweights = dweights * (-dlnd_dv / self.delta)[:, None, None]
        return weights, dweights, first

    def _apply(self, weights: torch.Tensor, first: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """``Σ_τ weights[..., τ] · rest[first + τ]`` for every row, ``(R, N, K)`` (one sparse product)."""
        r, n, t = weights.shape
        p = rest.shape[1]
        crow = torch.arange(0, r * n * t + 1, t, device=weights.device)
        col = (torch.arange(r, device=weights.device)[:, None, None] * p + first[:, :, None]) + torch.arange(
            t, device=weights.device
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
            band = torch.sparse_csr_tensor(
                crow, col.reshape(-1), weights.reshape(-1), size=(r * n, r * p), check_invariants=False
            )
        return (band @ rest.reshape(r * p, -1)).reshape(r, n, -1)

    @property
    def _conv_flat(self) -> torch.Tensor:
        """Rows of every spectrum's LSF band on the union window, flattened ``(B · P_u, T)``
        (built on first use: only :meth:`normalized` composes bands)."""
        if self._conv_flat_t is None:
            taps = 2 * self.half + 1
            conv = np.zeros((len(self._models), self.n_union, taps))
            for k, m in enumerate(self._models):
                w = m.conv_band.weights
                h = w.shape[1] // 2  # convolution_band: start = row − half, centred taps
                conv[k, self.offset[k] : self.offset[k] + m.n_window, self.half - h : self.half + h + 1] = w
            self._conv_flat_t = torch.as_tensor(
                conv.reshape(-1, taps), dtype=torch.float64, device=self.device
            )
        return self._conv_flat_t

    def _convolutions(self, dtype: torch.dtype) -> list[torch.Tensor]:
        """Every spectrum's LSF band on its window as a sparse CSR ``(P_w, P_w)`` tensor.

        The float64 ones are the forward models' own; other precisions share their indices.
        """
        if dtype not in self._conv_csr:
            own = [m._conv64 for m in self._models]
            if dtype == torch.float64:
                self._conv_csr[dtype] = own
            else:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
                    self._conv_csr[dtype] = [
                        torch.sparse_csr_tensor(
                            c.crow_indices(), c.col_indices(), c.values().to(dtype), size=c.shape
                        )
                        for c in own
                    ]
        return self._conv_csr[dtype]

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
        b, k, n_lab = labels.shape
        h, _ = self.hidden_and_tangent(labels.reshape(b * k, n_lab), tangent=False)
        if dtype == torch.float32 and self._w2_32 is not None:
            w2, b2 = self._w2_32, self._b2_32
        else:
            w2, b2 = self._w2.to(dtype), self._b2.to(dtype)
        rest = torch.addmm(b2[:, None], w2, h.to(dtype).T).reshape(self.n_union, b, k)  # (P_u, B, K)
        # Doppler resampling: Keys cubic at u = (lnλ − ln D(v) − lnλ0) / Δ on the window
        beta = v_rad.to(torch.float64) / SPEED_OF_LIGHT_KMS
        ln_d = 0.5 * (torch.log1p(beta) - torch.log1p(-beta))  # (B, K)
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
            lo, n_win, n = int(self.offset[i]), int(self.n_window[i]), n_pix[i]
            taps = index[i, :, :n]  # (K, n, 4)
            conv, where = self._convolved_rows(i, taps, rest[lo : lo + n_win, i].contiguous())  # (M, K)
            values = torch.gather(conv.T, 1, where.reshape(k, -1)).reshape(k, n, 4)
            out[i, :, :n] = sum(values[:, :, j] * weights[j][i, :, :n] for j in range(4))
        return out * self.mask[:, None, :]

    def normalized(self, labels: torch.Tensor, v_rad: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Model before the response for label rows of given spectra.

        Parameters
        ----------
        labels : torch.Tensor, shape (R, L) or (R, S, L)
            All labels (fixed ones included), float64; with ``S``, several label vectors
            per row share its RV (one resampling band for all of them).
        v_rad : torch.Tensor, shape (R,)
            Radial velocities [km/s].
        rows : torch.Tensor of int, shape (R,)
            The spectrum (batch index) of every row.

        Returns
        -------
        torch.Tensor, shape (R, N_max) or (R, S, N_max)
            Zero in the padding.
        """
        grouped = labels.dim() == 3
        flat = labels.reshape(-1, labels.shape[-1])
        h, _ = self.hidden_and_tangent(flat, tangent=False)
        h = h.reshape(labels.shape[0], -1, h.shape[-1]).transpose(1, 2)  # (R, H, S)
        rest = self._rest(h, bias=True)
        weights, _, first = self._bands(v_rad, rows, derivative=False)
        out = self._apply(weights, first, rest).transpose(1, 2) * self.mask[rows][:, None, :]
        return out if grouped else out[:, 0]

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
        h, dh = self.hidden_and_tangent(labels)
        r, n_hidden, n_lab = dh.shape
        k = 1 + n_lab
        if self._w2_32 is None:
            columns = torch.cat([h[:, :, None], dh], dim=2)  # (R, H, 1 + L)
            rest = (self._w2 @ columns.permute(1, 0, 2).reshape(n_hidden, r * k)).reshape(-1, r, k)
            rest[:, :, 0] += self._b2[:, None]
        else:
            # the model in float64; its label derivatives through the float32 last layer
            # (relative error ~1e-7: the steps, not the χ² they are judged by)
            tangents = self._w2_32 @ dh.to(torch.float32).permute(1, 0, 2).reshape(n_hidden, r * n_lab)
            rest = torch.empty((self.n_union, r, k), dtype=torch.float64, device=self.device)
            torch.addmm(self._b2[:, None], self._w2, h.T, out=rest[:, :, 0])
            rest[:, :, 1:] = tangents.reshape(-1, r, n_lab)
        # the Doppler cubic's taps; the LSF band of each row applied once to all its columns,
        # at the model pixels those taps read (sparse), then the cubic and its RV derivative
        beta = v_rad / SPEED_OF_LIGHT_KMS
        ln_d = 0.5 * (torch.log1p(beta) - torch.log1p(-beta))
        top = (self._n_window_t[rows] - 1.0)[:, None]
        u = (self.loglam[rows] - ln_d[:, None] - self._loglam0_t[rows, None]) / self.delta
        u = torch.minimum(u.clamp_min(0.0), top)
        base = torch.floor(u)
        w, dw = keys_cubic(u - base)  # (R, N, 4)
        first, last = base.long(), top.long()
        index = torch.stack([torch.minimum((first + (j - 1)).clamp_min(0), last) for j in range(4)], dim=-1)
        n_all = u.shape[1]
        out = torch.zeros((r, n_all, k), dtype=rest.dtype, device=self.device)
        dv = torch.zeros_like(u)
        n_pix = self.n_pixels[rows].tolist()
        for i, b in enumerate(rows.tolist()):
            lo, n_win, n = int(self.offset[b]), int(self.n_window[b]), n_pix[i]
            window = rest[lo : lo + n_win, i]
            out[i, :n], dv[i, :n] = self._composed(b, index[i, :n], w[i, :n], dw[i, :n], window)
        dlnd_dv = 1.0 / (SPEED_OF_LIGHT_KMS * (1.0 - beta**2))
        dv = dv * (-dlnd_dv / self.delta)[:, None]
        mask = self.mask[rows]
        jac = torch.cat([out[:, :, 1:], dv[:, :, None]], dim=2) * mask[:, :, None]
        return out[:, :, 0] * mask, jac
