#!/usr/bin/env python
"""Interpolation error of the v3 coarse sub-lattice at the level-0 nodes already on disk.

The v3 level-0 lattice (``plan_v3.py``) is the coarse sub-lattice (every other axis value)
plus its midpoints. Each level-0 node that is not a coarse node is therefore a held-out
*midpoint* of the coarse lattice: its synthesis is compared with the multilinear interpolant
of the coarse nodes around it, at the grid's stored resolution (BOSS R 6,000, APOGEE
R 60,000; continuum = 1). This is the measurement that decides whether the coarse lattice
needs its midpoints in a region (issue 14: refine where the interpolation error exceeds half
the emulator's; the shipped v2 BOSS emulator's own error is median 0.00045, p95 0.0028).

Printed per node and per teff region: median and 95th percentile of |Δflux| over the pixels,
and the kind of midpoint (along which axes the node sits between coarse values).

    python data/grids/v3/measure_lattice_error.py [--grid data/grids/obaf-sme-v3] [--points 2,4,4]
        [-o OUT.md]

``--points 2,4,4`` measures a linear-in-teff, cubic (4-point Lagrange, tensor-product) interpolant of the same
coarse nodes instead: whether a better interpolant, rather than more nodes, meets the target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3 import LOGG, M_H, TEFF  # noqa: E402

from zeta_payne.grids.nodes import NodeGrid, load_node_grid  # noqa: E402
from zeta_payne.grids.stencil import parse_points  # noqa: E402

COARSE = (sorted(set(TEFF[::2] + TEFF[-1:])), sorted(set(LOGG[::2] + LOGG[-1:])),
          sorted(set(M_H[::2] + M_H[-1:])))
REGIONS = [(6000, 8000), (8000, 10000), (10000, 16000), (16000, 30001)]
AXES = ("teff", "logg", "m_h")


def in_coarse(labels: np.ndarray) -> np.ndarray:
    """Which label rows (shape (N, 3)) are nodes of the coarse sub-lattice."""
    return np.all([np.isin(labels[:, d], COARSE[d]) for d in range(3)], axis=0)


def coarse_grid(grid: NodeGrid, points: tuple[int, int, int] = (2, 2, 2)) -> NodeGrid:
    """The coarse sub-lattice's nodes of ``grid`` as a grid of their own, interpolated with
    ``points`` per axis."""
    keep = in_coarse(grid.labels)
    return NodeGrid(labels=grid.labels[keep], wavelength=grid.wavelength, flux=grid.flux[keep],
                    medium=grid.medium, levels=[tuple(np.asarray(a, float) for a in COARSE)],
                    points=points)


def midpoint_kind(labels: np.ndarray) -> str:
    """Along which axes a node lies between coarse values (e.g. ``"teff+m_h"``)."""
    return "+".join(AXES[d] for d in range(3) if labels[d] not in COARSE[d]) or "coarse"


def measure(grid: NodeGrid, points: tuple[int, int, int] = (2, 2, 2)) -> list[dict]:
    coarse = coarse_grid(grid, points)
    # level-0 nodes only: a refinement level's nodes (teff 6,500 K ...) are not midpoints
    level0 = np.all([np.isin(grid.labels[:, d], grid.levels[0][d]) for d in range(3)], axis=0)
    held = np.flatnonzero(level0 & ~in_coarse(grid.labels))
    rows = []
    if held.size == 0:
        return rows
    interp = coarse.interpolate(grid.labels[held], missing="nan")
    for j, i in enumerate(held):
        if not np.all(np.isfinite(interp[j])):
            continue
        err = np.abs(interp[j] - grid.flux[i])
        rows.append({"labels": grid.labels[i], "kind": midpoint_kind(grid.labels[i]),
                     "median": float(np.median(err)), "p95": float(np.percentile(err, 95)),
                     "max": float(err.max())})
    return rows


def report(grid_dir: Path, points: tuple[int, int, int] = (2, 2, 2)) -> str:
    kind = ("multilinear" if tuple(points) == (2, 2, 2) else
            "Lagrange, points per axis (teff, logg, [M/H]) " + ", ".join(map(str, points)))
    out = [f"# Coarse sub-lattice interpolation error at level-0 midpoints (`{grid_dir}`, "
           f"{kind} interpolation)", ""]
    for instrument in ("boss", "apogee"):
        grid = load_node_grid(grid_dir, instrument)
        rows = measure(grid, points)
        out += [f"## {instrument}: {len(grid)} nodes on disk, {len(rows)} held-out midpoints", "",
                "| teff region [K] | midpoints | kinds | median |Δflux| (median over nodes) "
                "| p95 (median over nodes) | p95 (worst node) |", "|---|---|---|---|---|---|"]
        for lo, hi in REGIONS:
            sel = [r for r in rows if lo <= r["labels"][0] < hi]
            if not sel:
                out.append(f"| {lo}–{min(hi, 30000)} | 0 | | | | |")
                continue
            kinds = sorted({r["kind"] for r in sel})
            out.append(f"| {lo}–{min(hi, 30000)} | {len(sel)} | {', '.join(kinds)} "
                       f"| {np.median([r['median'] for r in sel]):.5f} "
                       f"| {np.median([r['p95'] for r in sel]):.5f} "
                       f"| {max(r['p95'] for r in sel):.5f} |")
        out += ["", "| teff | logg | [M/H] | midpoint along | median | p95 | max |",
                "|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: tuple(r["labels"])):
            t, g, m = r["labels"]
            out.append(f"| {t:.0f} | {g:.1f} | {m:+.1f} | {r['kind']} | {r['median']:.5f} "
                       f"| {r['p95']:.5f} | {r['max']:.4f} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=Path("data/grids/obaf-sme-v3"))
    parser.add_argument("--points", default="2,2,2",
                        help="interpolation stencil per axis teff,logg,m_h: 2 linear (the "
                        "training generator's), 4 cubic Lagrange (default: 2,2,2)")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    try:
        points = parse_points(args.points)
    except ValueError as err:
        parser.error(str(err))
    text = report(args.grid, points)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
