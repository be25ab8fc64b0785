#!/usr/bin/env python
"""Which lattice axis the interpolation error comes from: leave one node out along each axis.

For every node of a teff range whose axis neighbours are on disk, the node is left out and
predicted by a 4-point Lagrange (cubic) stencil along *one* axis over the remaining nodes
(two below, two above; the other two labels held at the node's), so the step there is
doubled. The error against the node's own synthesis, per axis and per teff slice, says along
which axis a refinement pays (``plan_v3_teff_refine2.py`` was planned from it). The figures are
at twice the lattice step; what matters is their ratio between axes.

    python data/grids/v3/measure_axis_error.py [--grid data/grids/obaf-sme-v3] [--instrument boss]
        [--teff-range 6500 10000]

Printed: per axis, the number of nodes, the median over nodes of each node's p95 |Δflux| and the
worst node's, and the same median per teff slice.
"""

from __future__ import annotations

import argparse

import numpy as np

from zeta_payne.grids.nodes import load_node_grid

AXES = ("teff", "logg", "m_h")


def lagrange(x: float, xs: list[float], ys: list[np.ndarray]) -> np.ndarray:
    """The Lagrange polynomial through ``(xs, ys)`` at ``x`` (ys: spectra, shape (npix,))."""
    out = np.zeros_like(ys[0])
    for j, xj in enumerate(xs):
        w = np.prod([(x - xk) / (xj - xk) for k, xk in enumerate(xs) if k != j])
        out = out + w * ys[j]
    return out


def leave_one_out(labels: np.ndarray, flux: np.ndarray, teff_range: tuple[float, float]
                  ) -> dict[str, list[tuple[float, float]]]:
    """Per axis, ``(teff, p95 |Δflux|)`` of every node in ``teff_range`` with a full stencil.

    Parameters
    ----------
    labels : numpy.ndarray, shape (N, 3)
        teff [K], log g [dex], [M/H] [dex] of the nodes.
    flux : numpy.ndarray, shape (N, npix)
        Their normalised syntheses.
    teff_range : (float, float)
        Nodes with teff in this closed range [K] are left out in turn.
    """
    key = {tuple(np.round(row, 4)): i for i, row in enumerate(labels)}
    values = [sorted(set(np.round(labels[:, d], 4))) for d in range(3)]
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in AXES}
    for i, row in enumerate(np.round(labels, 4)):
        if not teff_range[0] <= row[0] <= teff_range[1]:
            continue
        for d, name in enumerate(AXES):
            rest = [v for v in values[d] if v != row[d]]
            xs = [v for v in rest if v < row[d]][-2:] + [v for v in rest if v > row[d]][:2]
            if len(xs) < 4 or not xs[1] < row[d] < xs[2]:
                continue
            rows = []
            for x in xs:
                other = list(row)
                other[d] = x
                rows.append(key.get(tuple(other)))
            if None in rows:
                continue
            err = np.abs(lagrange(float(row[d]), xs, [flux[k] for k in rows]) - flux[i])
            out[name].append((float(row[0]), float(np.percentile(err, 95))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="data/grids/obaf-sme-v3")
    parser.add_argument("--instrument", default="boss")
    parser.add_argument("--teff-range", nargs=2, type=float, default=(6500.0, 10000.0))
    args = parser.parse_args()
    grid = load_node_grid(args.grid, args.instrument)
    result = leave_one_out(grid.labels, grid.flux, tuple(args.teff_range))
    for name in AXES:
        rows = np.array(result[name])
        if rows.size == 0:
            print(f"{name}: no node with a full stencil")
            continue
        print(f"{name}: {len(rows)} nodes, p95 |Δflux| median over nodes {np.median(rows[:, 1]):.5f}, "
              f"worst {rows[:, 1].max():.5f}")
        for teff in sorted(set(rows[:, 0])):
            sel = rows[rows[:, 0] == teff, 1]
            print(f"    teff {teff:7.0f}: {len(sel):3d} nodes, median p95 {np.median(sel):.5f}")


if __name__ == "__main__":
    main()
