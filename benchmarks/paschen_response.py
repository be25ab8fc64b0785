"""The Paschen jump against the BOSS response: one series, a fit stopped blueward of the edge,
and a separate series on each side (the shipped default), on the same realistic v3-truth cases.

The synthesis truth carries the continuum's jumps (``data/truth/synth-truth-v3-continuum``); a
network trained without them cannot emit the Paschen step at 8,206 Å (air), which lies inside
the fitted range. Each variant is the shipped bundle with one fit default changed
(``zeta-payne bundle defaults … --bundle-out``) and is fitted on the same cases (same truth
points, seed, v sin i, RV, extinction, LSF and noise)::

    python benchmarks/paschen_response.py --n 60 --snr 100 -o scratch/paschen

Prints median |Δteff| / teff per teff range, median reduced χ², and the RMS of log g, [M/H],
v sin i and RV per variant.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

VARIANTS = {
    "one response": ["--unset", "response_segments"],
    "fit to 8,150 Å": ["--unset", "response_segments", "--set", "wavelength_range=[3900.0, 8150.0]"],
    "two responses (shipped)": None,
}
BINS = [0, 8000, 10000, 15000, 20000, 40000]


def _variant(bundle: Path, folder: Path, name: str, change: list[str] | None) -> Path:
    """The bundle with ``change`` applied (None: the bundle itself), written under ``folder``."""
    if change is None:
        return bundle
    dest = folder / bundle.name
    if not dest.is_dir():
        subprocess.run([sys.executable, "-m", "zeta_payne.cli", "bundle", "defaults", str(bundle),
                        *change, "--reason", f"benchmark: {name}", "--bundle-out", str(dest)], check=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default="data/bundles/zeta-payne-boss")
    parser.add_argument("--truth", default="data/truth/synth-truth-v3")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--snr", default="100")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("-o", "--output", default="scratch/paschen")
    args = parser.parse_args(argv)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (name, change) in enumerate(VARIANTS.items()):
        bundle = _variant(Path(args.bundle), out / f"variant-{i}", name, change)
        study = out / f"study-{i}"
        if not (study / "results.csv").is_file():
            subprocess.run([sys.executable, "-m", "zeta_payne.cli", "validate", "--bundle", str(bundle),
                            "--generator", "synthesis", "--truth", args.truth, "--snr", args.snr,
                            "--n", str(args.n), "--seed", str(args.seed), "--processes",
                            str(args.processes), "-o", str(study)], check=True,
                           stdout=subprocess.DEVNULL)
        d = pd.read_csv(study / "results.csv")
        rel = np.abs(d.teff - d.true_teff) / d.true_teff
        groups = pd.cut(d.true_teff, BINS)
        row = {"variant": name, "n": len(d)}
        for interval, r in rel.groupby(groups, observed=False):
            row[f"|Δteff| {interval.left / 1e3:g}–{interval.right / 1e3:g} kK [%]"] = 100 * np.median(r)
        row["median rchi2"] = float(np.median(d.rchi2))
        for label in ("logg", "m_h", "v_sini", "v_rad"):
            row[f"RMS {label}"] = float(np.sqrt(np.nanmean((d[label] - d[f"true_{label}"]) ** 2)))
        rows.append(row)
    print(f"BOSS, {args.truth}, S/N {args.snr}, n {args.n}, seed {args.seed}: the same cases per variant")
    print("| | " + " | ".join(r["variant"] for r in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    for key in list(rows[0])[1:]:
        print(f"| {key} | " + " | ".join(f"{r[key]:.3g}" for r in rows) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
