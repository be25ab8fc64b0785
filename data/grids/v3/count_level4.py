"""BOSS level 4's progress for the ledger: nodes in chunks and their CPU seconds.

Counts the nodes of ``nodes-v3-level4-logg.txt`` below 9,750 K (the 490 not made by step 12)
found in ``data/grids/obaf-sme-v3/boss/chunk_*.npz``, by their node keys (``label_keys``),
and sums the chunks' own ``seconds`` of each (CPU time, under whatever ran beside it).

    .venv/bin/python data/grids/v3/count_level4.py
"""

from __future__ import annotations

import glob

import numpy as np

from zeta_payne.grids.nodes import label_keys


def main() -> int:
    nodes = np.loadtxt("data/grids/v3/nodes-v3-level4-logg.txt", ndmin=2)
    want = {tuple(k) for k in label_keys(nodes[nodes[:, 0] < 9750, :3])}
    seen: set[tuple[int, ...]] = set()
    seconds = 0.0
    for path in sorted(glob.glob("data/grids/obaf-sme-v3/boss/chunk_*.npz")):
        with np.load(path) as chunk:  # labels and seconds only: the flux is not read
            keys, times = label_keys(chunk["labels"]), chunk["seconds"]
        for key, t in zip(map(tuple, keys), times, strict=True):
            if key in want and key not in seen:
                seen.add(key)
                seconds += float(t)
    print(f"BOSS level 4: {len(seen)} of {len(want)} nodes in chunks, {seconds:,.0f} CPU s "
          f"({seconds / 3600:.2f} CPU-h)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
