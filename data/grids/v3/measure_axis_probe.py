"""Where the BOSS lattice interpolant's error at 8-10 kK comes from: axis probes.

At the three 8-10 kK v3 truth points with the largest interpolation error, the probe grid
``data/grids/obaf-sme-v3-axisprobe`` (``nodes-v3-axisprobe.txt``, 21 BOSS nodes, the lattice's
own synthesis settings, R 6,000) holds the point itself and its two neighbours on the
ATLAS9 / lattice axis values along teff, log g and [M/H] (the other two labels kept). Printed
per point, p95 and max |Δflux| over all model pixels, from 3,900 Å (the fitted range below
10 kK) and below 3,900 Å:

* truth (stored at R 20,000, degraded) − the point synthesized at R 6,000: what the truth's
  processing contributes;
* the lattice interpolant (cubic, the training generator; and multilinear) − the point;
* linear interpolation along one axis between the two probe neighbours − the point: the
  spectrum's own curvature over one ATLAS9 step along that axis.

Usage: ``python data/grids/v3/measure_axis_probe.py`` (about 10 s).
Made by: ``python -m zeta_payne.grids.campaign synthesize --root data/grids --grid
obaf-sme-v3-axisprobe --nodes-file data/grids/v3/nodes-v3-axisprobe.txt --v-micro 2.0
--instruments boss --chunk-size 2 --processes 2`` (2,504 CPU s).
"""

from __future__ import annotations

import numpy as np

from zeta_payne.grids.nodes import load_node_grid
from zeta_payne.training.accuracy import holdout_on_grid

#: (teff, logg, m_h) of each point and its neighbours' teff, logg and [M/H] values
POINTS = (
    ((8311.2, 3.2549, -0.6013), (8250.0, 8500.0), (3.0, 3.5), (-1.0, -0.5)),
    ((8624.8, 3.7601, -0.0015), (8500.0, 8750.0), (3.5, 4.0), (-0.5, 0.0)),
    ((8845.8, 4.2341, -0.1127), (8750.0, 9000.0), (4.0, 4.5), (-0.5, 0.0)),
)


def _row(labels: np.ndarray, target) -> int | None:
    d = np.abs(labels - np.asarray(target)).max(axis=1)
    j = int(np.argmin(d))
    return j if d[j] < 1e-3 else None


def main() -> None:
    grid = load_node_grid("data/grids/obaf-sme-v3", "boss")
    probe = load_node_grid("data/grids/obaf-sme-v3-axisprobe", "boss")
    if not np.allclose(probe.wavelength, grid.wavelength):
        raise SystemExit("probe grid and lattice differ in wavelength")
    held = holdout_on_grid("data/truth/synth-truth-v3", "boss", grid)
    lam = grid.wavelength
    ranges = {"all": lam >= 0, ">=3900": lam >= 3900, "<3900": lam < 3900}

    def stats(d: np.ndarray) -> str:
        return "  ".join(
            f"{k} {np.nanpercentile(np.abs(d[m]), 95):.5f} / {np.nanmax(np.abs(d[m])):.4f}"
            for k, m in ranges.items()
        )

    print("p95 / max |Δflux|:", ", ".join(ranges))
    for point, *neighbours in POINTS:
        s = probe.flux[_row(probe.labels, point)].astype(float)
        print(f"point teff {point[0]} logg {point[1]} [M/H] {point[2]}")
        t = _row(held.labels, point)
        print(f"  truth − point              {stats(held.flux[t].astype(float) - s)}")
        for stencil in ((4, 4, 4), (2, 2, 2)):
            grid.points = stencil
            it = grid.interpolate(np.array([point]), missing="nan")[0]
            print(f"  lattice {stencil} − point  {stats(it - s)}")
        for axis, (name, (a, b)) in enumerate(zip(("teff", "logg", "m_h"), neighbours, strict=True)):
            lo, hi = list(point), list(point)
            lo[axis], hi[axis] = a, b
            w = (point[axis] - a) / (b - a)
            lin = (1 - w) * probe.flux[_row(probe.labels, lo)] + w * probe.flux[_row(probe.labels, hi)]
            print(f"  linear along {name:4s} (w {w:.2f}) {stats(lin.astype(float) - s)}")


if __name__ == "__main__":
    main()
