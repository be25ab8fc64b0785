"""Lagrange interpolation stencils on a non-uniform axis (one axis of a node lattice).

A node lattice is interpolated as a tensor product of one-dimensional stencils, one per label
axis. Two points per axis is multilinear interpolation (error ∝ Δ²); four points is cubic
Lagrange interpolation (error ∝ Δ⁴ where the spectrum varies smoothly along the axis, but it
can overshoot where it does not — measured per axis in ``data/grids/v3/measure_lattice_error.py``).
A stencil is as central as the axis allows; where a node of the central one is missing (a hole
in the lattice: no atmosphere at hot teff and low log g) a stencil shifted by one node
(:func:`stencil_shifts`) still holds the query's interval and keeps the order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lagrange_stencils", "parse_points", "stencil_shifts"]


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


def stencil_shifts(points: int) -> tuple[int, ...]:
    """The shifts (in nodes) a ``points``-point stencil can take and still hold the query's
    interval: 0 first, then ±1, ±2 … (2 points: only 0; 3: 0, −1; 4: 0, 1, −1)."""
    lo, hi = -(points - points // 2 - 1), points // 2 - 1
    return tuple(sorted(range(lo, hi + 1), key=lambda s: (abs(s), -s)))


def lagrange_stencils(axis: np.ndarray, x: np.ndarray, points: int,
                      atol: float = 1e-9, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices and weights of ``points``-point Lagrange interpolation at each query.

    Each stencil is the ``points`` axis values around the interval holding the query, as
    central as the axis allows (shifted inwards at its ends, so the query always lies inside
    it), moved by ``shift`` nodes (one of :func:`stencil_shifts`; clipped so that the stencil
    still holds the query's interval); 2 points is linear interpolation. The weights sum to 1
    and reproduce polynomials of degree ``p − 1`` exactly.

    Parameters
    ----------
    axis : numpy.ndarray, shape (n,)
        Sorted, distinct axis values.
    x : numpy.ndarray, shape (M,)
        Queries (clipped to the axis; within ``atol`` of a value: that value).
    points : int
        Stencil size (≥ 2), reduced to ``n`` on short axes.
    atol : float
    shift : int
        Nodes to move the stencil by from the central one (positive: towards larger values).

    Returns
    -------
    idx : numpy.ndarray of int, shape (M, p)
        Axis indices of each query's stencil, ``p = min(points, n)``.
    weights : numpy.ndarray, shape (M, p)
        Lagrange weights; a query on an axis value has weight 1 there and 0 elsewhere.
    """
    axis = np.asarray(axis, dtype=float)
    x = np.clip(np.asarray(x, dtype=float), axis[0], axis[-1])
    n = axis.size
    if points < 2:
        raise ValueError(f"a stencil needs at least 2 points, not {points}")
    if n == 1:
        return np.zeros((x.size, 1), int), np.ones((x.size, 1))
    nearest = np.clip(np.searchsorted(axis, x), 0, n - 1)
    for candidate in (nearest, np.maximum(nearest - 1, 0)):
        snap = np.abs(axis[candidate] - x) <= atol
        x = np.where(snap, axis[candidate], x)
    p = min(points, n)
    k = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, n - 2)
    first = np.clip(k - (p // 2 - 1) + shift, np.maximum(0, k - (p - 2)), np.minimum(n - p, k))
    idx = first[:, None] + np.arange(p)[None, :]
    xs = axis[idx]
    weights = np.ones((x.size, p))
    for j in range(p):
        for m in range(p):
            if m != j:
                weights[:, j] *= (x - xs[:, m]) / (xs[:, j] - xs[:, m])
    return idx, weights
