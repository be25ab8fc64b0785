"""BOSS level 4's progress for the ledger: nodes in chunks and their CPU seconds.

Counts the nodes of ``nodes-v3-level4-logg.txt`` below 9,750 K (the 490 not made by step 12)
found in ``data/grids/obaf-sme-v3/boss/chunk_*.npz``, by their node keys (``label_keys``),
and sums the chunks' own ``seconds`` of each (CPU time, under whatever ran beside it).
With ``--require-complete`` it exits 1 unless every node not in a chunk is one the campaign
logged as failed for want of an ATLAS9 atmosphere (``data/grids/obaf-sme-v3/campaign.log``:
"is not in the grid"; at [M/H] −1.5 the ATLAS9 grid stops at log g 4.5 at 8,000 K), i.e. unless
the step is as done as it can be: the test the BOSS 3.4 release cycle starts on.

    .venv/bin/python data/grids/v3/count_level4.py [--require-complete]
"""

from __future__ import annotations

import glob
import re
import sys

import numpy as np

from zeta_payne.grids.nodes import label_keys


def atmosphere_failures(log: str = "data/grids/obaf-sme-v3/campaign.log") -> np.ndarray:
    """Labels (n, 3: teff, log g, [M/H]) of the nodes the campaign logged as failed because
    ATLAS9 has no atmosphere for them (also used by ``plan_v3_midpoints_fine.py``)."""
    pattern = re.compile(r"node teff=(\S+) logg=(\S+) m_h=(\S+) failed: GridError: .* is not in the grid")
    labels = []
    with open(log, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            match = pattern.search(line)
            if match:
                labels.append([float(v) for v in match.groups()])
    return np.array(labels, dtype=float).reshape(-1, 3)


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
    if "--require-complete" in sys.argv[1:]:
        missing = want - seen
        failed = atmosphere_failures()
        unexplained = missing - {tuple(k) for k in label_keys(failed)} if len(failed) else missing
        print(f"not in chunks: {len(missing)}, of which without an ATLAS9 atmosphere: "
              f"{len(missing) - len(unexplained)}")
        return 1 if unexplained else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
