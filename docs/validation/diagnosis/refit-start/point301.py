"""BOSS 3.4's out-of-box miss, refitted: is it the network or where the refit starts?

Truth point 301 of ``data/truth/synth-truth-v3`` (34,602 K, log g 4.47, v sin i 3.7 km/s,
out of the box: too hot) observed as in the out-of-box run of the BOSS 3.4 release cycle
(``zeta-payne benchmark-real --synthetic ... --snr 50``, seed 0: the same case index, the same
random stream, the same realistic observation), fitted by 3.2.6 and by the 3.4 candidate, each
with its refit started from a fresh pre-search and from the first fit. Prints the fitted teff,
log g, v sin i, rχ² and flags of the four fits.

    python docs/validation/diagnosis/refit-start/point301.py [CANDIDATE]

CANDIDATE defaults to ``scratch/boss-3.4/candidate/zeta-payne-boss`` (``release-boss-3.4/run.sh``).
"""

from __future__ import annotations

import csv
import sys

import numpy as np

from zeta_payne.bundles import load_bundle
from zeta_payne.fitting import Fitter
from zeta_payne.fitting.options import merge_options
from zeta_payne.grids.nodes import load_node_grid
from zeta_payne.validation.observe import ObservationModel, realistic_spectrum
from zeta_payne.validation.realstars_synth import select_points
from zeta_payne.validation.truth import (
    SynthesisGenerator,
    default_points_file,
    point_kinds,
    read_truth_points,
    synthesis_cases,
)

TRUTH = "data/truth/synth-truth-v3"
RESULTS = "docs/validation/v3/release-boss-3.4/out/real/synthetic-boss/results.csv"
POINT, SNR, SEED = 301, 50.0, 0


def main() -> None:
    candidate = sys.argv[1] if len(sys.argv) > 1 else "scratch/boss-3.4/candidate/zeta-payne-boss"
    with open(RESULTS, newline="") as fh:
        i = next(k for k, row in enumerate(csv.DictReader(fh)) if int(row["point"]) == POINT)
    bundle = load_bundle(candidate)
    grid = load_node_grid(TRUTH, "boss")
    points_file = default_points_file(TRUTH)
    points = read_truth_points(points_file) if points_file else None
    names = list(bundle.manifest.label_names)
    specs = {s.name: s for s in bundle.manifest.labels}
    box = [(specs[n].lower, specs[n].upper) for n in ("teff", "logg", "m_h")]
    chosen = select_points(point_kinds(grid.labels, points, box), None)
    labels, rv, point = synthesis_cases(grid.labels[chosen], bundle, len(chosen), SEED)
    if chosen[point][i] != POINT:
        raise SystemExit(f"case {i} is point {chosen[point][i]}, not {POINT}")
    r_model = grid.manifest["instruments"]["boss"].get("R_model")
    generator = SynthesisGenerator(grid, names, resolution=r_model)
    rng = np.random.default_rng(SEED * 1_000_003 + i)
    spectrum, _ = realistic_spectrum(generator.wavelength, generator(labels[i][None, :])[0],
                                     generator.resolution, "boss", float(labels[i, names.index("teff")]),
                                     float(rv[i]), SNR, rng, ObservationModel())
    print("truth", dict(zip(names, np.round(labels[i], 2), strict=True)), "v_rad", round(float(rv[i]), 2))
    for path in ("data/bundles/zeta-payne-boss", candidate):
        b = load_bundle(path)
        for start in ("presearch", "first"):
            options = merge_options(b.manifest.fit_defaults, {"refit_start": start}, frame="observed")
            row = Fitter(b, options).fit(spectrum).as_row()
            print(f"{b.version:6s} refit from {start:9s} teff {row['teff']:7.0f} logg {row['logg']:.2f} "
                  f"v_sini {row['v_sini']:4.0f} rchi2 {row['rchi2']:.3f}  {row['flag_names']}")


if __name__ == "__main__":
    main()
