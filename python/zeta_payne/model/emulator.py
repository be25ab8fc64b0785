"""The neural-network spectrum emulator (Ting et al. 2019; Straumit et al. 2022 §3.2).

labels → scale to [−0.5, 0.5] with the training box → Linear → leaky ReLU(0.01) → Linear →
leaky ReLU(0.01) → Linear → rest-frame, continuum-normalised flux on the model grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["NEGATIVE_SLOPE", "Emulator", "EmulatorWeights"]

#: Slope of the leaky ReLU for negative inputs.
NEGATIVE_SLOPE: float = 0.01


@dataclass(frozen=True)
class EmulatorWeights:
    """Plain arrays of a trained emulator (torch ``(out, in)`` layout).

    Attributes
    ----------
    weights : tuple of numpy.ndarray
        ``(W0 (H, L), W1 (H, H), W2 (P, H))``.
    biases : tuple of numpy.ndarray
        ``(b0 (H,), b1 (H,), b2 (P,))``.
    x_min, x_max : numpy.ndarray, shape (L,)
        The scaling box: a label at ``x_min`` maps to −0.5, at ``x_max`` to +0.5.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    x_min: np.ndarray
    x_max: np.ndarray

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.biases) or len(self.weights) < 2:
            raise ValueError("need matching weight and bias lists with at least two layers")
        n_in = len(self.x_min)
        if len(self.x_max) != n_in or self.weights[0].shape[1] != n_in:
            raise ValueError("first layer input size does not match the scaling box")
        for w, b in zip(self.weights, self.biases, strict=True):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ValueError(f"inconsistent layer shapes {w.shape} and {b.shape}")
        for w_prev, w in zip(self.weights[:-1], self.weights[1:], strict=True):
            if w.shape[1] != w_prev.shape[0]:
                raise ValueError("consecutive layer shapes do not chain")
        if np.any(np.asarray(self.x_max) <= np.asarray(self.x_min)):
            raise ValueError("x_max must exceed x_min for every label")

    @property
    def n_labels(self) -> int:
        """Number of input labels L."""
        return int(self.weights[0].shape[1])

    @property
    def n_hidden(self) -> int:
        """Width H of the hidden layers."""
        return int(self.weights[0].shape[0])

    @property
    def n_pixels(self) -> int:
        """Number of model pixels P."""
        return int(self.weights[-1].shape[0])

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Flatten into named arrays (``w_array_k``, ``b_array_k``, ``x_min``, ``x_max``)."""
        out: dict[str, np.ndarray] = {"x_min": np.asarray(self.x_min), "x_max": np.asarray(self.x_max)}
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"w_array_{k}"] = np.asarray(w)
            out[f"b_array_{k}"] = np.asarray(b)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> EmulatorWeights:
        """Inverse of :meth:`as_arrays`."""
        n = 0
        while f"w_array_{n}" in arrays:
            n += 1
        if n < 2:
            raise ValueError("no w_array_0/w_array_1 found")
        return cls(
            weights=tuple(_widen(arrays[f"w_array_{k}"]) for k in range(n)),
            biases=tuple(_widen(arrays[f"b_array_{k}"]) for k in range(n)),
            x_min=np.asarray(arrays["x_min"], dtype=float),
            x_max=np.asarray(arrays["x_max"], dtype=float),
        )


def _widen(array: np.ndarray) -> np.ndarray:
    """Half-precision storage is computed with in float32."""
    array = np.asarray(array)
    return array.astype(np.float32) if array.dtype == np.float16 else array


class Emulator(nn.Module):
    """The emulator as a torch module.

    Parameters
    ----------
    n_labels : int
        Number of input labels L.
    n_pixels : int
        Number of model pixels P.
    n_hidden : int
        Width H of the two hidden layers.
    x_min, x_max : array_like, shape (L,)
        The scaling box.
    """

    def __init__(
        self,
        n_labels: int,
        n_pixels: int,
        n_hidden: int,
        x_min: np.ndarray,
        x_max: np.ndarray,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Linear(n_labels, n_hidden), nn.Linear(n_hidden, n_hidden), nn.Linear(n_hidden, n_pixels)]
        )
        self.register_buffer("x_min", torch.as_tensor(np.asarray(x_min, dtype=np.float64)))
        self.register_buffer("x_max", torch.as_tensor(np.asarray(x_max, dtype=np.float64)))

    @classmethod
    def from_weights(cls, weights: EmulatorWeights, dtype: torch.dtype = torch.float32) -> Emulator:
        """Build a module holding ``weights`` (copied, in ``dtype``)."""
        if len(weights.weights) != 3:
            raise ValueError("the emulator has exactly two hidden layers (three linear layers)")
        module = cls(weights.n_labels, weights.n_pixels, weights.n_hidden, weights.x_min, weights.x_max)
        with torch.no_grad():
            for layer, w, b in zip(module.layers, weights.weights, weights.biases, strict=True):
                layer.weight.copy_(torch.as_tensor(np.asarray(w, dtype=np.float64)))
                layer.bias.copy_(torch.as_tensor(np.asarray(b, dtype=np.float64)))
        return module.to(dtype)

    def to_weights(self) -> EmulatorWeights:
        """Export the current parameters as :class:`EmulatorWeights` (float32 arrays)."""
        return EmulatorWeights(
            weights=tuple(layer.weight.detach().cpu().float().numpy() for layer in self.layers),
            biases=tuple(layer.bias.detach().cpu().float().numpy() for layer in self.layers),
            x_min=self.x_min.detach().cpu().double().numpy(),
            x_max=self.x_max.detach().cpu().double().numpy(),
        )

    def scale(self, labels: torch.Tensor) -> torch.Tensor:
        """Map physical labels ``(*, L)`` to the network's [−0.5, 0.5] box."""
        x_min = self.x_min.to(labels.dtype)
        x_max = self.x_max.to(labels.dtype)
        return (labels - x_min) / (x_max - x_min) - 0.5

    def hidden(self, labels: torch.Tensor) -> torch.Tensor:
        """Activations of the last hidden layer.

        Parameters
        ----------
        labels : torch.Tensor, shape (*, L)
            Physical labels.

        Returns
        -------
        torch.Tensor, shape (*, H)
        """
        x = self.scale(labels).to(self.layers[0].weight.dtype)
        for layer in self.layers[:-1]:
            x = nn.functional.leaky_relu(layer(x), NEGATIVE_SLOPE)
        return x

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        """Rest-frame normalised flux ``(*, P)`` for physical labels ``(*, L)``."""
        return self.layers[-1](self.hidden(labels))

    def forward_with_jacobian(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flux and its exact Jacobian with respect to the physical labels.

        Parameters
        ----------
        labels : torch.Tensor, shape (L,)
            One label vector.

        Returns
        -------
        flux : torch.Tensor, shape (P,)
        jacobian : torch.Tensor, shape (P, L)
            ``d flux / d label`` (forward-mode through the two hidden layers).
        """
        dtype = self.layers[0].weight.dtype
        width = (self.x_max - self.x_min).to(dtype)
        x = self.scale(labels).to(dtype)
        tangent = torch.diag(1.0 / width)  # d x_scaled / d label, (L, L)
        for layer in self.layers[:-1]:
            pre = layer(x)
            slope = torch.where(pre > 0, 1.0, NEGATIVE_SLOPE).to(dtype)
            tangent = (layer.weight @ tangent) * slope[:, None]
            x = nn.functional.leaky_relu(pre, NEGATIVE_SLOPE)
        last = self.layers[-1]
        return last(x), last.weight @ tangent
