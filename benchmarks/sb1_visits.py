#!/usr/bin/env python
"""How many visits an RV-variability test needs: the ideal SB1 detection rate per visit count.

The multi-epoch runs of ``bench_joint.py`` measured the detection of binaries with K ≥ 20 km/s
at 3 and 4 visits (``docs/validation/joint/sb1*/``) and found the method at the *ideal* rate —
the detection probability of the same χ² test on unbiased Gaussian RVs with the measured
visit-to-visit errors, at the true RVs (non-central χ²). This takes the measured binaries (their
K and their relative visit RV errors, the median over their visits) and recomputes the ideal
rate for other visit counts, each visit at a random orbital phase (circular orbits), averaged
over ``--draws`` phase sets per binary. It is an upper bound for any RV test at this precision,
not a fit: it says which visit count the ≥ 90 % target needs.

    python benchmarks/sb1_visits.py docs/validation/joint/sb1 docs/validation/joint/sb1-4visits
        [--visits 3 4 5 6 8] [--threshold 3e-3]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import chi2, ncx2

sys.path.insert(0, str(Path(__file__).parent))
from bench_joint import ROOT, relative_rv_error  # noqa: E402


def binaries(paths: list[Path], k_min: float) -> list[tuple[float, float]]:
    """(K, median relative visit RV error) of every measured binary with K ≥ ``k_min`` (the
    errors as the runs' variability test used them: ``bench_joint.relative_rv_error``)."""
    calibration = json.loads((ROOT / "data/bundles/zeta-payne-apogee/error_calibration.json")
                             .read_text())
    rv_model = calibration["models"]["v_rad"]
    out = []
    for path in paths:
        results = json.loads((path / "results.json").read_text())
        for e in results.get("epochs", []):
            if e["binary"] and e["k"] >= k_min:
                errs = [relative_rv_error(m, rv_model) for m in e["joint"]["members"]]
                out.append((float(e["k"]), float(np.median(errs))))
    return out


def ideal_rate(stars: list[tuple[float, float]], visits: int, threshold: float, draws: int,
               rng: np.random.Generator) -> float:
    level = chi2.isf(threshold, visits - 1)
    rates = []
    for k, err in stars:
        phases = rng.uniform(0, 2 * np.pi, size=(draws, visits))
        rv = k * np.sin(phases)
        lam = np.sum((rv - rv.mean(axis=1, keepdims=True)) ** 2, axis=1) / err**2
        rates.append(np.mean(ncx2.sf(level, visits - 1, np.maximum(lam, 1e-12))))
    return float(np.mean(rates))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="bench_joint.py output folders")
    parser.add_argument("--visits", nargs="+", type=int, default=[3, 4, 5, 6, 8])
    parser.add_argument("--threshold", type=float, default=3e-3,
                        help="p(constant) below which a star is flagged (JointOptions default)")
    parser.add_argument("--k-min", type=float, default=20.0)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stars = binaries(args.runs, args.k_min)
    if not stars:
        raise SystemExit("no binaries with per-visit errors in those runs")
    errs = np.array([e for _, e in stars])
    print(f"{len(stars)} measured binaries with K ≥ {args.k_min:g} km/s from "
          f"{', '.join(map(str, args.runs))}; relative visit RV error median {np.median(errs):.1f} "
          f"km/s (10–90 %: {np.percentile(errs, 10):.1f}–{np.percentile(errs, 90):.1f})")
    print(f"| visits | ideal detection rate, p(constant) < {args.threshold:g} |")
    print("|---|---|")
    rng = np.random.default_rng(args.seed)
    for n in args.visits:
        print(f"| {n} | {ideal_rate(stars, n, args.threshold, args.draws, rng):.0%} |", flush=True)


if __name__ == "__main__":
    main()
