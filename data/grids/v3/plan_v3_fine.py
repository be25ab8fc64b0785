"""Write the node lists of the v3 lattice's fine levels at 8-10 kK (``nodes-v3-level3-teff.txt``,
``nodes-v3-level4-logg.txt``).

Measured, not assumed: at 8-10 kK the lattice's nodes are the ATLAS9 models themselves
(250 K, 0.5 dex), and the interpolant's error at held-out syntheses there stays above half the
emulator's (BOSS p95 ratio 0.84-0.86 after the second teff level). The axis probes
(``measure_axis_probe.py``, ``measure_axis_probe2.py``) measured the cause and the cure at the
three truth points with the largest error: linear interpolation over one ATLAS9 step misses by
p95 0.0021-0.0029 along teff and 0.0013-0.0016 along log g, and halving the step with nodes
whose atmospheres are interpolated between the ATLAS9 models cuts that 2.9-3.3-fold along teff
and 3.3-4.7-fold along log g.

So two more levels halve both steps over 8,000-10,000 K, at every [M/H] of the lattice: level 3
teff every 125 K (at the lattice's log g values), level 4 log g every 0.25 dex (at every teff
of level 3) — every combination not already on disk, since a tensor-product stencil needs them
all. Level 3 is usable alone once done (the larger error is along teff); each is written in
ascending teff, so the campaign fills the 8,000-8,500 K cells (the largest errors:
``docs/synthesis.md``, "The second teff refinement") first, and a partly done level is used
wherever its stencil is complete.

Run from the repository root: ``python data/grids/v3/plan_v3_fine.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3_teff_refine import _nodes, _write_nodes  # noqa: E402

TEFF = np.arange(8000.0, 10000.0 + 1.0, 125.0)
LOGG_LATTICE = np.arange(2.5, 5.0 + 1e-9, 0.5)
LOGG = np.arange(2.5, 5.0 + 1e-9, 0.25)


def main() -> None:
    here = Path(__file__).parent
    have = set()
    for name in ("nodes-v3-level0.txt", "nodes-v3-level1-teff.txt", "nodes-v3-level2-teff.txt"):
        have |= set(_nodes(here / name))
    metals = sorted({m for _, _, m in have})
    for name, logg, note in (
        ("nodes-v3-level3-teff.txt", LOGG_LATTICE, "level 3: teff every 125 K at 8-10 kK"),
        ("nodes-v3-level4-logg.txt", LOGG, "level 4: log g every 0.25 dex at level 3's teff"),
    ):
        nodes = [
            (float(t), round(float(g), 4), m)
            for t in TEFF
            for g in logg
            for m in metals
            if (float(t), round(float(g), 4), m) not in have
        ]
        have |= set(nodes)
        path = here / name
        _write_nodes(path, f"data/grids/v3/plan_v3_fine.py; {note}, ascending teff", nodes)
        print(f"wrote {path}: {len(nodes)} nodes")


if __name__ == "__main__":
    main()
