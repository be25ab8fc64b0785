"""Write ``nodes-v3-level6-apogee.txt``: APOGEE's level 6, teff 13,500 and 14,500 K.

Measured (``apogee-13k.md``, from ``measure_apogee_13k.py`` on the probe grid of
``plan_v3_apogee_13k.py``): the lattice's teff step jumps from 250 K (level 5, to 13,000 K)
to 1,000 K above, and the cubic stencil across the jump is what leaves the shipped APOGEE
bundle's 10–15 kK midpoints at 0.60 of the emulator's median error (issue 14's target: ½).
Nodes at 13,500 and 14,500 K at every (log g, [M/H]) of the lattice there make the spacing
250 / 500 / 500 / 500 / 500 / 1,000 K: with the shipped network the midpoints' ratio goes to
0.43 / 0.37 (median / p95) and the 31 truth points at 12.5–15 kK from 0.37 / 0.43 to
0.20 / 0.29 — better there than 13,250–13,750 K (0.27 / 0.36), which leaves the 1,000-K step
at 14 kK with an outer node 250 K away.

The nodes are the probe's own (``campaign.sh`` takes them over with ``--take-from``).
Run from the repository root: ``python data/grids/v3/plan_v3_apogee_level6.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from nodes_file import write_nodes  # noqa: E402

TEFF = (13500.0, 14500.0)


def main() -> None:
    probe = np.loadtxt(HERE / "nodes-v3-apogee-13k.txt", ndmin=2)
    nodes = probe[np.isin(probe[:, 0], TEFF)]
    write_nodes(HERE / "nodes-v3-level6-apogee.txt", nodes,
                "data/grids/v3/plan_v3_apogee_level6.py; APOGEE level 6: teff 13,500 and 14,500 K at "
                "the lattice's log g and [M/H], a gradual teff step at 13-15 kK")


if __name__ == "__main__":
    main()
