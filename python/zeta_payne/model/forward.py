"""The ZETA-PAYNE model spectrum on the observed pixels (paper eq. 5).

``F(θ, v, c)(λ_i) = [S_v · C · NN(θ)]_i × Σ_k c_k T_k(x(λ_i))``

* ``NN`` — the emulator, rest-frame normalised flux on a uniform ln λ model grid;
* ``C`` — Gaussian convolution with the residual LSF (instrument ⊖ model resolution),
  banded, built once per spectrum;
* ``S_v`` — relativistic Doppler shift and cubic resampling onto the observed pixels;
* ``T`` — the Chebyshev response design matrix.

Convolving in the rest frame before the shift differs from the reverse order only by the
change of the kernel width with ``1 + v/c`` (≲ 1e-3 for ``|v| < 300`` km/s).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS, log_doppler_factor
from zeta_payne.model.emulator import NEGATIVE_SLOPE, Emulator
from zeta_payne.model.lsf import apply_composed, convolution_band, resampling_band, residual_sigma

__all__ = ["ModelGrid", "ForwardModel", "CONV_CACHE_SIZE"]

#: LSF bands kept for reuse (spectra on one pixel grid with one LSF share the band).
CONV_CACHE_SIZE = 4
_CONV_CACHE: OrderedDict[tuple, tuple] = OrderedDict()


def _cached_convolution(sigma: np.ndarray, delta: float, device: torch.device) -> list:
    """:func:`convolution_band` of ``sigma`` [ln λ, shape (P,)], shared between spectra.

    The band of a 57,800-pixel window costs ~0.1–0.4 s to build, as much as a fit; spectra
    with the same residual LSF on the same window (one survey pixel grid with a nominal or
    shared LSF) reuse the last :data:`CONV_CACHE_SIZE` bands. Keyed on the bytes of
    ``sigma`` (exact equality), ``delta`` and the device.

    Returns
    -------
    list
        ``[band, csr]``: the :class:`BandOperator` and a slot for its float64 CSR tensor,
        filled on first use (:attr:`ForwardModel._conv64`) and then shared; read-only.
    """
    digest = hashlib.sha1(np.ascontiguousarray(sigma).tobytes()).hexdigest()
    key = (digest, sigma.size, float(delta), str(device))
    hit = _CONV_CACHE.get(key)
    if hit is not None:
        _CONV_CACHE.move_to_end(key)
        return hit
    value = [convolution_band(sigma, delta), None]
    _CONV_CACHE[key] = value
    while len(_CONV_CACHE) > CONV_CACHE_SIZE:
        _CONV_CACHE.popitem(last=False)
    return value


@dataclass(frozen=True)
class ModelGrid:
    """The emulator's output grid: uniform in ln λ, vacuum.

    Attributes
    ----------
    loglam0 : float
        ln λ [Å] of the first model pixel.
    delta : float
        Step in ln λ.
    n_pixels : int
        Number of model pixels P.
    resolution : float or None
        Resolving power R_model of the emulated spectra (``None``: unresolved).
    """

    loglam0: float
    delta: float
    n_pixels: int
    resolution: float | None = None

    @property
    def loglam(self) -> np.ndarray:
        """ln λ of every model pixel, shape (P,)."""
        return self.loglam0 + self.delta * np.arange(self.n_pixels)

    @property
    def wavelength(self) -> np.ndarray:
        """Vacuum wavelength of every model pixel [Å], shape (P,)."""
        return np.exp(self.loglam)

    @classmethod
    def from_wavelength(cls, wavelength: npt.ArrayLike, resolution: float | None = None) -> ModelGrid:
        """Describe a wavelength array that is uniform in ln λ (raises otherwise)."""
        lam = np.asarray(wavelength, dtype=float)
        loglam = np.log(lam)
        step = np.diff(loglam)
        if lam.size < 2 or np.any(step <= 0):
            raise ValueError("model wavelengths must be strictly increasing")
        delta = float(np.mean(step))
        if np.max(np.abs(step - delta)) > 1e-3 * delta:
            raise ValueError("model wavelengths are not uniform in ln λ")
        return cls(float(loglam[0]), delta, int(lam.size), resolution)


class ForwardModel:
    """Model spectrum, its pieces and its Jacobian for one observed spectrum.

    Everything that depends only on the spectrum (model-pixel window, LSF band, response
    design) is built once here; per call only the emulator and the Doppler resampling
    (4 weights per pixel) are evaluated.

    Parameters
    ----------
    emulator : Emulator
        The trained network.
    grid : ModelGrid
        Its output grid.
    wavelength : array_like, shape (N,)
        Observed (vacuum) wavelengths of the pixels to model [Å], increasing.
    lsf_fwhm : array_like, shape (N,)
        Instrumental LSF FWHM at those pixels [Å].
    design : array_like, shape (N, C)
        Response design matrix (:func:`zeta_payne.model.response.chebyshev_design`).
    rv_range : (float, float)
        Radial velocities the model must support [km/s] (sets the model-pixel window).
    device : str or torch.device
        Where tensors live.
    emulator64 : Emulator, optional
        A float64 copy of ``emulator`` on ``device`` (share one between spectra to avoid
        copying the weights per spectrum).
    """

    def __init__(
        self,
        emulator: Emulator,
        grid: ModelGrid,
        wavelength: npt.ArrayLike,
        lsf_fwhm: npt.ArrayLike,
        design: npt.ArrayLike,
        rv_range: tuple[float, float] = (-500.0, 500.0),
        device: str | torch.device = "cpu",
        emulator64: Emulator | None = None,
    ) -> None:
        self.grid = grid
        self.device = torch.device(device)
        lam = np.asarray(wavelength, dtype=float)
        self.loglam = np.log(lam)
        fwhm = np.asarray(lsf_fwhm, dtype=float)
        self.n_pixels = lam.size
        # Model-pixel window: observed range shifted by the RV range, plus kernel margins.
        sigma_obs = residual_sigma(lam, fwhm, grid.resolution)
        half = int(np.ceil(4.0 * max(float(np.max(sigma_obs, initial=0.0)), 0.2 * grid.delta) / grid.delta))
        ln_d = log_doppler_factor(np.asarray(rv_range, dtype=float))
        lo = (self.loglam[0] - ln_d.max() - grid.loglam0) / grid.delta - half - 3
        hi = (self.loglam[-1] - ln_d.min() - grid.loglam0) / grid.delta + half + 4
        self.j_lo = int(np.clip(np.floor(lo), 0, grid.n_pixels - 1))
        self.j_hi = int(np.clip(np.ceil(hi), self.j_lo + 1, grid.n_pixels))
        self.window_loglam0 = grid.loglam0 + self.j_lo * grid.delta
        n_win = self.j_hi - self.j_lo
        # Residual LSF on the window (interpolated from the observed pixels, v = 0).
        win_loglam = self.window_loglam0 + grid.delta * np.arange(n_win)
        sigma_win = np.interp(win_loglam, self.loglam, sigma_obs)
        self._conv_shared = _cached_convolution(sigma_win, grid.delta, self.device)
        self.conv_band = self._conv_shared[0]
        self._conv_w: torch.Tensor | None = None
        self.design = torch.as_tensor(np.asarray(design, dtype=float), device=self.device)
        # Network pieces restricted to the window, in float64 for the least-squares stages.
        self.emulator = emulator
        self._emu64 = emulator64
        last = self._emulator64().layers[-1]
        self._w2 = last.weight.detach()[self.j_lo : self.j_hi]  # views, no copy
        self._b2 = last.bias.detach()[self.j_lo : self.j_hi]

    # ------------------------------------------------------------------ pieces
    @property
    def _conv64(self) -> torch.Tensor:
        """The LSF band as a float64 sparse CSR tensor ``(P_w, P_w)`` (built on first use,
        shared with the other spectra of the same band; the batched fitter never needs it)."""
        if self._conv_shared[1] is None:
            self._conv_shared[1] = self.conv_band.to_torch(self.device, torch.float64)
        return self._conv_shared[1]

    @property
    def n_window(self) -> int:
        """Number of model pixels in the window."""
        return self.j_hi - self.j_lo

    def _emulator64(self) -> Emulator:
        if self._emu64 is None:
            import copy

            self._emu64 = copy.deepcopy(self.emulator).to(self.device, torch.float64).requires_grad_(False)
        return self._emu64

    def resampler(self, v_rad: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Doppler resampling ``S_v`` and ``dS_v/dv`` as sparse ``(N, P_window)`` tensors."""
        target = self.loglam - float(log_doppler_factor(v_rad))
        value, deriv = resampling_band(self.window_loglam0, self.grid.delta, self.n_window, target)
        beta = v_rad / SPEED_OF_LIGHT_KMS
        dlnd_dv = 1.0 / (SPEED_OF_LIGHT_KMS * (1.0 - beta**2))
        # d/dv f(lnλ − lnD(v)) = −f'(·) · dlnD/dv
        deriv = type(deriv)(deriv.start, -deriv.weights * dlnd_dv, deriv.n_in)
        return (
            value.to_torch(self.device, torch.float64),
            deriv.to_torch(self.device, torch.float64),
        )

    def hidden(self, labels: npt.ArrayLike | torch.Tensor) -> torch.Tensor:
        """Last hidden-layer activations ``(*, H)`` (float64)."""
        x = torch.as_tensor(labels, dtype=torch.float64, device=self.device)
        return self._emulator64().hidden(x)

    def rest_flux(self, labels: npt.ArrayLike) -> torch.Tensor:
        """Rest-frame model flux on the window, convolved with the residual LSF, shape (P_w,)."""
        h = self.hidden(labels)
        return self._conv64 @ (self._w2 @ h + self._b2)

    def normalized(self, labels: npt.ArrayLike, v_rad: float) -> np.ndarray:
        """Model before the response (continuum-normalised) on the observed pixels, (N,)."""
        s, _ = self.resampler(v_rad)
        return (s @ self.rest_flux(labels)).cpu().numpy()

    def response(self, coeffs: npt.ArrayLike) -> np.ndarray:
        """Response ``Σ_k c_k T_k`` on the observed pixels, shape (N,)."""
        c = torch.as_tensor(np.asarray(coeffs, dtype=float), device=self.device)
        return (self.design @ c).cpu().numpy()

    def flux(self, labels: npt.ArrayLike, v_rad: float, coeffs: npt.ArrayLike) -> np.ndarray:
        """The full model ``F(θ, v, c)`` on the observed pixels, shape (N,)."""
        return self.normalized(labels, v_rad) * self.response(coeffs)

    def normalized_batch(self, labels: npt.ArrayLike, v_rad: float) -> np.ndarray:
        """Normalised model for several label vectors at one RV, ``(B, L) → (B, N)``.

        Evaluated in float32 (for χ² scans, where differences of order one matter on χ² of
        order N, float32 is ample).
        """
        target = self.loglam - float(log_doppler_factor(v_rad))
        band, _ = resampling_band(self.window_loglam0, self.grid.delta, self.n_window, target)
        with torch.no_grad():
            x = torch.as_tensor(np.atleast_2d(labels), dtype=torch.float64, device=self.device)
            h = self.emulator.hidden(x)  # (B, H) float32
            if self._conv_w is None:
                self._conv_w = self.conv_band.to_torch(self.device, torch.float32) @ self._w2b32()
            folded = band.to_torch(self.device, torch.float32) @ self._conv_w  # (N, H + 1)
            out = h @ folded[:, :-1].T + folded[:, -1]
        return out.double().cpu().numpy()

    def flux_at(
        self,
        wavelength: npt.ArrayLike,
        design: npt.ArrayLike,
        labels: npt.ArrayLike,
        v_rad: float,
        coeffs: npt.ArrayLike,
    ) -> np.ndarray:
        """The model at other pixels than those it was built for (same LSF and window).

        Parameters
        ----------
        wavelength : array_like, shape (M,)
            Observed wavelengths [Å] inside the window.
        design : array_like, shape (M, C)
            Response design at those pixels.
        labels, v_rad, coeffs
            Model parameters.

        Returns
        -------
        numpy.ndarray, shape (M,)
        """
        target = np.log(np.asarray(wavelength, dtype=float)) - float(log_doppler_factor(v_rad))
        band, _ = resampling_band(self.window_loglam0, self.grid.delta, self.n_window, target)
        # the cubic composed with the LSF rows it reads (a model grid much finer than the
        # pixels reads a quarter of them or less): :func:`~zeta_payne.model.lsf.apply_composed`
        dev = self.device
        index = torch.as_tensor(band.columns(), device=dev)
        cubic = torch.as_tensor(band.weights, dtype=torch.float64, device=dev)
        weights = torch.as_tensor(self.conv_band.weights, dtype=torch.float64, device=dev)
        rest = torch.addmm(self._b2[:, None], self._w2, self.hidden(labels)[:, None])
        (norm,) = apply_composed(weights, index, (cubic,), rest, columns=(0,))
        return norm.cpu().numpy() * (np.asarray(design, dtype=float) @ np.asarray(coeffs, dtype=float))

    def _hidden_and_tangent(self, labels: npt.ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
        """Last hidden activations ``(H,)`` and their derivatives ``(H, L)`` (forward mode)."""
        emu = self._emulator64()
        x = torch.as_tensor(np.asarray(labels, dtype=float), device=self.device)
        z = emu.scale(x)
        tangent = torch.diag(1.0 / (emu.x_max - emu.x_min).to(torch.float64))
        for layer in emu.layers[:-1]:
            pre = layer(z)
            slope = torch.where(pre > 0, 1.0, NEGATIVE_SLOPE).to(torch.float64)
            tangent = (layer.weight @ tangent) * slope[:, None]
            z = torch.nn.functional.leaky_relu(pre, NEGATIVE_SLOPE)
        return z, tangent

    def normalized_and_jacobian(self, labels: npt.ArrayLike, v_rad: float) -> tuple[np.ndarray, np.ndarray]:
        """Normalised model and its exact derivatives with respect to labels and RV.

        Returns
        -------
        normalized : numpy.ndarray, shape (N,)
        jacobian : numpy.ndarray, shape (N, L + 1)
            ``d normalized / d label`` for every label, then ``d / d v_rad`` [per km/s].
        """
        h, dh = self._hidden_and_tangent(labels)
        rest = self._w2 @ torch.cat([h[:, None], dh], dim=1)  # (P_w, 1 + L)
        rest[:, 0] += self._b2
        both = self._conv64 @ rest
        s, ds = self.resampler(v_rad)
        obs = s @ both  # (N, 1 + L)
        dv = ds @ both[:, :1]
        return obs[:, 0].cpu().numpy(), torch.cat([obs[:, 1:], dv], dim=1).cpu().numpy()

    def flux_and_jacobian(
        self, labels: npt.ArrayLike, v_rad: float, coeffs: npt.ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model flux and its exact Jacobian.

        Returns
        -------
        flux : numpy.ndarray, shape (N,)
            ``F(θ, v, c)``.
        normalized : numpy.ndarray, shape (N,)
            The model before the response.
        jacobian : numpy.ndarray, shape (N, L + 1 + C)
            Derivatives with respect to the labels, ``v_rad`` [per km/s] and the
            response coefficients, in that order.
        """
        norm, dnorm = self.normalized_and_jacobian(labels, v_rad)
        resp = self.response(coeffs)
        design = self.design.cpu().numpy()
        jac = np.concatenate([dnorm * resp[:, None], design * norm[:, None]], axis=1)
        return norm * resp, norm, jac

    # --------------------------------------------------------------- pre-search
    def _w2b32(self) -> torch.Tensor:
        """``[W2, b2]`` of the window in float32, shape (P_w, H + 1)."""
        last = self.emulator.layers[-1]
        return torch.cat([last.weight.detach(), last.bias.detach()[:, None]], dim=1)[
            self.j_lo : self.j_hi
        ].to(self.device, torch.float32)

    def folded_levels(
        self, v_levels: npt.ArrayLike, pixels: np.ndarray | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The last layer folded with LSF and Doppler shift at a set of RVs (float32).

        ``M_k = S_{v_k} · C · W2`` and ``m_k = S_{v_k} · C · b2``, so that the normalised
        model of any label vector at RV ``v_k`` is ``M_k h + m_k`` with ``h`` its last
        hidden activations. ``C · [W2, b2]`` is computed once per spectrum; each RV then
        costs a 4-tap resampling of it.

        Parameters
        ----------
        v_levels : array_like, shape (K,)
            Radial velocities [km/s].
        pixels : numpy.ndarray of int, optional
            Only these observed pixels (default: all N).

        Yields
        ------
        basis : torch.Tensor, shape (N, H)
        offset : torch.Tensor, shape (N,)
        """
        levels = np.atleast_1d(np.asarray(v_levels, dtype=float))
        loglam = self.loglam if pixels is None else self.loglam[pixels]
        if self._conv_w is None:
            self._conv_w = self.conv_band.to_torch(self.device, torch.float32) @ self._w2b32()
        for v in levels:
            target = loglam - float(log_doppler_factor(v))
            band, _ = resampling_band(self.window_loglam0, self.grid.delta, self.n_window, target)
            acc = band.to_torch(self.device, torch.float32) @ self._conv_w
            yield acc[:, :-1], acc[:, -1]

    def folded_level(
        self, v_rad: float, pixels: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`folded_levels` for a single RV."""
        return next(self.folded_levels([v_rad], pixels))
