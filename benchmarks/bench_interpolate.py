#!/usr/bin/env python
"""Node-lattice interpolation speed: this checkout's NodeGrid against an older revision's.

The training generator interpolates the node lattice once per training spectrum (10⁴–10⁵ per
bundle), and the validation studies per test spectrum. Printed: CPU seconds per 1,000
queries (the least of three runs) and the largest difference between the two
implementations' spectra, for multilinear interpolation and, where the old revision has it,
the 2,4,4 stencil.

    python benchmarks/bench_interpolate.py [--grid data/grids/obaf-sme-v3] [--instrument boss]
        [--queries 4000] [--old-rev 2e4c8ef]

``--old-rev`` names a git revision whose ``python/zeta_payne/grids/nodes.py`` is loaded beside
the current one (default: the multilinear-only revision before the stencils and the
vectorised interpolation; a revision without stencils gives the multilinear row only). Run with
``OMP_NUM_THREADS=1`` for single-core figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from zeta_payne.grids.nodes import NodeGrid, complete_lattice, load_node_grid


def old_nodegrid(rev: str) -> type:
    """``NodeGrid`` from ``python/zeta_payne/grids/nodes.py`` at git revision ``rev``."""
    source = subprocess.run(["git", "show", f"{rev}:python/zeta_payne/grids/nodes.py"],
                            check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("zeta_payne.grids._nodes_bench_old", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "zeta_payne.grids"
    sys.modules[spec.name] = module
    exec(compile(source, f"{rev}:nodes.py", "exec"), module.__dict__)  # noqa: S102
    return module.NodeGrid


def cpu_per_1000(grid, queries: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    """The least CPU time of ``repeats`` runs (the first pays for paging memory in)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        flux = grid.interpolate(queries, missing="nan")
        best = min(best, time.process_time() - t0)
    return best / len(queries) * 1000, flux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=Path("data/grids/obaf-sme-v3"))
    parser.add_argument("--instrument", default="boss")
    parser.add_argument("--queries", type=int, default=4000)
    parser.add_argument("--old-rev", default="2e4c8ef")
    args = parser.parse_args()
    new = complete_lattice(load_node_grid(args.grid, args.instrument))
    old_cls = old_nodegrid(args.old_rev)
    rng = np.random.default_rng(0)
    lo, hi = new.labels.min(axis=0), new.labels.max(axis=0)
    queries = lo + (hi - lo) * rng.uniform(size=(args.queries, 3))
    print(f"grid {args.grid} ({args.instrument}): complete lattice of {len(new)} nodes, "
          f"{new.npix} pixels; {args.queries} random queries")
    print("| interpolant | old CPU s / 1000 | new CPU s / 1000 | speed-up | max |Δflux| |")
    print("|---|---|---|---|---|")
    for points in ((2, 2, 2), (2, 4, 4)):
        kwargs = dict(labels=new.labels, wavelength=new.wavelength, flux=new.flux,
                      medium=new.medium, levels=new.levels)
        try:
            old = old_cls(**kwargs, points=points)
        except TypeError:  # a revision without stencils
            if points != (2, 2, 2):
                continue
            old = old_cls(**kwargs)
        t_old, f_old = cpu_per_1000(old, queries)
        t_new, f_new = cpu_per_1000(NodeGrid(**kwargs, points=points), queries)
        print(f"| {','.join(map(str, points))} | {t_old:.3f} | {t_new:.3f} "
              f"| {t_old / t_new:.1f}× | {np.nanmax(np.abs(f_old - f_new)):.1e} |", flush=True)


if __name__ == "__main__":
    main()
