"""Write the node lists of the v3 v_micro grids (``nodes-v3-vmicro*.txt``).

Microturbulence moves the fitted [M/H] of F stars by about 0.1 dex per km/s
(``docs/validation/diagnosis/``, C), so v3 cannot fix it at 2 km/s for the cool stars. Rather
than a full fourth lattice axis (every node below 10 kK at two more v_micro values: ≈ 330
nodes, ≈ 18 CPU-h), the v_micro *response* — the change of the spectrum from v_micro 2 to
v_micro v — is synthesized on the coarse sub-lattice only and interpolated from there onto
the full v_micro-2 lattice (the response is smooth in teff, log g and [M/H]; the check nodes
measure how well that holds, and the v3 bundle's report states it):

* ``nodes-v3-vmicro.txt`` — synthesized at v_micro 1 and 4 km/s (grids ``obaf-sme-v3-vmic1``
  and ``obaf-sme-v3-vmic4``): teff 6,000, 8,000, 10,000 K × log g 2.5, 3.5, 4.5, 5.0 × [M/H]
  −2, −1, 0, +0.8 (the coarse sub-lattice of ``nodes-v3-level0.txt`` below 11 kK, where
  metal lines carry [M/H]), then check nodes between them (7,000 K; 9,000 K);
* ``nodes-v3-vmicro-check.txt`` — at v_micro 3 km/s (``obaf-sme-v3-vmic3``): the axis's
  curvature between 2 and 4 km/s.

Every node is also a node of ``nodes-v3-level0.txt`` (v_micro 2). Nodes without an ATLAS9
atmosphere are left out. Run from the repository root: ``python data/grids/v3/plan_v3_vmicro.py``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

TEFF = [6000, 8000, 10000]
LOGG = [2.5, 3.5, 4.5, 5.0]
M_H = [-2.0, -1.0, 0.0, 0.8]
CHECK = [(7000, 3.5, -1.0), (7000, 3.5, 0.0), (7000, 4.5, -1.0), (7000, 4.5, 0.0), (9000, 4.0, 0.0)]
CURVATURE = [(6000, 4.5, 0.0), (7000, 4.5, 0.0), (8000, 4.5, 0.0), (7000, 3.5, -1.0)]


def _level0(path: Path) -> set[tuple[float, float, float]]:
    rows = [line.split() for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return {(float(t), round(float(g), 4), round(float(m), 4)) for t, g, m in rows}


def _write(path: Path, nodes, level0, header: str) -> None:
    keep = [n for n in nodes if (float(n[0]), round(n[1], 4), round(n[2], 4)) in level0]
    lines = [f"# teff logg m_h  ({header}; data/grids/v3/plan_v3_vmicro.py)"]
    lines += [f"{t:.1f} {g:.4f} {m:.4f}" for t, g, m in keep]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(keep)} nodes ({len(nodes) - len(keep)} without a v_micro-2 node)")


def main() -> None:
    here = Path(__file__).parent
    level0 = _level0(here / "nodes-v3-level0.txt")
    coarse = list(itertools.product(TEFF, LOGG, M_H))
    _write(here / "nodes-v3-vmicro.txt", coarse + CHECK, level0, "v_micro 1 and 4 km/s")
    _write(here / "nodes-v3-vmicro-check.txt", CURVATURE, level0, "v_micro 3 km/s")


if __name__ == "__main__":
    main()
