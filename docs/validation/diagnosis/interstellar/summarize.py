"""What the interstellar lines and bands do to BOSS fits, from stored Table 3 studies.

For each study folder (a ``zeta-payne validate`` output: ``results.csv``), per S/N: the plain
RMS, median and 95th percentile of |Δ| of [M/H] and the median Δteff over all 200 fits (no
convergence cut, unlike the paper's Table 3 criterion, which a shifted median confuses), then
the median Δ[M/H] per bin of true teff and of the case's E(B−V).

    python docs/validation/diagnosis/interstellar/summarize.py \
        docs/validation/v3/synthesis-boss docs/validation/diagnosis/interstellar/ism-3.2.4 ...
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

TEFF_BINS = ((6000, 8000), (8000, 10000), (10000, 15000), (15000, 30001))
EBV_BINS = ((0.0, 0.33), (0.33, 0.67), (0.67, 1.01))


def summarize(folder: Path) -> list[str]:
    rows = list(csv.DictReader(open(folder / "results.csv")))
    out = [f"## {folder}", "",
           "| S/N | [M/H] RMS | median Δ[M/H] | p95 \\|Δ[M/H]\\| | median Δteff [%] | "
           + " | ".join(f"Δ[M/H] {lo // 1000}–{hi // 1000} kK (E(B−V) <⅓, ⅓–⅔, >⅔)" for lo, hi in TEFF_BINS)
           + " |", "|---" * (5 + len(TEFF_BINS)) + "|"]
    for snr in ("inf", "100", "50"):
        sub = [r for r in rows if r["snr"] == snr]
        if not sub:
            continue
        dm = np.array([float(r["m_h"]) - float(r["true_m_h"]) for r in sub])
        dt = np.array([float(r["teff"]) / float(r["true_teff"]) - 1.0 for r in sub])
        teff = np.array([float(r["true_teff"]) for r in sub])
        ebv = np.array([float(r["case_ebv"]) for r in sub])
        cells = []
        for lo, hi in TEFF_BINS:
            meds = []
            for elo, ehi in EBV_BINS:
                pick = (teff >= lo) & (teff < hi) & (ebv >= elo) & (ebv < ehi)
                meds.append(f"{np.median(dm[pick]):+.2f}" if pick.any() else "–")
            cells.append(" / ".join(meds))
        head = (f"| {snr} | {np.sqrt(np.mean(dm ** 2)):.3f} | {np.median(dm):+.3f} | "
                f"{np.percentile(np.abs(dm), 95):.3f} | {100 * np.median(dt):+.2f} | ")
        out.append(head + " | ".join(cells) + " |")
    return out + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", nargs="+", type=Path)
    args = parser.parse_args()
    for folder in args.studies:
        print("\n".join(summarize(folder)))


if __name__ == "__main__":
    main()
