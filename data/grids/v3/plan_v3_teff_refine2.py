"""Write the node list of the v3 lattice's second teff refinement (``nodes-v3-level2-teff.txt``).

Measured, not assumed: after the first teff refinement (500-K step below 10 kK) the BOSS
interpolation error at held-out syntheses in 8,000–10,000 K is still p95 0.0029 against the
emulator's 0.0035 (ratio 0.84, target 0.5; ``docs/validation/v3/holdout-boss.md``). Leaving
one node out along each axis in turn (a cubic stencil over the remaining nodes, so the step
doubled; ``measure_axis_error.py``) says where: along teff the median over nodes of each
node's p95 |Δflux| is 0.0050 / 0.0080 / 0.0048 / 0.0040 / 0.0018 at 7,500 / 8,000 / 8,500 /
9,000 / 9,500 K, along log g 0.0011 / 0.0058 / 0.0029 / 0.0020 / 0.0021, along [M/H]
≈ 0.001 everywhere. Teff dominates, most between 7,500 and 9,000 K (Balmer lines near their
maximum). So the teff step is halved again there: slices at 8,250, 7,750, 8,750, 9,250 and
9,750 K (in that order of measured need) at every (log g, [M/H]) whose neighbours 250 K below
and above are on disk, as a further refinement level (``campaign synthesize --new-level``).

Run from the repository root: ``python data/grids/v3/plan_v3_teff_refine2.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3_teff_refine import _nodes, _write_nodes  # noqa: E402

SLICES = [8250.0, 7750.0, 8750.0, 9250.0, 9750.0]


def main() -> None:
    here = Path(__file__).parent
    have = set(_nodes(here / "nodes-v3-level0.txt")) | set(_nodes(here / "nodes-v3-level1-teff.txt"))
    pairs = sorted({(g, m) for _, g, m in have})
    nodes, skipped = [], []
    for teff in SLICES:
        for g, m in pairs:
            if (teff - 250.0, g, m) in have and (teff + 250.0, g, m) in have:
                nodes.append((teff, g, m))
            elif any(t == teff - 250.0 and (gg, mm) == (g, m) for t, gg, mm in have):
                skipped.append((teff, g, m))
    path = here / "nodes-v3-level2-teff.txt"
    _write_nodes(path, "data/grids/v3/plan_v3_teff_refine2.py; second teff refinement level, "
                 "8,250 K first", nodes)
    print(f"wrote {path}: {len(nodes)} nodes; {len(skipped)} left out (a neighbour is not on "
          f"disk): {skipped}")


if __name__ == "__main__":
    main()
