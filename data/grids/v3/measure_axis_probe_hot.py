"""Is the APOGEE interpolation error above 15 kK the lattice's teff step or its log g step?

At the three APOGEE truth points above 15 kK with the largest interpolation error (all at
20-22 kK and log g 3.1-3.3, just above the atmospheres' log g floor of 3.0 there) the probe
grid ``data/grids/obaf-sme-v3-axisprobe-hot`` (``nodes-v3-axisprobe-hot.txt``, 22 APOGEE
nodes at 2 CPU s each) holds, at each point's log g and [M/H], the lattice's teff neighbours
(20,000 and 22,500 K) and the ATLAS9 ones (1,000-K steps); at its teff and [M/H] log g 3.0,
3.25 and 3.5; and the point itself at the lattice's settings. Printed per point, p95 and max
|Δflux| over all model pixels against the point:

* the truth synthesis (stored at R 80,000) degraded to the lattice's resolution;
* the lattice's interpolant (cubic; linear in [M/H]; multilinear), as the training generator
  sees it;
* linear along teff over the lattice step and over the ATLAS9 step;
* linear along log g over the lattice step (0.5 dex) and over half of it.

Usage: ``python data/grids/v3/measure_axis_probe_hot.py`` (a few seconds).
Made by: ``python -m zeta_payne.grids.campaign synthesize --root data/grids --grid
obaf-sme-v3-axisprobe-hot --nodes-file data/grids/v3/nodes-v3-axisprobe-hot.txt --v-micro 2.0
--instruments apogee --chunk-size 2 --processes 1``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zeta_payne.grids.convert import degrade_node_grid
from zeta_payne.grids.nodes import load_node_grid

sys.path.insert(0, str(Path(__file__).parent))
from measure_truth_interpolation import TRUTH_RESOLUTION, grid_view  # noqa: E402

#: (teff, logg, m_h) of each point and its lattice and ATLAS9 teff neighbours
POINTS = (
    ((21718.5, 3.1312, -0.1052), (20000.0, 22500.0), (21000.0, 22000.0)),
    ((20644.1, 3.2597, -0.328), (20000.0, 22500.0), (20000.0, 21000.0)),
    ((20061.7, 3.2025, -0.2326), (20000.0, 22500.0), (20000.0, 21000.0)),
)


def _stats(d: np.ndarray) -> str:
    d = d[np.isfinite(d)]  # the degraded truth has no value at the model range's ends
    return f"p95 {np.percentile(np.abs(d), 95):.5f}  max {np.abs(d).max():.4f}"


def main() -> None:
    probe = load_node_grid("data/grids/obaf-sme-v3-axisprobe-hot", "apogee")
    flux = probe.flux.astype(float)

    def spectrum(target) -> np.ndarray:
        d = np.abs(probe.labels - np.asarray(target)).max(axis=1)
        j = int(np.argmin(d))
        if d[j] > 1e-3:
            raise SystemExit(f"no probe node at {target}")
        return flux[j]

    def linear(point, axis: int, a: float, b: float) -> np.ndarray:
        lo, hi = list(point), list(point)
        lo[axis], hi[axis] = a, b
        w = (point[axis] - a) / (b - a)
        return (1 - w) * spectrum(lo) + w * spectrum(hi)

    r_model = float(probe.manifest["instruments"]["apogee"]["R_model"])
    truth = degrade_node_grid(load_node_grid("data/truth/synth-truth-v3", "apogee"),
                              TRUTH_RESOLUTION["apogee"], probe.wavelength, r_model)
    for point, lattice, atlas in POINTS:
        s = spectrum(point)
        print(f"point teff {point[0]} logg {point[1]} [M/H] {point[2]}")
        t = int(np.argmin(np.abs(truth.labels - np.asarray(point)).max(axis=1)))
        print(f"  truth (R 80,000 degraded) − point     {_stats(truth.flux[t].astype(float) - s)}")
        for stencil in ("4,4,4", "4,4,2", "2,2,2"):
            _, grid = grid_view(f"data/grids/obaf-sme-v3:{stencil}:1", "apogee")
            if not np.allclose(grid.wavelength, probe.wavelength):
                raise SystemExit("the probe and the lattice differ in wavelength")
            it = grid.interpolate(np.array([point]), missing="nan")[0].astype(float)
            print(f"  lattice level 1 ({stencil}) − point       {_stats(it - s)}")
        for a, b in (lattice, atlas):
            print(f"  linear teff {a:.0f}-{b:.0f} − point  {_stats(linear(point, 0, a, b) - s)}")
        half = (3.0, 3.25) if point[1] < 3.25 else (3.25, 3.5)
        print(f"  linear logg 3.0-3.5 − point         {_stats(linear(point, 1, 3.0, 3.5) - s)}")
        print(f"  linear logg {half[0]}-{half[1]} − point       {_stats(linear(point, 1, *half) - s)}")


if __name__ == "__main__":
    main()
