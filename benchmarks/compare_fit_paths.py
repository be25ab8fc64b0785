"""The batched fitter (the path of ``fit``, ``run`` and the tasks) against the per-spectrum
fitter (``Fitter.fit``, the reference path) on the same synthesis-truth cases.

Give two ``zeta-payne validate`` output folders made with the same bundle, truth, seed,
``--n`` and S/N list, one with the default ``--batch-size`` (16) and one with
``--batch-size 1``; the cases are then the same spectra (checked: true labels and RV per
case). Prints, per S/N:

* how many cases the two paths put in the same minimum (every free label and the RV within
  one reported error ``e_*`` of each other), and of the others which path ended at the lower
  χ² (the better minimum of the same objective);
* each path's RMS over all finite fits (not Table 3's, which is over converged fits), and
  its all-label reliability over Table 3's labels (no v_micro; the paper's criterion,
  :func:`zeta_payne.validation.statistics.summarize`).

Usage::

    zeta-payne validate --bundle B --generator synthesis --truth T --snr inf,100,50 --n 200 \\
        --seed 23 -o batched
    zeta-payne validate ... --batch-size 1 -o single
    python benchmarks/compare_fit_paths.py batched single
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from zeta_payne.validation.statistics import summarize

LABELS = ("teff", "logg", "v_sini", "m_h", "v_micro")


def read(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    """``{snr: {column: values (by case index)}}`` of a study's ``results.csv``."""
    with open(folder / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, dict[str, np.ndarray]] = {}
    for snr in dict.fromkeys(r["snr"] for r in rows):
        sub = sorted((r for r in rows if r["snr"] == snr), key=lambda r: int(r["index"]))
        out[snr] = {
            key: np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in sub])
            for key in sub[0]
            if key not in ("instrument", "snr", "case_truth_kind")
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batched", type=Path, help="validate output, --batch-size 16 (default)")
    parser.add_argument("single", type=Path, help="validate output, --batch-size 1")
    args = parser.parse_args()
    a, b = read(args.batched), read(args.single)
    print(f"batched: {args.batched}    per-spectrum: {args.single}")
    for snr in a:
        if snr not in b:
            continue
        x, y = a[snr], b[snr]
        labels = [n for n in LABELS if f"true_{n}" in x and np.nanstd(x[f"true_{n}"] - x[n]) > 0]
        for key in [*(f"true_{n}" for n in labels), "true_v_rad"]:
            if not np.allclose(x[key], y[key], equal_nan=True):
                raise SystemExit(f"S/N {snr}: the two studies' cases differ ({key})")
        n = x["true_v_rad"].size
        same = np.ones(n, dtype=bool)
        for name in [*labels, "v_rad"]:
            e = np.fmax(x[f"e_{name}"], y[f"e_{name}"])
            diff = np.abs(x[name] - y[name])
            same &= (diff <= e) | ~np.isfinite(e) & (diff < 1e-6)
        other = ~same
        lower_a = other & (x["chi2_fit"] < y["chi2_fit"])
        lower_b = other & (y["chi2_fit"] < x["chi2_fit"])
        print(
            f"\nS/N {snr}: {n} cases; same minimum (every label and RV within one e_*): "
            f"{int(same.sum())}; different: {int(other.sum())} (lower chi2: batched "
            f"{int(lower_a.sum())}, per-spectrum {int(lower_b.sum())})"
        )
        if other.any():
            rel = np.abs(x["chi2_fit"][other] - y["chi2_fit"][other]) / y["chi2_fit"][other]
            print(f"  |Δchi2| / chi2 of the differing cases: {' '.join(f'{v:.1e}' for v in rel)}")
        print("  label      RMS batched   RMS per-spectrum")
        for name in [*labels, "v_rad"]:
            ra = np.sqrt(np.nanmean((x[name] - x[f"true_{name}"]) ** 2))
            rb = np.sqrt(np.nanmean((y[name] - y[f"true_{name}"]) ** 2))
            print(f"  {name:<9} {ra:12.4g} {rb:16.4g}")
        paper = [m for m in [*labels, "v_rad"] if m != "v_micro"]  # Table 3's all-label row
        rel_a = summarize({m: x[m] - x[f"true_{m}"] for m in paper})["all"]["reliability"]
        rel_b = summarize({m: y[m] - y[f"true_{m}"] for m in paper})["all"]["reliability"]
        print(f"  all-label reliability: batched {100 * rel_a:.1f} %, per-spectrum {100 * rel_b:.1f} %")


if __name__ == "__main__":
    main()
