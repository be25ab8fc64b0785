"""Which axis the finished BOSS lattice's midpoint interpolation error is along (axis probes 3).

For each midpoint ``plan_v3_axisprobe3.py`` chose (the four with the largest interpolation
p95 below 8 kK and at 8-10 kK in BOSS 3.4's held-out report), the lattice interpolant — all
levels, the training generator's cubic stencil (4, 4, 4) — is compared with the synthesis at
its three probes, each halfway along one axis on the cell's lower corner in the other two.
Printed per midpoint: the midpoint's own p95 (from the report), and per axis the probe's
median and p95 |Δflux| over all model pixels; then per region the median over midpoints of
each axis's p95. The axis with the largest is the one whose step a next level should halve.

    python data/grids/v3/measure_axis_probe3.py [--grid data/grids/obaf-sme-v3:4,4,4:6]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from count_level4 import atmosphere_failures  # noqa: E402
from measure_truth_interpolation import lattice_and_probes  # noqa: E402
from plan_v3_axisprobe3 import AXES, REGIONS, probes, worst_midpoints  # noqa: E402
from plan_v3_midpoints_fine import PLANS  # noqa: E402
from plan_v3_teff_refine import _nodes  # noqa: E402

PROBES = "data/grids/obaf-sme-v3-axisprobe3"


def main(argv: list[str] | None = None) -> None:
    spec, lattice, made = lattice_and_probes(argv, __doc__.split("\n\n")[0], PROBES)
    here = Path(__file__).parent
    failed = {(t, round(g, 4), round(m, 4)) for t, g, m in atmosphere_failures().tolist()}
    nodes = set()
    for plan in PLANS["boss"]:
        nodes |= set(_nodes(here / f"nodes-v3-{plan}.txt"))
    nodes -= failed

    def synthesis(label) -> np.ndarray | None:
        d = np.abs(made.labels - np.asarray(label)).max(axis=1)
        j = int(np.argmin(d))
        return made.flux[j].astype(float) if d[j] < 1e-3 else None

    print(f"lattice {spec}; probes {PROBES} ({len(made)} made)")
    header = " | ".join(f"{a} median / p95" for a in AXES)
    print(f"| midpoint (teff, log g, [M/H]) | its p95 | {header} |")
    print("|---|---|" + "---|" * len(AXES))
    per_region: dict[tuple, dict[str, list[float]]] = {r: {a: [] for a in AXES} for r in REGIONS}
    for point, p95 in worst_midpoints():
        cells = []
        region = next(r for r in REGIONS if r[0] <= point[0] < r[1])
        for name, probe in probes(nodes, point):
            truth = synthesis(probe)
            if truth is None:
                cells.append("not made")
                continue
            d = np.abs(lattice.interpolate(np.asarray(probe)[None, :])[0] - truth)
            q = float(np.percentile(d, 95))
            per_region[region][name].append(q)
            cells.append(f"{np.median(d):.5f} / {q:.5f}")
        print(f"| {point} | {p95:.5f} | " + " | ".join(cells) + " |")
    print()
    print("| teff region [K] | " + " | ".join(f"{a}: median p95 (n)" for a in AXES) + " |")
    print("|---|" + "---|" * len(AXES))
    for (lo, hi), by_axis in per_region.items():
        print(f"| {lo:.0f}–{hi:.0f} | " + " | ".join(
            f"{np.median(v):.5f} ({len(v)})" if v else "– (0)" for v in by_axis.values()) + " |")


if __name__ == "__main__":
    main()
