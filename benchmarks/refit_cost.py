"""What the shipped refit rules cost, and what starting a refit from the first fit saves and loses.

A bundle's refit rules (``hold_outside``, ``blue_limit_outside``, ``masked_bands_outside``,
``hold_unconstrained_at_edge``) fit a spectrum a second time, from a fresh pre-search, when its
first fit ends in their range. This prints, per instrument, over emulator spectra at labels
drawn uniformly in the box (S/N 50, the shipped fit defaults, one core, per-spectrum path):
the share of spectra refitted, the median seconds of the first fit and of the refit, the
refit's pre-search / least-squares / uncertainty seconds, and the refits' share of the total.
Beside it, the same refits started from the first fit (``refit_start="first"``, no pre-search):
their median seconds, and how their χ² and labels compare with the fresh pre-search's (the
share with χ² higher by more than 1 and 10, and the median and largest |Δ| per label in units
of the pre-search refit's covariance error).

The labels are uniform over the box, so the refitted share is the box's hot share (above
10 kK for the v_micro rule), not the survey's; the seconds per fit do not depend on that.

Usage (from the repository root; ≈ 1 s per BOSS fit, 2 s per APOGEE fit)::

    python benchmarks/refit_cost.py [--n 30] [--instruments boss,apogee] [--bundle-boss DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fit import each_bundle, make_spectra  # noqa: E402

from zeta_payne.fitting import Fitter  # noqa: E402


def measure(bundle, instrument: str, n: int) -> dict:
    """Time the first fit and both kinds of refit (if any) of ``n`` spectra separately."""
    spectra = make_spectra(bundle, instrument, n + 1, 50.0, seed=3)
    fitter = Fitter(bundle, Fitter.default_options(bundle))
    quick = Fitter(bundle, fitter.options.updated(refit_start="first"))
    fitter.fit(spectra[0])  # warm-up
    quick.fit(spectra[0])
    first, again, fast, dchi2, dlab, stages = [], [], [], [], [], {}
    for s in spectra[1:]:
        t = time.perf_counter()
        results = fitter._fit_each([s], None)
        first.append(time.perf_counter() - t)
        t = time.perf_counter()
        final = fitter._hold_outside([s], list(results), batched=False)
        if final[0] is results[0]:
            continue
        again.append(time.perf_counter() - t)
        t = time.perf_counter()
        other = quick._hold_outside([s], list(results), batched=False)[0]
        fast.append(time.perf_counter() - t)
        old = final[0]
        dchi2.append(other.chi2 - old.chi2)
        dlab.append(np.abs(other.labels - old.labels) / old.cov_e_labels)
        for key, value in old.timing.items():
            stages.setdefault(key, []).append(value)
    return {"first": np.array(first), "again": np.array(again), "fast": np.array(fast),
            "dchi2": np.array(dchi2), "dlab": np.array(dlab).reshape(-1, len(fitter.label_names)),
            "names": fitter.label_names, "stages": {k: float(np.median(v)) for k, v in stages.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--instruments", default="boss,apogee")
    ap.add_argument("--bundle-boss")
    ap.add_argument("--bundle-apogee")
    args = ap.parse_args()
    print(f"# refit cost: 1 thread, torch {torch.__version__}, S/N 50, labels uniform in the box")
    with tempfile.TemporaryDirectory() as tmp:
        for inst, bundle in each_bundle(args, Path(tmp)):
            d = bundle.describe()
            res = measure(bundle, inst, args.n)
            first, again = res["first"], res["again"]
            total = first.sum() + again.sum()
            stages = ", ".join(f"{k} {v:.2f}" for k, v in res["stages"].items())
            print(f"{inst} ({d['name']}@{d['version']}): refitted {again.size} of {first.size}; "
                  f"first fit median {np.median(first):.2f} s; refit median "
                  f"{np.median(again) if again.size else float('nan'):.2f} s [{stages}]; "
                  f"refits {again.sum() / total:.0%} of the {total:.0f} s")
            if not again.size:
                continue
            fast, dchi2 = res["fast"], res["dchi2"]
            new_total = first.sum() + fast.sum()
            print(f"{inst} refit from the first fit: median {np.median(fast):.2f} s; "
                  f"total {new_total:.0f} s ({new_total / total:.2f}x); χ² above the pre-search "
                  f"refit's by > 1: {np.mean(dchi2 > 1):.0%}, > 10: {np.mean(dchi2 > 10):.0%}, "
                  f"below by > 1: {np.mean(dchi2 < -1):.0%}")
            with np.errstate(invalid="ignore"):
                shifts = ", ".join(
                    f"{name} {np.nanmedian(col):.2f}/{np.nanmax(col):.1f}"
                    for name, col in zip(res["names"], res["dlab"].T, strict=True)
                    if np.isfinite(col).any())
            print(f"{inst} |Δlabel| / cov error, median/max over the refits: {shifts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
