"""Write midpoint probes of the BOSS lattice below 8 kK once its teff planes are patched in.

The finished-lattice probes below 8 kK (``plan_v3_midpoints_fine.py``, 24 of them) are centres
of the cells of a lattice whose teff step there was 500 K; every one of them lies at 6,250,
6,750, 7,250, 7,625 or 7,875 K — on the planes that campaign step 15 makes
(``plan_v3_boss_cool.py``). Once the planes are taken over as a patch of level 3
(``--patch-of 3``), those probes are halfway between nodes in log g and [M/H] only and no
longer measure the teff interpolation the planes were made for: scored against the patched
lattice they would flatter it.

These are the centres of cells of the patched lattice below 8 kK (teff 6,125 … 7,937.5 K),
drawn as ``plan_v3_midpoints_fine.py`` draws them (cells whose eight corners are all nodes,
less the nodes ATLAS9 has no atmosphere for), as many as it drew below 8 kK, with a seed of
their own. Written to ``nodes-v3-midpoints-cool-boss.txt`` and synthesized by ``campaign.sh``
(step 16) into ``data/grids/obaf-sme-v3-midpoints-cool`` for BOSS only (≈ 1 CPU-h), and
scored next to the old probes:

    python data/grids/v3/measure_truth_interpolation.py --instrument boss \\
        --truth data/grids/obaf-sme-v3-midpoints-cool --regions 6000,7000,8000 \\
        --grid data/grids/obaf-sme-v3:4,4,4 --grid data/grids/obaf-sme-v3:4,4,4:3

Run from the repository root: ``python data/grids/v3/plan_v3_midpoints_cool.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from count_level4 import atmosphere_failures  # noqa: E402
from plan_v3_midpoints_fine import PLANS, cells  # noqa: E402
from plan_v3_teff_refine import _nodes, _write_nodes  # noqa: E402

#: the patch's teff range [K] and the probes drawn in it (plan_v3_midpoints_fine drew 24)
TEFF_MAX = 8000.0
COUNT = 24
SEED = 47


def main() -> None:
    here = Path(__file__).parent
    failed = {(t, round(g, 4), round(m, 4)) for t, g, m in atmosphere_failures().tolist()}
    nodes = set()
    for plan in [*PLANS["boss"], "boss-cool"]:
        nodes |= set(_nodes(here / f"nodes-v3-{plan}.txt"))
    nodes = {n for n in nodes - failed if n[0] <= TEFF_MAX}
    old = set(_nodes(here / "nodes-v3-midpoints-fine-boss.txt"))
    pool = [c for c in cells(nodes) if c[0] < TEFF_MAX and c not in old]
    rng = np.random.default_rng(SEED)
    pick = sorted(rng.choice(len(pool), size=min(COUNT, len(pool)), replace=False))
    chosen = [(pool[i][0], round(pool[i][1], 4), round(pool[i][2], 4)) for i in pick]
    path = here / "nodes-v3-midpoints-cool-boss.txt"
    _write_nodes(path, "data/grids/v3/plan_v3_midpoints_cool.py; centres of cells of the BOSS "
                 "lattice below 8 kK with its teff planes, held out", chosen)
    print(f"wrote {path}: {len(chosen)} cell centres of {len(pool)} complete cells "
          f"({len(nodes)} nodes at teff <= {TEFF_MAX:g} K); teff "
          f"{sorted({t for t, _, _ in chosen})}")


if __name__ == "__main__":
    main()
