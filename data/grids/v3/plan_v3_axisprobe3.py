"""Write the third axis probes: which axis the finished BOSS lattice's midpoint error is along.

BOSS 3.4's network (trained on the finished lattice, forty-fifth session) has a smaller
emulator error than 3.2.6's, so the same interpolation error weighs more against it: at the
finished lattice's midpoint probes interpolation / emulator p95 is 0.51 below 8 kK and 0.59 at
8-10 kK (``docs/validation/v3/release-boss-3.4/out/holdout-boss.md``, 66 held-out nodes),
above the ½ issue 14 asks for. A midpoint is halfway between nodes along all three axes at
once, so it cannot say which axis's step to halve next — at 8-10 kK teff (125 K) and log g
(0.25 dex) were halved already and [M/H] (0.4-0.5 dex) not; below 8 kK nothing has been since
level 1.

For the four midpoints with the largest interpolation p95 in each of those two regions (read
from that report), three probes each: halfway along one axis, on the cell's lower corner in
the other two. The lattice's interpolant (the training generator's cubic stencil) at a probe
errs along that axis alone. 24 BOSS nodes (``nodes-v3-axisprobe3.txt``), synthesized with

    python -m zeta_payne.grids.campaign synthesize --root data/grids --grid obaf-sme-v3-axisprobe3 \
        --nodes-file data/grids/v3/nodes-v3-axisprobe3.txt --v-micro 2.0 --instruments boss \
        --chunk-size 2 --processes 1

and measured by ``measure_axis_probe3.py``. Run from the repository root:
``python data/grids/v3/plan_v3_axisprobe3.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from count_level4 import atmosphere_failures  # noqa: E402
from plan_v3_midpoints_fine import PLANS  # noqa: E402
from plan_v3_teff_refine import _nodes, _write_nodes  # noqa: E402

REPORT = Path("docs/validation/v3/release-boss-3.4/out/holdout-boss.md")
SECTION = "## Against real syntheses at 66 held-out nodes"
REGIONS = [(6000.0, 8000.0), (8000.0, 10000.0)]
WORST = 4
AXES = ("teff", "logg", "m_h")

Node = tuple[float, float, float]


def worst_midpoints(report: Path = REPORT) -> list[tuple[Node, float]]:
    """The ``WORST`` midpoints with the largest interpolation p95 per region, from the report."""
    text = report.read_text()
    body = text[text.index(SECTION):]
    body = body[: body.find("\n## ", 1)] if "\n## " in body[1:] else body
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"\d+", cells[0]):
            t, g, m, _, p95 = (float(c) for c in cells[:5])
            rows.append(((t, g, m), p95))
    chosen = []
    for lo, hi in REGIONS:
        region = sorted((r for r in rows if lo <= r[0][0] < hi), key=lambda r: -r[1])
        chosen += region[:WORST]
    return chosen


def neighbours(nodes: set[Node], point: Node) -> list[tuple[float, float]]:
    """Per axis, the lattice values just below and above ``point``'s value."""
    out = []
    for axis in range(3):
        values = sorted({n[axis] for n in nodes})
        below = max(v for v in values if v < point[axis])
        above = min(v for v in values if v > point[axis])
        out.append((below, above))
    return out


def probes(nodes: set[Node], point: Node) -> list[tuple[str, Node]]:
    """Halfway along each axis, on the lower corner of ``point``'s cell in the other two."""
    bounds = neighbours(nodes, point)
    corner = [lo for lo, _ in bounds]
    out = []
    for axis, name in enumerate(AXES):
        probe = list(corner)
        probe[axis] = 0.5 * (bounds[axis][0] + bounds[axis][1])
        for end in bounds[axis]:  # the two nodes it lies halfway between are on the lattice
            node = list(corner)
            node[axis] = end
            if (node[0], round(node[1], 4), round(node[2], 4)) not in nodes:
                raise SystemExit(f"{point}: no node at {node} along {name}")
        out.append((name, (probe[0], round(probe[1], 4), round(probe[2], 4))))
    return out


def main() -> None:
    here = Path(__file__).parent
    failed = {(t, round(g, 4), round(m, 4)) for t, g, m in atmosphere_failures().tolist()}
    nodes: set[Node] = set()
    for plan in PLANS["boss"]:
        nodes |= set(_nodes(here / f"nodes-v3-{plan}.txt"))
    nodes -= failed
    out: list[Node] = []
    for point, p95 in worst_midpoints():
        made = probes(nodes, point)
        print(f"midpoint {point} (interpolation p95 {p95:.5f}): "
              + ", ".join(f"{name} {probe}" for name, probe in made))
        out += [probe for _, probe in made]
    path = here / "nodes-v3-axisprobe3.txt"
    _write_nodes(path, "data/grids/v3/plan_v3_axisprobe3.py; per worst midpoint of the finished BOSS "
                 "lattice, halfway along teff, log g, [M/H] in turn, on its cell's lower corner "
                 "in the other two", out)
    print(f"wrote {path}: {len(out)} probes")


if __name__ == "__main__":
    main()
