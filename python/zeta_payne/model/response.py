"""The Chebyshev instrument-response polynomial R(λ) = Σ_k c_k T_k(x(λ))."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["chebyshev_design", "random_response"]


def chebyshev_design(
    wavelength: npt.ArrayLike,
    n_terms: int,
    wavelength_range: tuple[float, float] | None = None,
    segments: Sequence[float] | None = None,
) -> np.ndarray:
    """Design matrix of Chebyshev polynomials of the first kind on wavelength.

    The wavelength is mapped linearly to x ∈ [−1, 1] over ``wavelength_range`` (not over
    pixel index, so masked pixels and detector gaps cannot distort the basis). With
    ``segments`` (interior boundaries in Å), each segment gets its own series mapped over
    its own extent, and the columns are stacked segment by segment (zero outside).

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Wavelengths [Å].
    n_terms : int
        Number of terms per series (degree ``n_terms − 1``).
    wavelength_range : (float, float), optional
        Range mapped to [−1, 1]; defaults to the extent of ``wavelength``.
    segments : sequence of float, optional
        Interior segment boundaries [Å].

    Returns
    -------
    numpy.ndarray, shape (N, n_terms × n_segments)
        ``T[i, k] = T_k(x_i)`` (per segment block).
    """
    lam = np.asarray(wavelength, dtype=float)
    if n_terms < 1:
        raise ValueError("n_terms must be at least 1")
    lo, hi = wavelength_range if wavelength_range is not None else (lam.min(), lam.max())
    edges = [lo, *sorted(segments or ()), hi]
    blocks = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        inside = (lam >= a) & (lam <= b) if b == hi else (lam >= a) & (lam < b)
        x = np.clip(2.0 * (lam - a) / max(b - a, 1e-12) - 1.0, -1.0, 1.0)
        block = np.polynomial.chebyshev.chebvander(x, n_terms - 1)
        blocks.append(block * inside[:, None])
    return np.concatenate(blocks, axis=1)


def random_response(
    wavelength: npt.ArrayLike,
    order: int,
    rng: np.random.Generator,
    amplitude: float = 0.1,
) -> np.ndarray:
    """A random smooth Chebyshev response of the given order (simulations).

    ``c_0 = 1`` and the higher coefficients are drawn from N(0, ``amplitude``/k).

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Wavelengths [Å].
    order : int
        Polynomial order (``order + 1`` coefficients).
    rng : numpy.random.Generator
        Random generator.
    amplitude : float
        Scale of the higher-order coefficients.

    Returns
    -------
    numpy.ndarray, shape (N,)
        The response, strictly positive.
    """
    design = chebyshev_design(wavelength, order + 1)
    coeffs = np.concatenate([[1.0], rng.normal(0.0, amplitude, order) / np.arange(1, order + 1)])
    response = design @ coeffs
    return np.clip(response, 0.05, None)
