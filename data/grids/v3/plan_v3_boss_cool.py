"""Write ``nodes-v3-boss-cool.txt``: BOSS teff planes below 8 kK, where the teff step is the error.

Measured (forty-sixth session, ``python data/grids/v3/measure_axis_probe3.py``): at the four
finished-lattice midpoints below 8 kK with the largest interpolation p95 against the BOSS 3.4
network's held-out report (7,250-7,625 K, log g 2.75-3.25), the lattice's cubic interpolant
halfway along teff alone errs by p95 0.0036-0.0051, along log g 0.0003-0.0019 and along [M/H]
0.0004-0.0007: below 8 kK the error is the teff step, which has not changed since level 1
(500 K from 6,000 to 7,500 K, 250 K to 8,000 K; log g 0.5 dex). At 8-10 kK halving the teff
step cut its part about threefold (``measure_axis_probe2.py``).

So this probe grid halves the teff step below 8 kK: planes at 7,625, 7,250, 6,250, 7,875 and
6,750 K (in the order of the largest midpoint p95 among the 24 midpoints near each: 0.0092,
0.0019, 0.0019, 0.0012, 0.0011), each at every (log g, [M/H]) the lattice has at both
neighbouring teff planes (its 0.5-dex log g and every [M/H]). Log g 2.5-4.0 of every plane
come first, then log g 4.5 and 5.0 of every plane: the worst midpoints are at log g
2.75-3.25, whose cubic log g stencils are the nodes at 2.5-4.0, and on the first plane made
(7,625 K) the lattice's error at the new nodes falls with gravity, per-node p95 median 0.0053
/ 0.0036 / 0.0005 at log g 2.5 / 3.0 / 3.5 (``measure_boss_cool.py``, 18 nodes). The last
67 nodes (log g 4.5-5.0) are kept although the error there is small (at log g 4.0 already
0.0003-0.0004): without them the patch's stencils would end at log g 4.0 and the level below
would answer above it, a seam in the training generator's interpolant. Atmospheres
interpolated between the ATLAS9 models (250-K steps there).

It is a separate grid, as APOGEE's 13-kK probe was: the lattice's levels are tensor products,
and below 8 kK its finer levels (log g every 0.25 dex, from 8 kK up) have no BOSS nodes, so a
new level made the usual way (``--new-level``: the last level's axes plus these) would never
be complete below 8 kK and never used; and APOGEE's finer levels *do* have log g every 0.25
dex below 8 kK (its level 4 covers the box), so new teff values on a shared level would break
APOGEE's stencils there. The take-over (forty-seventh session) is therefore a *patch*
(``zeta_payne.grids.patch``): level 3 refined by these planes over 6,000-8,000 K, for BOSS
alone, tried before the levels (campaign step 16, ``--patch-of 3 --instruments boss``; for
APOGEE as well it is refused: 175 of its nodes would be hidden).

    python -m zeta_payne.grids.campaign synthesize --root data/grids --grid obaf-sme-v3-boss-cool \\
        --nodes-file data/grids/v3/nodes-v3-boss-cool.txt --v-micro 2.0 --instruments boss \\
        --chunk-size 2 --processes 2

Run from the repository root: ``python data/grids/v3/plan_v3_boss_cool.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3_teff_refine import _write_nodes  # noqa: E402

from zeta_payne.grids.nodes import load_node_grid  # noqa: E402

#: new plane, the lattice's teff below and above it (order: measured need)
PLANES = [(7625.0, 7500.0, 7750.0), (7250.0, 7000.0, 7500.0), (6250.0, 6000.0, 6500.0),
          (7875.0, 7750.0, 8000.0), (6750.0, 6500.0, 7000.0)]
LOGG_STEP = 0.5
#: the highest log g of the first pass over the planes
LOW_GRAVITY = 4.0


def main() -> None:
    here = Path(__file__).parent
    lattice = load_node_grid("data/grids/obaf-sme-v3", "boss")
    have = {(float(t), round(float(g), 4), round(float(m), 4)) for t, g, m in lattice.labels}
    nodes, skipped = [], []
    for low_gravity in (True, False):
        for teff, below, above in PLANES:
            pairs = sorted({(g, m) for t, g, m in have
                            if t == below and abs(g / LOGG_STEP - round(g / LOGG_STEP)) < 1e-9
                            and (g <= LOW_GRAVITY) == low_gravity})
            for g, m in pairs:
                (nodes if (above, g, m) in have else skipped).append((teff, g, m))
    path = here / "nodes-v3-boss-cool.txt"
    _write_nodes(path, "data/grids/v3/plan_v3_boss_cool.py; BOSS teff planes below 8 kK, "
                 "log g 2.5-4.0 plane by plane in order of need, then 4.5-5.0", nodes)
    print(f"wrote {path}: {len(nodes)} nodes ({len(skipped)} skipped: a neighbour has no "
          f"atmosphere: {skipped})")


if __name__ == "__main__":
    main()
