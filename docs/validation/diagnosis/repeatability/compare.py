"""Compare the three runs of run.sh: per label, how many fits moved and by how much."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

LABELS = ("teff", "logg", "v_sini", "m_h", "v_micro", "v_rad")


def load(folder: Path) -> list[dict[str, str]]:
    """The rows of one run's results.csv, in case order."""
    with open(folder / "results.csv", newline="") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: (float(r["snr"]), int(r["index"])))


def main(here: str) -> None:
    """Print a markdown table: reference run one-a against one-b and two."""
    root = Path(here)
    ref = load(root / "one-a")
    print("| compared with `one-a` | label | fits moved > 1e-6 of their error | largest move | "
          "largest move / error |")
    print("|---|---|---|---|---|")
    for run in ("one-b", "two", "batch-8", "batch-24"):
        other = load(root / run)
        assert [r["index"] for r in other] == [r["index"] for r in ref]
        for label in LABELS:
            if label not in ref[0]:
                continue
            a = np.array([float(r[label] or "nan") for r in ref])
            b = np.array([float(r[label] or "nan") for r in other])
            e = np.array([float(r[f"e_{label}"] or "nan") for r in ref])
            d = np.abs(a - b)
            rel = d / e
            ok = np.isfinite(rel)
            moved = int((rel[ok] > 1e-6).sum())
            i = int(np.nanargmax(np.where(ok, rel, -1.0)))
            print(f"| `{run}` ({len(a)} fits) | {label} | {moved} | {d[i]:.3g} | {rel[i]:.2g} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).parent))
