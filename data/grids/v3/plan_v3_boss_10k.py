"""Write ``nodes-v3-boss-10k.txt``: the BOSS nodes that make the teff spacing step at 10 kK gradual.

Measured (``level-gain.md``, "BOSS level 3 complete"): BOSS's level 3 (teff every 125 K at
8-10 kK) halves the interpolation error below 10 kK but raises it at 10-11 kK (truth p95
0.00074-0.00093 → 0.00106-0.00180), because the cubic teff stencil of a cell 1,000 K wide
then has an outer node 125 K away. APOGEE did the same until its level 5 (teff every 250 K
above 10 kK), which took 10-15 kK to p95 0.00025 (0.00040 with level 3 alone).

BOSS gets the part of that level next to 10 kK: teff 10,250, 10,500, 10,750 and 11,250 K at
every log g of level 4's 0.25-dex axis, and 11,000 K at level 4's new log g values (levels are
cumulative: a level-5 stencil needs level 4's log g); the level-4 nodes at 9,750-10,000 K
(from ``nodes-v3-level4-logg.txt``) come first, since every level-5 stencil of a cell at
10,000-10,250 K reaches 9,875 K. Queries above 11,250 K keep level 3's stencils (1,000-K
cells, no near node). All nodes are taken from the APOGEE lists of the same lattice, so only
atmospheres that exist are listed. Ascending teff, so a partly done list is complete near
10 kK first.

Run from the repository root: ``python data/grids/v3/plan_v3_boss_10k.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nodes_file import write_nodes  # noqa: E402


def _load(name: str) -> np.ndarray:
    return np.loadtxt(HERE / name, ndmin=2)


def main() -> None:
    level4_boss = _load("nodes-v3-level4-logg.txt")
    level4_apogee = _load("nodes-v3-level4-apogee.txt")
    level5_apogee = _load("nodes-v3-level5-apogee.txt")
    parts = [
        level4_boss[np.isin(level4_boss[:, 0], [9750.0, 9875.0, 10000.0])],
        level5_apogee[np.isin(level5_apogee[:, 0], [10250.0, 10500.0, 10750.0, 11250.0])],
        level4_apogee[level4_apogee[:, 0] == 11000.0],
    ]
    nodes = np.unique(np.concatenate(parts), axis=0)
    nodes = nodes[np.lexsort((nodes[:, 2], nodes[:, 1], nodes[:, 0]))]
    write_nodes(HERE / "nodes-v3-boss-10k.txt", nodes,
                "data/grids/v3/plan_v3_boss_10k.py; BOSS: gradual teff spacing at 10 kK, level-4 "
                "nodes at 9,750-10,000 K and level-5 nodes at 10,250-11,250 K, ascending teff")


if __name__ == "__main__":
    main()
