"""Write ``nodes-v3-apogee-13k.txt``: APOGEE probe nodes for the teff step at 13 kK.

Measured (``docs/validation/v3/holdout-apogee.md``, the midpoint probes): APOGEE 3.2.6's
interpolant meets "interpolation ≤ ½ emulator" everywhere but at the five 10–15 kK midpoints'
median (0.60), set by the three probes at 13,250 K (interpolation median 0.00009–0.00013,
the emulator's 0.00011–0.00014). The lattice's teff step changes there from 250 K (level 5, to
13,000 K) to 1,000 K (the ATLAS9 models above), so the cubic stencil of the cell
13,000–14,000 K is 12,750 / 13,000 / 14,000 / 15,000 K — an outer node a quarter of the cell
away, what made BOSS's 10–11 kK worse with its level 3 (``level-gain.md``). The three probes
are also off the lattice in [M/H] (+0.2, −0.75).

The probe grid (``obaf-sme-v3-apogee-13k``, APOGEE only, ≈ 3 CPU s a node) holds:

* teff 13,250, 13,500 and 13,750 K at every (log g, [M/H]) the lattice has at both 13,000 and
  14,000 K, and 14,500 K at those it has at 14,000 and 15,000 K (interpolated atmospheres), so
  the measurement can add 13,500 K alone (a gradual 250 / 500 / 500 / 1,000-K spacing),
  13,500 and 14,500 K (250 / 500 / 500 / 500 / 500 / 1,000) or 13,250–13,750 K;
* the three 13,250-K midpoints' log g and [M/H] at 13,000 and 14,000 K (on the lattice's teff,
  off its [M/H]), which isolate the [M/H] part of their error;
* one lattice node (13,000 K, 4.0, 0.0), synthesized again: the probe's physics is the
  lattice's to the last digit (a check the measurement makes first).

Run from the repository root: ``python data/grids/v3/plan_v3_apogee_13k.py``; synthesized by
``python -m zeta_payne.grids.campaign synthesize --root data/grids --grid
obaf-sme-v3-apogee-13k --nodes-file data/grids/v3/nodes-v3-apogee-13k.txt --v-micro 2.0
--instruments apogee --chunk-size 10 --processes 1``; measured by
``data/grids/v3/measure_apogee_13k.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zeta_payne.grids.nodes import load_node_grid

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nodes_file import write_nodes  # noqa: E402

ROOT = HERE.parents[2]
#: the 13,250-K midpoint probes (``nodes-v3-midpoints.txt``)
MIDPOINTS = ((13250.0, 3.75, 0.2), (13250.0, 4.75, -0.75), (13250.0, 4.75, 0.2))
#: new teff values [K] and the lattice teff values on either side
NEW_TEFF = {13250.0: (13000.0, 14000.0), 13500.0: (13000.0, 14000.0), 13750.0: (13000.0, 14000.0),
            14500.0: (14000.0, 15000.0)}
#: a lattice node synthesized again
CHECK = (13000.0, 4.0, 0.0)


def main() -> None:
    lattice = load_node_grid(ROOT / "data/grids/obaf-sme-v3", "apogee").labels
    at = {t: {(round(g, 4), round(m, 4)) for _, g, m in lattice[lattice[:, 0] == t]}
          for t in (13000.0, 14000.0, 15000.0)}
    nodes = [(t, g, m) for t, (lo, hi) in NEW_TEFF.items() for g, m in sorted(at[lo] & at[hi])]
    nodes += [(t, g, m) for _, g, m in MIDPOINTS for t in (13000.0, 14000.0)]
    nodes.append(CHECK)
    nodes = np.unique(np.array(nodes), axis=0)
    write_nodes(HERE / "nodes-v3-apogee-13k.txt", nodes,
                "data/grids/v3/plan_v3_apogee_13k.py; APOGEE probes: teff 13,250 / 13,500 / 13,750 / "
                "14,500 K at the lattice's log g and [M/H], and the 13,250-K midpoints' log g and [M/H] "
                "at 13,000 and 14,000 K")


if __name__ == "__main__":
    main()
