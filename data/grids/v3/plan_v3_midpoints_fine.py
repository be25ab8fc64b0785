"""Write midpoint probes of each instrument's *finished* v3 lattice (forty-third session).

The first probes (``plan_v3_midpoints.py``, 24 cell centres) were drawn from the lattice of
level 0 and the first teff refinement. The refinements since (levels 2–6, step 12) put new
nodes through many of them: of the 24, 11 lie on APOGEE's finished lattice in teff and log g
at once (and all 24 in log g) and 8 on BOSS's (this script prints both counts), so those are
halfway between nodes in [M/H] alone and no longer measure the teff and log g interpolation
the refinements were made for.

These probes are the centres of cells of the finished lattice of one instrument: the nodes of
the campaign's plan files that instrument is synthesized on, less the nodes ATLAS9 has no
atmosphere for (the campaign's log). A cell is the smallest box from a node to its next node
along each axis (the node with the next teff at the same log g and [M/H], and so on), kept
when all eight of its corners are nodes; its centre is halfway between nodes in teff, log g
and [M/H] at once. Six cells are drawn per teff region of the held-out report (6–8, 8–10,
10–15, 15–20, 20–30 kK) with a fixed seed, then 18 more per region for APOGEE, whose nodes are
cheap, and for BOSS below 10 kK (``EXTRA_PER_REGION``): 66 probes for BOSS and 120 for APOGEE,
written to
``nodes-v3-midpoints-fine-{boss,apogee}.txt`` and synthesized by ``campaign.sh`` into
``data/grids/obaf-sme-v3-midpoints-fine`` (each for its own instrument only). Scored by
``zeta-payne bundle holdout BUNDLE --holdout-grid data/grids/obaf-sme-v3-midpoints-fine``.

Run from the repository root: ``python data/grids/v3/plan_v3_midpoints_fine.py``.
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from count_level4 import atmosphere_failures  # noqa: E402
from plan_v3_teff_refine import _nodes, _write_nodes  # noqa: E402

Node = tuple[float, float, float]

#: the plan files of each instrument's lattice, as campaign.sh synthesizes them
PLANS = {
    "boss": ["level0", "level1-teff", "level2-teff", "level3-teff", "boss-10k", "level4-logg"],
    "apogee": ["level0", "level1-teff", "level2-teff", "level3-teff", "level4-apogee",
               "level5-apogee", "level6-apogee"],
}
REGIONS = [(6000.0, 8000.0), (8000.0, 10000.0), (10000.0, 15000.0), (15000.0, 20000.0),
           (20000.0, 30001.0)]
PER_REGION = 6
#: more per region, drawn after the first six: APOGEE everywhere (a node ≈ 5 CPU s; its first six
#: at 8-10 kK gave a median of 0.52, all 24 0.32); BOSS (≈ 90-180 CPU s) below 10 kK, where its
#: first six came to 0.55 of the emulator's p95 in both regions and the other regions to ≤ 0.33
EXTRA_PER_REGION = {"boss": (18, 18, 0, 0, 0), "apogee": (18, 18, 18, 18, 18)}
SEED = 43


def cells(nodes: set[Node]) -> list[Node]:
    """Centres of the smallest cells of ``nodes`` whose eight corners are all nodes."""
    along: list[dict[tuple, list[float]]] = [{}, {}, {}]  # per axis: the other two labels -> values
    for node in nodes:
        for axis in range(3):
            rest = tuple(v for i, v in enumerate(node) if i != axis)
            along[axis].setdefault(rest, []).append(node[axis])
    for table in along:
        for values in table.values():
            values.sort()

    def following(node: Node, axis: int) -> float | None:
        values = along[axis][tuple(v for i, v in enumerate(node) if i != axis)]
        k = values.index(node[axis])
        return values[k + 1] if k + 1 < len(values) else None

    centres = []
    for node in sorted(nodes):
        upper = [following(node, axis) for axis in range(3)]
        if any(u is None for u in upper):
            continue
        corners = product(*((lo, hi) for lo, hi in zip(node, upper, strict=True)))
        if all((t, round(g, 4), round(m, 4)) in nodes for t, g, m in corners):
            centres.append(tuple(0.5 * (lo + hi) for lo, hi in zip(node, upper, strict=True)))
    return centres


def main() -> None:
    here = Path(__file__).parent
    failed = {(t, round(g, 4), round(m, 4)) for t, g, m in atmosphere_failures().tolist()}
    for instrument, plans in PLANS.items():
        nodes: set[Node] = set()
        for plan in plans:
            nodes |= set(_nodes(here / f"nodes-v3-{plan}.txt"))
        nodes -= failed
        centres = cells(nodes)
        pairs = {(t, g) for t, g, _ in nodes}
        first = _nodes(here / "nodes-v3-midpoints.txt")
        on = sum((t, g) in pairs for t, g, _ in first)
        print(f"{instrument}: {on} of the {len(first)} first midpoint probes lie on the finished "
              "lattice in teff and log g")
        rng = np.random.default_rng(SEED)
        chosen: list[Node] = []
        for lo, hi in REGIONS:
            pool = [c for c in centres if lo <= c[0] < hi]
            pick = rng.choice(len(pool), size=min(PER_REGION, len(pool)), replace=False)
            chosen += [pool[i] for i in sorted(pick)]
        for (lo, hi), extra in zip(REGIONS, EXTRA_PER_REGION[instrument], strict=True):
            # more, drawn after the first 30 (which they leave as they were)
            pool = [c for c in centres if lo <= c[0] < hi and c not in chosen]
            pick = rng.choice(len(pool), size=min(extra, len(pool)), replace=False)
            chosen += [pool[i] for i in sorted(pick)]
        path = here / f"nodes-v3-midpoints-fine-{instrument}.txt"
        _write_nodes(path, "data/grids/v3/plan_v3_midpoints_fine.py; centres of cells of the finished "
                     f"{instrument} lattice, held out", [(t, round(g, 4), round(m, 4)) for t, g, m in chosen])
        print(f"wrote {path}: {len(chosen)} cell centres of {len(centres)} complete cells "
              f"({len(nodes)} nodes)")


if __name__ == "__main__":
    main()
