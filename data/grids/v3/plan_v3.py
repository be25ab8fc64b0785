"""Write the node list of the v3 lattice's first level (``nodes-v3-level0.txt``).

The v3 grids (issue 14) widen the box to what the survey's hot-star routing sends — teff
6,000–30,000 K, log g 2.5–5.0 where ATLAS9 atmospheres exist, [M/H] −2.0…+0.8 — over the
full BOSS range (3,600–10,400 Å) and APOGEE. This is the starting lattice; it is refined
afterwards where measured interpolation error at cell midpoints exceeds half the emulator's
(not uniformly). Nodes are ordered coarse → fine: first the sub-lattice of every other axis
value, then the rest, so a partial campaign is already a usable (coarser) grid.

Axes (level 0):

* teff: 6000–10000 in 1000 K, 11000, 12500, 14000, 16000, 18000, 20000, 22500, 25000, 27500,
  30000 K (15 values; 1000 K where the Balmer lines peak, wider above);
* logg: 2.5–5.0 in 0.5 dex (6 values);
* [M/H]: −2.0, −1.5, −1.0, −0.5, 0.0, +0.4, +0.8 (7 values; above +0.5 the atmospheres come
  from atmosnet, see docs/synthesis.md).

Nodes whose ATLAS9 atmosphere cannot be interpolated (low gravity at high teff) are left out
and listed. Run from the repository root: ``python data/grids/v3/plan_v3.py``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from zeta_payne.exceptions import GridError
from zeta_payne.grids.atmospheres import interpolate_atmosphere, load_kurucz_grid

TEFF = [6000, 7000, 8000, 9000, 10000, 11000, 12500, 14000, 16000, 18000, 20000, 22500, 25000,
        27500, 30000]
LOGG = [2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
M_H = [-2.0, -1.5, -1.0, -0.5, 0.0, 0.4, 0.8]


def _exists(atmospheres, teff: float, logg: float, m_h: float) -> bool:
    try:
        interpolate_atmosphere(atmospheres, teff, logg, min(m_h, 0.5))
    except GridError:
        return False
    return True


def main() -> None:
    atmospheres = load_kurucz_grid()
    coarse = (set(TEFF[::2] + TEFF[-1:]), set(LOGG[::2] + LOGG[-1:]), set(M_H[::2] + M_H[-1:]))
    nodes, missing = [], []
    for teff, logg, m_h in itertools.product(TEFF, LOGG, M_H):
        if not _exists(atmospheres, teff, logg, m_h):
            missing.append((teff, logg, m_h))
            continue
        level = 0 if (teff in coarse[0] and logg in coarse[1] and m_h in coarse[2]) else 1
        nodes.append((level, teff, logg, m_h))
    nodes.sort(key=lambda n: (n[0], n[1], n[2], n[3]))
    path = Path(__file__).with_name("nodes-v3-level0.txt")
    lines = ["# teff logg m_h  (data/grids/v3/plan_v3.py; coarse sub-lattice first)"]
    lines += [f"{t:.1f} {g:.4f} {m:.4f}" for _, t, g, m in nodes]
    path.write_text("\n".join(lines) + "\n")
    n0 = sum(1 for n in nodes if n[0] == 0)
    print(f"wrote {path}: {len(nodes)} nodes ({n0} in the coarse sub-lattice); "
          f"{len(missing)} without an ATLAS9 atmosphere, e.g. {missing[:3]}")
    hot = sorted({(t, g) for t, g, _ in missing})
    print("no atmosphere at (teff, logg):", hot)


if __name__ == "__main__":
    main()
