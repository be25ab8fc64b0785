"""Write the node list of the v3 lattice's level 4 for APOGEE (``nodes-v3-level4-apogee.txt``).

Measured, not assumed: above 15 kK the APOGEE interpolant's error at held-out syntheses is
above half the emulator's (p95 ratio 0.57 at 15-20 kK, 0.51 above 20 kK, with the shifted
stencils of ``zeta_payne.grids.stencil``), and at the three worst truth points (20-22 kK,
log g 3.1-3.3) the hot axis probes (``measure_axis_probe_hot.py``) find the log g step the
cause: linear interpolation over the lattice's 0.5 dex misses by p95 0.0010-0.0011 (the whole
lattice's error there), over 0.25 dex by 0.0002-0.0004; the teff step matters less (over the
lattice's 2,000-2,500 K 0.00003-0.0006).

An APOGEE node costs 2-9 CPU s against ≈ 110 CPU s for BOSS + APOGEE (``docs/synthesis.md``),
so APOGEE takes the finer log g step everywhere: level 4 is log g every 0.25 dex at every teff
of level 3 and every [M/H] of the lattice, where an ATLAS9 atmosphere can be interpolated
(``--instruments apogee``; BOSS takes the same nodes only at 8-10 kK,
``nodes-v3-level4-logg.txt``, ``--instruments boss``). Written in ascending teff.

Run from the repository root: ``python data/grids/v3/plan_v3_apogee_logg.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from plan_v3 import _exists  # noqa: E402
from plan_v3_teff_refine import _write_nodes  # noqa: E402

from zeta_payne.grids.atmospheres import load_kurucz_grid  # noqa: E402

LOGG = np.arange(2.5, 5.0 + 1e-9, 0.25)


def write_level(path: Path, note: str, candidates: list[tuple[float, float, float]]) -> None:
    """Write the ``candidates`` (teff, log g, [M/H]) that have an ATLAS9 atmosphere to ``path``."""
    atmospheres = load_kurucz_grid()
    nodes = [(float(t), round(float(g), 4), float(m)) for t, g, m in candidates
             if _exists(atmospheres, float(t), float(g), float(m))]
    _write_nodes(path, note, nodes)
    print(f"wrote {path}: {len(nodes)} nodes ({len(candidates) - len(nodes)} without an ATLAS9 "
          "atmosphere left out)")


def lattice_level(k: int) -> dict:
    """Axes of level ``k`` of ``obaf-sme-v3`` (its manifest)."""
    manifest = json.loads((Path(__file__).parent.parent / "obaf-sme-v3" / "manifest.json").read_text())
    return manifest["levels"][k]


def main() -> None:
    level3 = lattice_level(3)
    lattice_logg = {round(float(g), 4) for g in level3["logg"]}
    new_logg = [g for g in LOGG if round(float(g), 4) not in lattice_logg]
    write_level(Path(__file__).parent / "nodes-v3-level4-apogee.txt",
                "data/grids/v3/plan_v3_apogee_logg.py; level 4: log g every 0.25 dex at every "
                "teff of level 3, APOGEE, ascending teff",
                [(t, g, m) for t in level3["teff"] for g in new_logg for m in level3["m_h"]])


if __name__ == "__main__":
    main()
