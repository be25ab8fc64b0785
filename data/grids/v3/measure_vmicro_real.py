"""What fixing v_micro costs in [M/H] on real stars (issue 14).

Fits every third in-box star below 10,000 K of a real-star benchmark run twice with a v3 BOSS
bundle, v_micro fitted and held at 2 km/s, and prints the [M/H] shift per teff bin.

    python data/grids/v3/measure_vmicro_real.py BENCHMARK_RUN SAMPLE BUNDLE [-o CSV]

e.g. ``docs/validation/v3/real-preview scratch/real-3900 scratch/bundles-v3-preview/zeta-payne-boss``.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from zeta_payne.bundles import load_bundle
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.options import merge_options
from zeta_payne.validation.realstars import load_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a benchmark-real output folder (its results.csv picks the stars)")
    parser.add_argument("sample", help="the sample folder the run fitted")
    parser.add_argument("bundle", help="a BOSS bundle that fits v_micro")
    parser.add_argument("-o", "--output", help="per-star results (CSV)")
    args = parser.parse_args()
    runs = pd.read_csv(f"{args.run}/results.csv")
    sel = runs[(runs.in_box == 1) & (runs.teff_ref < 10000)].iloc[::3]
    stars = load_sample(args.sample, names=list(sel.name))
    bundle = load_bundle(args.bundle)
    rows = []
    for tag, over in (("free", {}), ("fixed2", {"fixed": {"v_micro": 2.0}})):
        fitter = Fitter(bundle, merge_options(bundle.manifest.fit_defaults, over, frame="rest"))
        for star in stars:
            fit = fitter.fit(star.spectrum).as_row()
            ref = sel[sel.name == star.name].iloc[0]
            rows.append({"tag": tag, "name": star.name, "teff_ref": ref.teff_ref, "m_h_ref": ref.m_h_ref,
                         "teff": fit["teff"], "m_h": fit["m_h"], "v_micro": fit.get("v_micro"),
                         "rchi2": fit["rchi2"]})
    table = pd.DataFrame(rows)
    if args.output:
        table.to_csv(args.output, index=False)
    free = table[table.tag == "free"].set_index("name")
    fixed = table[table.tag == "fixed2"].set_index("name")
    shift = fixed.m_h - free.m_h
    print(f"{len(shift)} stars: [M/H] shift (held at 2 km/s − fitted) median {shift.median():+.3f}, "
          f"5-95 % {shift.quantile(0.05):+.2f} to {shift.quantile(0.95):+.2f}, "
          f"largest |shift| {shift.abs().max():.2f}")
    for lo, hi in ((6000, 6400), (6400, 7500), (7500, 10000)):
        m = (free.teff_ref >= lo) & (free.teff_ref < hi)
        print(f"{lo}-{hi} K: n {int(m.sum())}, median shift {np.median(shift[m]):+.3f} dex, "
              f"fitted v_micro median {np.median(free.v_micro[m]):.2f} km/s")


if __name__ == "__main__":
    main()
