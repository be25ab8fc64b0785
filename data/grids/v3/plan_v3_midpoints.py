"""Write the v3 lattice's midpoint probes (``nodes-v3-midpoints.txt``).

Issue 14 asks for interpolation error ≤ ½ the emulator's "at held-out nodes and at
midpoints". The synthesis-truth sets are the held-out nodes (random points); the midpoints are
these: the centres of cells of the *finished* lattice (level 0 plus the teff refinement below
10 kK), halfway between nodes in teff, log g and [M/H] at once — where an interpolant is
furthest from every node. Six cells per teff region (6–8, 8–10, 10–16, 16–30 kK), drawn with
a fixed seed among the cells whose eight corners are all nodes (no atmosphere holes), 24 nodes
in all, synthesized with the level-0 settings into ``data/grids/obaf-sme-v3-midpoints``
(``campaign.sh``) and scored with ``zeta-payne bundle holdout``.

Run from the repository root: ``python data/grids/v3/plan_v3_midpoints.py``.
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3_teff_refine import _nodes  # noqa: E402

REGIONS = [(6000.0, 8000.0), (8000.0, 10000.0), (10000.0, 16000.0), (16000.0, 30000.0)]
PER_REGION = 6
SEED = 14


def main() -> None:
    here = Path(__file__).parent
    have = set(_nodes(here / "nodes-v3-level0.txt")) | set(_nodes(here / "nodes-v3-level1-teff.txt"))
    axes = [sorted({n[i] for n in have}) for i in range(3)]
    cells = []
    for it, ig, im in product(*(range(len(a) - 1) for a in axes)):
        corners = product(*((a[k], a[k + 1]) for a, k in zip(axes, (it, ig, im), strict=True)))
        if all(c in have for c in corners):
            cells.append(tuple(0.5 * (a[k] + a[k + 1]) for a, k in zip(axes, (it, ig, im), strict=True)))
    rng = np.random.default_rng(SEED)
    chosen = []
    for lo, hi in REGIONS:
        pool = [c for c in cells if lo <= c[0] < hi]
        pick = rng.choice(len(pool), size=min(PER_REGION, len(pool)), replace=False)
        chosen += [pool[i] for i in sorted(pick)]
    path = here / "nodes-v3-midpoints.txt"
    lines = ["# teff logg m_h  (data/grids/v3/plan_v3_midpoints.py; centres of cells of the finished "
             "v3 lattice, held out)"]
    lines += [f"{t:.1f} {g:.4f} {m:.4f}" for t, g, m in chosen]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(chosen)} cell centres of {len(cells)} complete cells")


if __name__ == "__main__":
    main()
