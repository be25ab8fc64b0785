"""Write the node list of the v3 lattice's level 5 for APOGEE (``nodes-v3-level5-apogee.txt``).

Above 10 kK the lattice's teff steps (1,000-2,500 K) are coarser than the ATLAS9 models'
(250 K to 13 kK, 1,000 K above), and where level 3's 125-K steps end at 10 kK the cubic
stencil 9,875 / 10,000 / 11,000 / 12,500 K misses APOGEE's truth syntheses at 10-11 kK by p95
0.00056 (level 2's 9,750 / 10,000 / …: 0.00041; ``docs/validation/v3/README.md``,
"Interpolation against the emulator"). At the three worst hot truth points linear
interpolation over the lattice's teff step misses by p95 0.00003-0.00059, over the ATLAS9
step by 0.00003-0.00015 (``measure_axis_probe_hot.py``).

APOGEE nodes cost 2-9 CPU s, so level 5 puts APOGEE's teff axis on every ATLAS9 model from
10 to 30 kK (no interpolated atmospheres: 250 K to 13 kK, 1,000 K above), at every log g of
level 4 and every [M/H], where an atmosphere exists (``--instruments apogee``). Written in
ascending teff.

Run from the repository root: ``python data/grids/v3/plan_v3_apogee_teff.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3_apogee_logg import lattice_level, write_level  # noqa: E402

TEFF = np.concatenate([np.arange(10000.0, 13000.0, 250.0), np.arange(13000.0, 30001.0, 1000.0)])


def main() -> None:
    level4 = lattice_level(4)
    have = {float(t) for t in level4["teff"]}
    write_level(Path(__file__).parent / "nodes-v3-level5-apogee.txt",
                "data/grids/v3/plan_v3_apogee_teff.py; level 5: teff on every ATLAS9 model from "
                "10 to 30 kK at every log g of level 4, APOGEE, ascending teff",
                [(t, g, m) for t in TEFF if float(t) not in have
                 for g in level4["logg"] for m in level4["m_h"]])


if __name__ == "__main__":
    main()
