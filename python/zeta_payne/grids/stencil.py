"""Lagrange interpolation stencils on a non-uniform axis (one axis of a node lattice).

A node lattice is interpolated as a tensor product of one-dimensional stencils, one per label
axis. Two points per axis is multilinear interpolation (error ∝ Δ²); four points is cubic
Lagrange interpolation (error ∝ Δ⁴ where the spectrum varies smoothly along the axis, but it
can overshoot where it does not — measured per axis in ``data/grids/v3/measure_lattice_error.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["lagrange_stencil", "parse_points"]


def lagrange_stencil(axis: np.ndarray, x: float, points: int,
                     atol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Indices and weights of ``points``-point Lagrange interpolation at ``x``.

    Parameters
    ----------
    axis : numpy.ndarray, shape (n,)
        Sorted, distinct axis values (any units).
    x : float
        Query, within ``[axis[0], axis[-1]]`` (clipped to it).
    points : int
        Stencil size (≥ 2); reduced to ``n`` on short axes. The stencil is the ``points``
        values around the interval holding ``x``, as central as the axis allows (shifted
        inwards at its ends, so the query always lies inside the stencil).
    atol : float
        A query within ``atol`` of an axis value is that node (weight 1).

    Returns
    -------
    idx : numpy.ndarray of int, shape (k,)
        Axis indices of the stencil.
    weights : numpy.ndarray, shape (k,)
        Lagrange weights; they sum to 1 and reproduce polynomials of degree k − 1 exactly.
    """
    axis = np.asarray(axis, dtype=float)
    n = axis.size
    if points < 2:
        raise ValueError(f"a stencil needs at least 2 points, not {points}")
    if n == 1:
        return np.array([0]), np.array([1.0])
    x = float(np.clip(x, axis[0], axis[-1]))
    hit = np.flatnonzero(np.abs(axis - x) <= atol)
    if hit.size:
        return hit[:1], np.array([1.0])
    p = min(points, n)
    k = int(np.clip(np.searchsorted(axis, x, side="right") - 1, 0, n - 2))
    first = int(np.clip(k - (p // 2 - 1), 0, n - p))
    idx = np.arange(first, first + p)
    xs = axis[idx]
    weights = np.ones(p)
    for j in range(p):
        for m in range(p):
            if m != j:
                weights[j] *= (x - xs[m]) / (xs[j] - xs[m])
    return idx, weights


def parse_points(text: str | tuple[int, ...] | None) -> tuple[int, int, int]:
    """Stencil sizes per label axis (teff, logg, m_h) from ``"2,4,4"`` or a tuple.

    ``None`` gives the multilinear ``(2, 2, 2)``.
    """
    if text is None:
        return (2, 2, 2)
    values = tuple(int(v) for v in (text.split(",") if isinstance(text, str) else text))
    if len(values) != 3 or min(values) < 2:
        raise ValueError(f"stencil sizes must be three integers ≥ 2 (teff,logg,m_h), not {text!r}")
    return values  # type: ignore[return-value]
