"""Does the v_micro response interpolate better relative to the line depth? (issue 14)

At the response grids' check nodes (7,000 and 9,000 K, off the 2,000-K response lattice),
compare the multilinear interpolation of the response Δf with that of Δf / max(1 − f, δ)
multiplied back by the main grid's own depth at the check node. Prints, per instrument,
v_micro and δ (0 = plain), the median over check nodes of each node's p95 |error|, the median
of max |error| / max |response| and the worst node's p95.

    python data/grids/v3/measure_vmicro_relative.py
"""

from __future__ import annotations

import numpy as np

from zeta_payne.grids.nodes import NodeGrid, label_keys, load_node_grid
from zeta_payne.grids.vmicro import load_vmicro_response

GRID = "data/grids/obaf-sme-v3"
RESPONSES = ["data/grids/obaf-sme-v3-vmic1", "data/grids/obaf-sme-v3-vmic4"]


def rows_of(grid: NodeGrid, labels: np.ndarray) -> np.ndarray:
    """Flux rows of ``grid`` at ``labels`` (every label a node of it), (n, P)."""
    index = {tuple(k): i for i, k in enumerate(label_keys(grid.labels))}
    return grid.flux[[index[tuple(k)] for k in label_keys(labels)]]


def main() -> None:
    for inst in ("boss", "apogee"):
        ref = load_node_grid(GRID, inst)
        response = load_vmicro_response(ref, RESPONSES, inst)
        for v in (1.0, 4.0):
            lattice, check = response.lattices[v], response.check_labels(v)
            true = rows_of(response.nodes[v], check)
            depth_check, depth_lattice = 1 - rows_of(ref, check), 1 - rows_of(ref, lattice.labels)
            for delta in (0.0, 0.01, 0.03, 0.1):
                if delta == 0:
                    pred = lattice.interpolate(check)
                else:
                    rel = NodeGrid(labels=lattice.labels, wavelength=lattice.wavelength,
                                   flux=lattice.flux / np.maximum(depth_lattice, delta),
                                   manifest=lattice.manifest, medium=lattice.medium)
                    rel.levels = lattice.levels
                    pred = rel.interpolate(check) * np.maximum(depth_check, delta)
                err = np.abs(pred - true)
                p95 = np.percentile(err, 95, axis=1)
                rel_max = err.max(axis=1) / np.abs(true).max(axis=1)
                print(f"{inst} v_micro {v:g} delta {delta:g}: median p95 {np.median(p95):.5f} "
                      f"max/response {np.median(rel_max):.2f} worst p95 {p95.max():.5f}")


if __name__ == "__main__":
    main()
