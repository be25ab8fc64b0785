#!/usr/bin/env python
"""Interpolation error along teff of the v3 level-0 lattice, at the teff probe nodes.

Level 0 has teff in 1,000-K steps from 6,000 to 11,000 K and 1,500–2,500 K steps above. The
coarse-lattice measurement (``measure_lattice_error.py``) saw the largest interpolation error
along teff at the cool end, but only on 2,000-K steps, where a cubic stencil is worse than a
linear one. The probe nodes (``nodes-v3-teffprobe.txt``: 6,500, 7,500, 8,500 and 9,500 K, and
one node in each kind of level-0 teff step above 10 kK, at level-0 log g and [M/H] values,
synthesized with the level-0 settings into ``data/grids/obaf-sme-v3-teffprobe``) sit halfway
between level-0 teff values, so each measures the level-0 lattice's own error along teff — the
error the training generator makes there — for several interpolants of the same nodes (a probe
node is reported once every stencil's nodes are on disk):

* ``linear``: 2 points in teff (``--stencil 2,4,4``);
* ``cubic``: 4-point Lagrange in teff (``--stencil 4,4,4``);
* ``cubic θ``: 4-point Lagrange in θ = 5040 K / teff, the variable the Boltzmann and Saha
  factors are exponential in;
* ``cubic log``: 4-point Lagrange in teff applied to ln(flux) (line depth is a saturating
  function of the opacity).

log g and [M/H] are always on lattice values here, so only the teff direction is measured.
Printed: per probe node and interpolant, median and 95th percentile of |Δflux| over the
pixels (continuum = 1), per instrument, against the target (half the emulator's error; the
shipped v2 BOSS emulator: median 0.00045, p95 0.0028).

    python data/grids/v3/measure_teff_interpolant.py [--grid data/grids/obaf-sme-v3]
        [--probe data/grids/obaf-sme-v3-teffprobe] [-o OUT.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from zeta_payne.grids.nodes import NodeGrid, load_node_grid

THETA = 5040.0
#: θ is stored ×10⁴ K, so that node keys (teff to 0.1) keep θ to 10⁻⁵ (Lagrange weights do not
#: depend on the scale)
THETA_SCALE = 1e4
INTERPOLANTS = ("linear", "cubic", "cubic θ", "cubic log")
REGIONS = [(6000, 8000), (8000, 10000), (10000, 16000), (16000, 30000)]


def _variant(grid: NodeGrid, name: str) -> tuple[NodeGrid, callable, callable]:
    """The lattice as ``name`` interpolates it: (grid, label transform, flux back-transform)."""
    points = (2, 4, 4) if name == "linear" else (4, 4, 4)
    labels, flux = grid.labels.copy(), grid.flux
    # the planned axes (the manifest's levels), not the values on disk: a stencil across a
    # teff slice the campaign has not reached yet must count as incomplete, not be bridged
    levels = [tuple(np.array(a, float) for a in level) for level in grid.levels]
    to_labels = (lambda q: q)  # noqa: E731
    if name == "cubic θ":
        labels[:, 0] = -THETA * THETA_SCALE / labels[:, 0]  # increasing with teff, as the lattice axes are
        levels = [(np.sort(-THETA * THETA_SCALE / t), g, m) for t, g, m in levels]

        def to_labels(q: np.ndarray) -> np.ndarray:
            q = q.copy()
            q[:, 0] = -THETA * THETA_SCALE / q[:, 0]
            return q
    back = (lambda f: f)  # noqa: E731
    if name == "cubic log":
        flux = np.log(np.clip(flux, 1e-6, None))
        back = np.exp
    variant = NodeGrid(labels=labels, wavelength=grid.wavelength, flux=flux, medium=grid.medium,
                       levels=levels, points=points)
    return variant, to_labels, back


def measure(grid: NodeGrid, probe: NodeGrid) -> list[dict]:
    """|Δflux| statistics of each interpolant at each probe node (rows of dicts)."""
    rows = []
    for name in INTERPOLANTS:
        variant, to_labels, back = _variant(grid, name)
        queries = to_labels(probe.labels)
        full = variant.stencil_on_disk(queries)  # else a smaller stencil would be measured
        interp = back(variant.interpolate(queries, missing="nan"))
        for i, labels in enumerate(probe.labels):
            if not (full[i] and np.all(np.isfinite(interp[i]))):
                continue
            err = np.abs(interp[i] - probe.flux[i])
            rows.append({"labels": labels, "interpolant": name,
                         "median": float(np.median(err)), "p95": float(np.percentile(err, 95)),
                         "max": float(err.max())})
    return rows


def report(grid_dir: Path, probe_dir: Path) -> str:
    out = [f"# Interpolation error along teff of the level-0 lattice (`{grid_dir}`) at the "
           f"probe nodes (`{probe_dir}`)", "",
           "log g and [M/H] on lattice values (cubic stencils there); |Δflux| over the pixels, "
           "continuum = 1. Target: half the emulator's error (shipped v2 BOSS emulator: median "
           "0.00045, p95 0.0028).", ""]
    for instrument in ("boss", "apogee"):
        grid = load_node_grid(grid_dir, instrument)
        probe = load_node_grid(probe_dir, instrument)
        if not np.allclose(grid.wavelength, probe.wavelength):
            raise SystemExit(f"{instrument}: probe and lattice pixels differ")
        rows = measure(grid, probe)
        nodes = sorted({tuple(r["labels"]) for r in rows})
        out += [f"## {instrument}: {len(probe)} probe nodes, {len(nodes)} with every stencil's "
                "nodes on disk", "",
                "| teff region [K] | interpolant | nodes | median \\|Δflux\\| (median over nodes) "
                "| p95 (median over nodes) | p95 (worst node) |", "|---|---|---|---|---|---|"]
        for lo, hi in REGIONS:
            for name in INTERPOLANTS:
                sel = [r for r in rows if r["interpolant"] == name and lo <= r["labels"][0] < hi]
                if sel:
                    out.append(f"| {lo}–{hi} | {name} | {len(sel)} "
                               f"| {np.median([r['median'] for r in sel]):.5f} "
                               f"| {np.median([r['p95'] for r in sel]):.5f} "
                               f"| {max(r['p95'] for r in sel):.5f} |")
        out += ["", "| teff | logg | [M/H] | " + " | ".join(f"{n} median / p95"
                                                         for n in INTERPOLANTS) + " |",
                "|---|---|---|" + "---|" * len(INTERPOLANTS)]
        for node in nodes:
            cells = []
            for name in INTERPOLANTS:
                hit = [r for r in rows if r["interpolant"] == name and tuple(r["labels"]) == node]
                cells.append(f"{hit[0]['median']:.5f} / {hit[0]['p95']:.4f}" if hit else "—")
            out.append(f"| {node[0]:.0f} | {node[1]:.1f} | {node[2]:+.1f} | " + " | ".join(cells)
                       + " |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=Path("data/grids/obaf-sme-v3"))
    parser.add_argument("--probe", type=Path, default=Path("data/grids/obaf-sme-v3-teffprobe"))
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args()
    text = report(args.grid, args.probe)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
