"""Case-by-case comparison of two Table 3 studies of the same cases (refit from a pre-search
against refit from the first fit).

Prints per S/N: the cases whose fit changed, how many end with χ² higher / lower by more than
1 in the second study, the median and largest |Δ| per label in units of the first study's
covariance error, the BAD rows of both, and both studies' Table 3 RMS and all-label
reliability (their ``table3.csv``).

Usage::

    python docs/validation/diagnosis/refit-start/compare.py FIRST_STUDY SECOND_STUDY
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from zeta_payne.fitting.flags import BAD_MASK

LABELS = ("teff", "logg", "v_sini", "m_h", "v_rad")


def load(folder: Path) -> tuple[dict[tuple[str, str], dict[str, str]], dict]:
    """The study's rows by (S/N, case) and its first study's bundle."""
    with open(folder / "results.csv") as handle:
        rows = {(r["snr"], r["index"]): r for r in csv.DictReader(handle)}
    bundle = json.loads((folder / "studies.json").read_text())["studies"][0]["meta"]["bundle"]
    return rows, bundle


def table3(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    """The study's Table 3 rows by (S/N, label)."""
    with open(folder / "table3.csv") as handle:
        return {(r["snr"], r["label"]): r for r in csv.DictReader(handle)}


def main(first_dir: str, second_dir: str) -> int:
    first, bundle_a = load(Path(first_dir))
    second, bundle_b = load(Path(second_dir))
    tables = table3(Path(first_dir)), table3(Path(second_dir))
    if bundle_a["version"].split(".")[:2] != bundle_b["version"].split(".")[:2]:
        print(f"warning: bundles {bundle_a['version']} and {bundle_b['version']}")
    print(f"# {first_dir} ({bundle_a['name']}@{bundle_a['version']}) against {second_dir} "
          f"({bundle_b['name']}@{bundle_b['version']})")
    for snr in dict.fromkeys(k[0] for k in first):
        keys = [k for k in first if k[0] == snr and k in second]
        a, b = [first[k] for k in keys], [second[k] for k in keys]
        changed = sum(ra["teff"] != rb["teff"] for ra, rb in zip(a, b, strict=True))
        dchi2 = np.array([float(rb["chi2_fit"]) - float(ra["chi2_fit"]) for ra, rb in zip(a, b, strict=True)])
        shifts = []
        for label in LABELS:
            err = np.array([float(r[f"cov_e_{label}"] or "nan") for r in a])
            delta = np.abs([float(rb[label]) - float(ra[label]) for ra, rb in zip(a, b, strict=True)])
            with np.errstate(invalid="ignore", divide="ignore"):
                pull = np.where(err > 0, delta / err, np.nan)
            shifts.append(f"{label} {np.nanmedian(pull):.3f}/{np.nanmax(pull):.2f}")
        bad = [sum(bool(int(r["result_flags"]) & int(BAD_MASK)) for r in rows) for rows in (a, b)]
        print(f"S/N {snr}: {len(keys)} cases, {changed} changed; χ² higher by > 1: "
              f"{int(np.sum(dchi2 > 1))}, lower by > 1: {int(np.sum(dchi2 < -1))}; BAD {bad[0]} → {bad[1]}")
        print("  |Δ| / covariance error, median/max: " + ", ".join(shifts))
        key = "inf" if snr == "inf" else f"{float(snr):g}"
        rms = [f"{label} " + " → ".join(f"{float(t[key, label]['rms']):.4g}" for t in tables)
               for label in LABELS]
        reliability = [t[key, "all"]["reliability"] for t in tables]
        print(f"  Table 3 RMS: {', '.join(rms)}; all-label reliability {reliability[0]} → {reliability[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
