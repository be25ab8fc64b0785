"""Is the real F stars' [M/H] offset a v_micro effect? Refit the in-box stars of a Teff range
of a real-star run with v_micro held at one value and compare Δ[M/H] with the free fit.

Uses the stars of a ``zeta-payne benchmark-real`` run (its ``results.csv``, the free fit) and
their spectra (the sample folder)::

    python benchmarks/real_vmicro_held.py --results docs/validation/v3/real/results.csv \\
        --sample scratch/real-3900 --teff 6400 7500 --v-micro 2.0

Prints, per star, the reference teff and Δ[M/H] free and held, then the medians over the rows
without a BAD flag (each fit's own flags) and over the stars both fits keep.
"""

from __future__ import annotations

import argparse
import csv
import logging

import numpy as np

from zeta_payne.bundles.bundle import load_bundle
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.flags import BAD_MASK
from zeta_payne.fitting.options import merge_options
from zeta_payne.validation.realstars import load_sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results.csv of a benchmark-real run")
    parser.add_argument("--sample", required=True, help="the real-star sample folder of that run")
    parser.add_argument("--bundle", default="data/bundles/zeta-payne-boss")
    parser.add_argument(
        "--teff", nargs=2, type=float, default=(6400.0, 7500.0), help="reference teff range [K]"
    )
    parser.add_argument("--v-micro", type=float, default=2.0, help="the held value [km/s]")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)

    bundle = load_bundle(args.bundle)
    lo, hi = args.teff
    rows = [
        r for r in csv.DictReader(open(args.results))
        if r["in_box"] == "1" and lo <= float(r["teff_ref"]) < hi and r["m_h_ref"] not in ("", "nan")
    ]
    by_name = {r["name"]: r for r in rows}
    fitters: dict[str, Fitter] = {}
    free_d, held_d, free_ok, held_ok = [], [], [], []
    for star in load_sample(args.sample, list(by_name)):
        frame = star.spectrum.frame or "observed"
        if frame not in fitters:
            options = merge_options(bundle.manifest.fit_defaults, {}, frame=frame)
            fixed = {**dict(options.fixed), "v_micro": args.v_micro}
            fitters[frame] = Fitter(bundle, options.updated(fixed=fixed))
        held = fitters[frame].fit(star.spectrum)
        row = by_name[star.name]
        ref = float(row["m_h_ref"])
        free_d.append(float(row["m_h"]) - ref)
        held_d.append(float(held.labels[bundle.manifest.label_names.index("m_h")]) - ref)
        free_ok.append(not int(row["result_flags"]) & int(BAD_MASK))
        held_ok.append(not held.flags & BAD_MASK)
        print(f"{star.name:28s} teff_ref {float(row['teff_ref']):6.0f}  Δ[M/H] free {free_d[-1]:+.2f}"
              f"{'' if free_ok[-1] else ' (BAD)'}  held {held_d[-1]:+.2f}{'' if held_ok[-1] else ' (BAD)'}")
    f, h = np.array(free_d), np.array(held_d)
    fo, ho = np.array(free_ok), np.array(held_ok)
    print(f"\n{len(f)} in-box stars with a reference [M/H], reference teff {lo:.0f}–{hi:.0f} K")
    print(f"median Δ[M/H], rows without BAD: free {np.median(f[fo]):+.3f} (n {fo.sum()}), "
          f"v_micro held at {args.v_micro:g} km/s {np.median(h[ho]):+.3f} (n {ho.sum()})")
    both = fo & ho
    print(f"same stars (neither BAD): free {np.median(f[both]):+.3f}, "
          f"held {np.median(h[both]):+.3f} (n {both.sum()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
