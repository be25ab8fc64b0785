"""BOSS level 4's progress for the ledger: nodes in chunks and their CPU seconds.

Counts the nodes of ``nodes-v3-level4-logg.txt`` below 9,750 K (the 490 not made by step 12)
found in ``data/grids/obaf-sme-v3/boss/chunk_*.npz``, by their rounded teff, log g and [M/H],
and sums the chunks' own ``seconds`` of each (CPU time, under whatever ran beside it).

    .venv/bin/python data/grids/v3/count_level4.py
"""

from __future__ import annotations

import glob

import numpy as np


def main() -> int:
    nodes = np.loadtxt("data/grids/v3/nodes-v3-level4-logg.txt", ndmin=2)
    want = {tuple(np.round(r[:3], 4)) for r in nodes[nodes[:, 0] < 9750]}
    seen: set[tuple[float, ...]] = set()
    seconds = 0.0
    for path in sorted(glob.glob("data/grids/obaf-sme-v3/boss/chunk_*.npz")):
        chunk = np.load(path)
        times = chunk["seconds"] if "seconds" in chunk else np.full(len(chunk["labels"]), np.nan)
        for labels, t in zip(chunk["labels"], times, strict=True):
            key = tuple(np.round(labels[:3], 4))
            if key in want and key not in seen:
                seen.add(key)
                seconds += float(t)
    print(f"BOSS level 4: {len(seen)} of {len(want)} nodes in chunks, {seconds:,.0f} CPU s "
          f"({seconds / 3600:.2f} CPU-h)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
