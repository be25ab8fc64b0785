"""What each BOSS teff plane below 8 kK replaces: the lattice's interpolant at the plane's nodes.

Every node of ``obaf-sme-v3-boss-cool`` (``plan_v3_boss_cool.py``) lies halfway between two
teff planes of the lattice, on the lattice's log g and [M/H]: the lattice's interpolant there
(the training generator's cubic stencil, every level) errs along teff alone, as the third axis
probes did at four points per region. This measures it at every node made so far, per plane
and per log g: median and p95 over the plane's nodes of each node's p95 |Δflux| over all
model pixels. Where that is well below half the emulator's p95 there (BOSS 3.4's network:
0.0025 below 8 kK, ``docs/validation/v3/release-boss-3.4/out/holdout-boss.md``), the plane
buys little; where it is above, the plane is what the midpoints need.

    python data/grids/v3/measure_boss_cool.py [--grid data/grids/obaf-sme-v3:4,4,4:6]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from measure_truth_interpolation import lattice_and_probes  # noqa: E402

PLANES = "data/grids/obaf-sme-v3-boss-cool"


def main(argv: list[str] | None = None) -> None:
    spec, lattice, made = lattice_and_probes(argv, __doc__.split("\n\n")[0], PLANES)
    ok = lattice.covers(made.labels)
    p95 = np.full(len(made), np.nan)
    flux = lattice.interpolate(made.labels[ok])
    p95[ok] = np.percentile(np.abs(flux - made.flux[ok].astype(float)), 95, axis=1)
    print(f"lattice {spec}; planes {PLANES}: {len(made)} nodes made, "
          f"{int(ok.sum())} inside the lattice")
    print("| teff [K] | log g | nodes | p95 |Δflux| per node: median | max |")
    print("|---|---|---|---|---|")
    for teff in np.unique(made.labels[:, 0]):
        on = made.labels[:, 0] == teff
        for logg in [*np.unique(made.labels[on, 1]), None]:
            sel = on & ok & (True if logg is None else made.labels[:, 1] == logg)
            if not sel.any():
                continue
            name = "all" if logg is None else f"{logg:.2f}"
            print(f"| {teff:.0f} | {name} | {int(sel.sum())} | {np.median(p95[sel]):.5f} | "
                  f"{np.max(p95[sel]):.5f} |")


if __name__ == "__main__":
    main()
