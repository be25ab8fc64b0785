#!/usr/bin/env python
"""Could log g be refined cell by cell? Leave-one-out against the real 0.25-dex midpoints.

For every (teff, [M/H]) column of a grid and every 0.5-dex log g cell ``[g, g + 0.5]`` of the
coarse log g axis (2.5 … 5.0), two figures, each the p95 |Δflux| over the pixels:

* *predictor* — the larger of the leave-one-out errors at the cell's two ends (each end node
  left out and predicted by a cubic Lagrange stencil along log g over the remaining coarse log g
  values, teff and [M/H] held): needs only the coarse lattice, so it can be had before a
  refinement is synthesized;
* *actual* — the error of the same cubic stencil (all coarse values) at the cell's midpoint
  ``g + 0.25``, where a node of the 0.25-dex level is on disk (APOGEE's level 4).

Where both exist the script prints how well the predictor ranks the actual error (Spearman)
and their ratio; then the predictor per teff region, and, for one teff range, per log g cell
and [M/H] — whether some cells need the refinement and others not.

    python data/grids/v3/measure_logg_cells.py --instrument apogee
    python data/grids/v3/measure_logg_cells.py --instrument boss --teff-range 8000 10000
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import spearmanr

from zeta_payne.grids.nodes import label_keys, load_node_grid
from zeta_payne.grids.stencil import lagrange_stencils

COARSE_LOGG = np.array([2.5, 3.0, 3.5, 4.0, 4.5, 5.0])
REGIONS = ((6000, 8000), (8000, 10000), (10000, 15000), (15000, 20000), (20000, 30001))


def cells(labels: np.ndarray, flux: np.ndarray) -> np.ndarray:
    """Rows ``(teff, g, m_h, predictor, actual)`` per column and coarse log g cell (NaN: not on disk)."""
    rows = {tuple(k): i for i, k in enumerate(label_keys(labels))}

    def node(t: float, g: float, m: float) -> np.ndarray | None:
        i = rows.get(tuple(label_keys(np.array([[t, g, m]]))[0]))
        return None if i is None else flux[i]

    def along_logg(t: float, m: float, x: float, axis: np.ndarray) -> np.ndarray | None:
        idx, w = lagrange_stencils(axis, np.array([x]), 4)
        ys = [node(t, axis[j], m) for j in idx[0]]
        return None if any(y is None for y in ys) else sum(wj * y for wj, y in zip(w[0], ys, strict=True))

    def p95(a: np.ndarray | None, b: np.ndarray | None) -> float:
        return float(np.percentile(np.abs(a - b), 95)) if a is not None and b is not None else np.nan

    out = []
    for t in np.unique(labels[:, 0]):
        for m in np.unique(labels[:, 2]):
            loo = {g: p95(node(t, g, m), along_logg(t, m, g, COARSE_LOGG[COARSE_LOGG != g]))
                   for g in COARSE_LOGG[1:-1]}
            for g in COARSE_LOGG[:-1]:
                ends = [loo[e] for e in (g, g + 0.5) if e in loo and np.isfinite(loo[e])]
                actual = p95(node(t, g + 0.25, m), along_logg(t, m, g + 0.25, COARSE_LOGG))
                out.append((t, g, m, max(ends) if ends else np.nan, actual))
    return np.array(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", default="data/grids/obaf-sme-v3")
    ap.add_argument("--instrument", required=True, choices=["boss", "apogee"])
    ap.add_argument("--teff-range", type=float, nargs=2, default=(8000, 10000), metavar=("LO", "HI"),
                    help="teff range of the per-cell table [K]")
    args = ap.parse_args(argv)
    grid = load_node_grid(args.grid, args.instrument)
    c = cells(grid.labels, grid.flux)
    both = np.isfinite(c[:, 3]) & np.isfinite(c[:, 4])
    print(f"{args.instrument}: {len(c)} cells, {int(both.sum())} with a 0.25-dex midpoint node on disk")
    if both.sum() > 10:
        rho = spearmanr(c[both, 3], c[both, 4]).statistic
        q = np.percentile(c[both, 4] / c[both, 3], [16, 50, 84])
        print(f"predictor against the midpoint's error: Spearman {rho:.2f}; actual / predictor "
              f"median {q[1]:.2f} (16-84 %: {q[0]:.2f}-{q[2]:.2f})")
    has = np.isfinite(c[:, 3])
    for lo, hi in REGIONS:
        s = has & (c[:, 0] >= lo) & (c[:, 0] < hi)
        if s.any():
            print(f"  predictor {lo}-{hi} K: {int(s.sum())} cells, median {np.median(c[s, 3]):.5f}, "
                  f"p90 {np.percentile(c[s, 3], 90):.5f}, max {c[s, 3].max():.5f}")
    lo, hi = args.teff_range
    s = has & (c[:, 0] >= lo) & (c[:, 0] < hi)
    ms = np.unique(c[s, 2])
    print(f"median predictor × 1000 over {lo:g}-{hi:g} K, per log g cell (rows) and [M/H] (columns)")
    print("cell      " + " ".join(f"{m:+6.1f}" for m in ms))
    for g in np.unique(c[s, 1]):
        vals = [c[s & (c[:, 1] == g) & (c[:, 2] == m), 3] for m in ms]
        print(f"{g:.2f}-{g + 0.5:.2f} " + " ".join(f"{1e3 * np.median(v):6.2f}" if v.size else "     -"
                                                 for v in vals))


if __name__ == "__main__":
    main()
