"""Write a campaign nodes file (``teff logg m_h`` rows) and say what it holds.

Shared by the ``plan_v3_*.py`` scripts of this folder; imported with this folder on the path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_nodes(out: Path, nodes: np.ndarray, header: str) -> None:
    """Write ``nodes`` (shape (N, 3): teff [K], log g, [M/H]) to ``out`` under a ``# teff logg
    m_h  (header)`` line, and print the count per teff."""
    np.savetxt(out, nodes, fmt=["%.1f", "%.4f", "%.4f"], header=f"teff logg m_h  ({header})")
    teffs, counts = np.unique(nodes[:, 0], return_counts=True)
    per_teff = ", ".join(f"{t:.0f} K: {c}" for t, c in zip(teffs, counts, strict=True))
    print(f"{out}: {len(nodes)} nodes; {per_teff}")
