"""Which real stars a BOSS range rule refits across its own boundary, and how far.

The BOSS bundles refit a spectrum whose first fit ends above 10,000 K from 4,450 Å and
without the interstellar bands (``blue_limit_outside``, ``masked_bands_outside``). This
script fits again, with both rules off, the stars of a benchmark ``results.csv`` whose
reported teff lies in ``--teff`` (where a refit may have come from above the boundary), and
prints, for every star whose first fit ends above the boundary, the first fit, the reported
(refit) teff, the shift and the reference — the table behind ``FitOptions.refit_shift_max``
(``docs/fitting.md``, "Refits").

    python docs/validation/diagnosis/refit-rules/first_fits.py \\
        --results docs/validation/v3/real/results.csv --sample scratch/real-3900 \\
        --bundle data/bundles/zeta-payne-boss --teff 7500 10000 > OUT.md

About 4 minutes for the 83 stars of 7,500–10,000 K on one core.
"""

from __future__ import annotations

import argparse
import csv

from zeta_payne.bundles.bundle import load_bundle
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.options import merge_options
from zeta_payne.validation.realstars import load_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", required=True, help="a benchmark-real results.csv")
    parser.add_argument("--sample", required=True, help="its sample folder")
    parser.add_argument("--bundle", default="data/bundles/zeta-payne-boss")
    parser.add_argument("--teff", type=float, nargs=2, default=(7500.0, 10000.0),
                        help="reported teff range [K] of the stars refitted")
    args = parser.parse_args()
    bundle = load_bundle(args.bundle)
    rule = bundle.manifest.fit_defaults["blue_limit_outside"]
    boundary = float(rule["range"][1])
    with open(args.results, newline="") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)
                if args.teff[0] <= float(r["teff"]) < args.teff[1]}
    fitters: dict[str, Fitter] = {}
    print(f"{len(rows)} stars with reported teff {args.teff[0]:.0f}–{args.teff[1]:.0f} K "
          f"({bundle.name} {bundle.version}); those whose first fit (rules off) ends above "
          f"{boundary:.0f} K:\n")
    print("| star | set | reference teff | first fit | reported (refit) | shift | flags |")
    print("|---|---|---:|---:|---:|---:|---|")
    for star in load_sample(args.sample, list(rows)):
        frame = star.spectrum.frame or "observed"
        if frame not in fitters:
            options = merge_options(bundle.manifest.fit_defaults, {}, frame=frame)
            fitters[frame] = Fitter(bundle, options.updated(blue_limit_outside={}, masked_bands_outside={}))
        first = float(fitters[frame].fit(star.spectrum).labels[0])
        if first <= boundary:
            continue
        row = rows[star.name]
        final = float(row["teff"])
        print(f"| {star.name} | {row['scored']} | {float(row['teff_ref']):.0f} | {first:.0f} | {final:.0f} | "
              f"{100 * (final - first) / first:+.1f} % | {row['flag_names']} |")


if __name__ == "__main__":
    main()
