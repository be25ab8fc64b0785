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
from pathlib import Path

import numpy as np

from zeta_payne.validation.report import load_studies
from zeta_payne.validation.runner import StudyResult
from zeta_payne.validation.statistics import summarize

LABELS = ("teff", "logg", "v_sini", "m_h", "v_micro")


def by_snr(folder: Path) -> dict[float, StudyResult]:
    """A validate folder's studies, by S/N."""
    studies, _ = load_studies(folder)
    return {st.snr: st for st in studies}


def columns(st: StudyResult, labels: list[str]) -> dict[str, np.ndarray]:
    """Fitted value, truth and reported error of each label and the RV, by case."""
    out = {"v_rad": st.v_rad, "true_v_rad": st.true_rv, "e_v_rad": st.e_v_rad}
    for name in labels:
        i = st.label_names.index(name)
        out |= {name: st.labels[:, i], f"true_{name}": st.true_labels[:, i], f"e_{name}": st.e_labels[:, i]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batched", type=Path, help="validate output, --batch-size 16 (default)")
    parser.add_argument("single", type=Path, help="validate output, --batch-size 1")
    args = parser.parse_args()
    a, b = by_snr(args.batched), by_snr(args.single)
    print(f"batched: {args.batched}    per-spectrum: {args.single}")
    for snr in a:
        if snr not in b:
            continue
        labels = [n for n in LABELS if n in a[snr].label_names]
        labels = [n for n in labels if np.nanstd(a[snr].deltas([n])[n]) > 0]  # fitted, not held
        x, y = columns(a[snr], labels), columns(b[snr], labels)
        for key in [*(f"true_{n}" for n in labels), "true_v_rad"]:
            if not np.allclose(x[key], y[key], equal_nan=True):
                raise SystemExit(f"S/N {snr:g}: the two studies' cases differ ({key})")
        n = x["true_v_rad"].size
        same = np.ones(n, dtype=bool)
        for name in [*labels, "v_rad"]:
            e = np.fmax(x[f"e_{name}"], y[f"e_{name}"])
            diff = np.abs(x[name] - y[name])
            same &= (diff <= e) | ~np.isfinite(e) & (diff < 1e-6)
        other = ~same
        chi2_a, chi2_b = a[snr].chi2_fit, b[snr].chi2_fit
        lower_a = other & (chi2_a < chi2_b)
        lower_b = other & (chi2_b < chi2_a)
        print(
            f"\nS/N {snr:g}: {n} cases; same minimum (every label and RV within one e_*): "
            f"{int(same.sum())}; different: {int(other.sum())} (lower chi2: batched "
            f"{int(lower_a.sum())}, per-spectrum {int(lower_b.sum())})"
        )
        if other.any():
            rel = np.abs(chi2_a[other] - chi2_b[other]) / chi2_b[other]
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
