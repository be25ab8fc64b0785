"""The all-label reliability and its information limit, on the whole v3 box and on the paper's.

From the stored Table 3 fits (nothing refitted): for each instrument and S/N, the paper's
all-label reliability of our fits and of fits that scatter exactly as their formal errors
(``own_errors.information_limit_reliability``), over all 200 cases and over the cases inside
the paper's box (teff ≤ 25,000 K, log g ≥ 3, |[M/H]| ≤ 0.8), the band recomputed on each set;
then, at S/N 50, how widely the formal errors differ from star to star (p95 / p50 per label),
the per-label limits, and which stars the limit's failures are (expected count over the draws:
hot, true teff > 15 kK; fast, true v sin i > 200 km/s).

    python docs/validation/diagnosis/reliability/paper_box.py
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from zeta_payne.validation.own_errors import formal_errors, information_limit_reliability
from zeta_payne.validation.paper import TABLE3, TABLE3_RELIABILITY
from zeta_payne.validation.report import load_studies
from zeta_payne.validation.runner import StudyResult
from zeta_payne.validation.statistics import converged, summarize

ROOT = Path(__file__).resolve().parents[4]
V3 = ROOT / "docs" / "validation" / "v3"
PER_CASE = ("true_labels", "true_rv", "labels", "e_labels", "cov_e_labels", "v_rad", "e_v_rad",
            "rchi2", "flags", "seconds", "fit_seconds", "chi2_fit", "chi2_true", "raw_e_labels",
            "cov_e_v_rad", "edge_chi2")


def subset(study: StudyResult, keep: np.ndarray) -> StudyResult:
    """The study restricted to the cases where ``keep`` (shape (M,)) is true."""
    changes = {name: np.asarray(getattr(study, name))[keep]
               for name in PER_CASE if getattr(study, name) is not None}
    changes["cases"] = {k: np.asarray(v)[keep] for k, v in study.cases.items()}
    return dataclasses.replace(study, **changes)


def in_paper_box(study: StudyResult) -> np.ndarray:
    """Cases whose true labels lie in the paper's box, shape (M,)."""
    t = {n: study.true_labels[:, i] for i, n in enumerate(study.label_names)}
    return (t["teff"] <= 25000.0) & (t["logg"] >= 3.0) & (np.abs(t["m_h"]) <= 0.8)


def main() -> None:
    print("| instrument | S/N | cases | ours | information limit (5-95 %) | paper |")
    print("|---|---|---|---|---|---|")
    for instrument in ("boss", "apogee"):
        studies, _ = load_studies(V3 / f"synthesis-{instrument}")
        for study in studies:
            key = "inf" if not np.isfinite(study.snr) else f"{study.snr:g}"
            labels = list(TABLE3[instrument][key])
            sets = (("all", np.ones(study.rchi2.shape, bool)), ("paper's box", in_paper_box(study)))
            for name, keep in sets:
                part = subset(study, keep)
                ours = summarize(part.deltas([n for n in labels if n != "v_rad"]), all_of=labels)
                limit = information_limit_reliability(part, labels)["all"]
                lo, hi = np.percentile(limit, [5, 95])
                paper = TABLE3_RELIABILITY[instrument][key]
                print(f"| {instrument.upper()} | {key} | {name}, {int(keep.sum())} | "
                      f"{100 * ours['all']['reliability']:.1f} % | {100 * limit.mean():.1f} % "
                      f"({100 * lo:.1f}–{100 * hi:.1f}) | {100 * paper:.1f} % |")


def spread(draws: int = 200, seed: int = 0) -> None:
    """At S/N 50: formal-error spread, per-label limits and where the limit's failures are."""
    for instrument in ("boss", "apogee"):
        studies, _ = load_studies(V3 / f"synthesis-{instrument}")
        study = next(st for st in studies if st.snr == 50)
        labels = list(TABLE3[instrument]["50"])
        sigma = {n: formal_errors(study, n) for n in labels}
        ratios = ", ".join(
            f"{n} {np.nanpercentile(s, 95) / np.nanpercentile(s, 50):.1f}" for n, s in sigma.items()
        )
        limit = information_limit_reliability(study, labels, draws=draws, seed=seed)
        per_label = ", ".join(f"{n} {100 * limit[n].mean():.1f} %" for n in labels)
        actual = study.deltas([n for n in labels if n != "v_rad"])
        rng = np.random.default_rng(seed)
        fails = np.zeros(study.rchi2.size)
        for _ in range(draws):
            ok = np.ones(study.rchi2.size, bool)
            for n, s in sigma.items():
                ok &= converged(np.where(np.isfinite(s), s * rng.standard_normal(s.size), actual[n]))
            fails += ~ok
        fails /= draws
        t = {n: study.true_labels[:, i] for i, n in enumerate(study.label_names)}
        hot, fast = t["teff"] > 15000.0, t["v_sini"] > 200.0
        print(f"{instrument.upper()} S/N 50: formal-error p95 / p50: {ratios}")
        print(f"  per-label limit: {per_label}")
        print(f"  expected failures at the limit: {fails.sum():.1f} of {fails.size}; "
              f"hot {fails[hot].sum():.1f}, fast {fails[fast].sum():.1f}, "
              f"neither {fails[~hot & ~fast].sum():.1f}")


if __name__ == "__main__":
    main()
    spread()
