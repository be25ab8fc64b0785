"""Write the label points of the synthesis-truth test sets (``truth-points-v1.txt``, ``-v3.txt``).

The synthesis-truth set is the truth of the headline simulation study: spectra synthesized
directly (SME, ATLAS9, the project's line list) at random label points — never lattice nodes,
never training points — stored far above the instruments' resolution. Two kinds of point,
interleaved so that any prefix of the file is a fair sample of both:

* ``in``: 200 scrambled-Sobol points in the shipped bundles' box (teff 6000–25000 K, logg 3–5,
  [M/H] −0.8…+0.8; the paper's Table 1 box without v_micro);
* ``out``: 64 points outside it, in four groups of 16 (metal-poor [M/H] −2.0…−0.8; low gravity
  logg 2.5–3.0; too hot 25–30 kK; too cool 5000–6000 K), each group otherwise inside the box
  — for scoring the out-of-box flags.

``--version v3`` writes the set for the v3 bundles (issue 14), synthesized with the v3 line
list: 200 ``in`` points in the paper's box as above (Table 3 is compared with the paper's
there) with other seeds, 64 ``in:v3`` points in the part of the v3 box outside it (teff
6,000–30,000 K, log g 2.5–5.0, [M/H] −2.0…+0.8: [M/H] below −0.8, log g below 3, teff above
25 kK), and 64 points outside the v3 box in four groups of 16 (very metal-poor −2.5…−2.0; low
gravity 2.0–2.5; too hot 30–35 kK; too cool 5,000–6,000 K).

``--version vmicro`` writes the points of the microturbulence truth sets (twenty-sixth
session): 40 points where the v3 bundles fit v_micro (teff 6,000–10,000 K), kept off the v3
box's edges by its scoring margins (teff 6,200–9,800 K, log g 3.0–4.6, [M/H] −1.6…+0.4). The
same points are synthesized at several microturbulences (``make_truth_vmicro.sh``), so the
fits at one v_micro compare with those at another point by point.

Points whose ATLAS9 atmosphere cannot be interpolated (no low-gravity hot models) are
redrawn. Run from the repository root::

    python data/truth/make_truth_points.py [--version v3]

The file is deterministic (fixed seeds); the campaign that synthesizes it is
``data/truth/make_truth.sh``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import qmc

from zeta_payne.exceptions import GridError
from zeta_payne.grids.atmospheres import interpolate_atmosphere, load_kurucz_grid

BOX = {"teff": (6000.0, 25000.0), "logg": (3.0, 5.0), "m_h": (-0.8, 0.8)}
OUT_GROUPS = {
    "metal-poor": {"m_h": (-2.0, -0.8)},
    "low-gravity": {"logg": (2.5, 3.0)},
    "too-hot": {"teff": (25000.0, 30000.0)},
    "too-cool": {"teff": (5000.0, 6000.0)},
}
N_IN, N_OUT_PER_GROUP = 200, 16
#: The microturbulence truth sets' box: where the v3 bundles fit v_micro, inside the v3 box's
#: scoring margins (``zeta_payne.validation.realstars.EDGE_MARGIN``).
BOX_VMICRO = {"teff": (6200.0, 9800.0), "logg": (3.0, 4.6), "m_h": (-1.6, 0.4)}
N_VMICRO = 40

#: The v3 bundles' box (``data/grids/v3/plan_v3.py``) and what lies beyond it.
BOX_V3 = {"teff": (6000.0, 30000.0), "logg": (2.5, 5.0), "m_h": (-2.0, 0.8)}
V3_EXTENSION = {  # inside the v3 box, outside the paper's: 16 points each
    "v3-metal-poor": {"m_h": (-2.0, -0.8)},
    "v3-low-gravity": {"logg": (2.5, 3.0)},
    "v3-hot": {"teff": (25000.0, 30000.0)},
    "v3-metal-poor-low-gravity": {"m_h": (-2.0, -0.8), "logg": (2.5, 3.0)},
}
OUT_GROUPS_V3 = {
    "metal-poor": {"m_h": (-2.5, -2.0)},
    "low-gravity": {"logg": (2.0, 2.5)},
    "too-hot": {"teff": (30000.0, 35000.0)},
    "too-cool": {"teff": (5000.0, 6000.0)},
}


def _draw(n: int, box: dict, seed: int, atmospheres) -> np.ndarray:
    sampler = qmc.Sobol(d=3, scramble=True, seed=seed)
    lo = np.array([box[k][0] for k in ("teff", "logg", "m_h")])
    hi = np.array([box[k][1] for k in ("teff", "logg", "m_h")])
    rows = []
    while len(rows) < n:
        for u in sampler.random(64):
            x = lo + u * (hi - lo)
            x = np.array([round(x[0], 1), round(x[1], 4), round(x[2], 4)])
            try:
                interpolate_atmosphere(atmospheres, *x)
            except GridError:
                continue
            rows.append(x)
            if len(rows) == n:
                break
    return np.array(rows)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", choices=("v1", "v3", "vmicro"), default="v1")
    version = parser.parse_args(argv).version
    atmospheres = load_kurucz_grid()
    if version == "vmicro":
        rows = _draw(N_VMICRO, BOX_VMICRO, 20261205, atmospheres)
        lines = ["# teff logg m_h kind  (data/truth/make_truth_points.py --version vmicro)"]
        lines += [f"{r[0]:.1f} {r[1]:.4f} {r[2]:.4f}  # in:vmicro" for r in rows]
        path = Path(__file__).with_name("truth-points-vmicro.txt")
        path.write_text("\n".join(lines) + "\n")
        print(f"wrote {path}: {len(rows)} points")
        return
    seed = 20261201 if version == "v1" else 20261301
    inside = _draw(N_IN, BOX, seed, atmospheres)
    groups = []
    if version == "v3":
        for k, (name, change) in enumerate(V3_EXTENSION.items()):
            box = dict(BOX, **change)
            groups.append((f"in:{name}", _draw(N_OUT_PER_GROUP, box, seed + 11 + k, atmospheres)))
    for k, (name, change) in enumerate((OUT_GROUPS if version == "v1" else OUT_GROUPS_V3).items()):
        box = dict(BOX if version == "v1" else BOX_V3, **change)
        if version == "v3" and name in ("too-hot", "too-cool"):
            box = dict(BOX, **change)  # the paper's logg and [M/H] ranges
        groups.append((f"out:{name}", _draw(N_OUT_PER_GROUP, box, seed + 1 + k, atmospheres)))
    lines = [f"# teff logg m_h kind  (data/truth/make_truth_points.py --version {version}; interleaved)"]
    out_rows = [(name, r) for i in range(N_OUT_PER_GROUP) for name, g in groups for r in g[i:i + 1]]
    step = N_IN // len(out_rows) + 1
    j = 0
    for i, row in enumerate(inside):
        lines.append(f"{row[0]:.1f} {row[1]:.4f} {row[2]:.4f}  # in")
        if i % step == step - 1 and j < len(out_rows):
            name, r = out_rows[j]
            lines.append(f"{r[0]:.1f} {r[1]:.4f} {r[2]:.4f}  # {name}")
            j += 1
    for name, r in out_rows[j:]:
        lines.append(f"{r[0]:.1f} {r[1]:.4f} {r[2]:.4f}  # {name}")
    path = Path(__file__).with_name(f"truth-points-{version}.txt")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}: {N_IN} in-box + {len(out_rows)} others")


if __name__ == "__main__":
    main()
