"""Preliminary like-for-like comparison behind docs/validation/README.md ("Preliminary: ...").

The same test cases (the stored in-box truth points of data/truth/synth-truth-v1, each at
DRAWS v sin i / RV draws) fitted under five configurations: synthesis truth or interpolant,
realistic or ideal observations, and the fitter's LSF from the spectrum or constant.

    .venv/bin/python docs/validation/preliminary/compare.py boss 10 100 OUTDIR
"""

import json
import sys

import numpy as np

from zeta_payne.bundles.registry import find_bundle, resolve_bundle_path
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.grids.nodes import load_node_grid
from zeta_payne.validation.observe import ObservationModel
from zeta_payne.validation.report import write_report
from zeta_payne.validation.runner import GeneratorSpec, provenance_grid, run_study
from zeta_payne.validation.statistics import summarize
from zeta_payne.validation.truth import point_kinds, read_truth_points, synthesis_cases


def main():
    inst, draws, snr, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    path = str(resolve_bundle_path(inst))
    bundle = find_bundle(path)
    truth = "data/truth/synth-truth-v1"
    grid = load_node_grid(truth, inst)
    names = [s.name for s in bundle.labels]
    box = [
        (bundle.labels[names.index(n)].lower, bundle.labels[names.index(n)].upper)
        for n in ("teff", "logg", "m_h")
    ]
    kinds = np.array(
        point_kinds(grid.labels, read_truth_points("data/truth/truth-points-v1.txt"), box)
    )
    rows = np.flatnonzero(kinds == "in")
    labels, rv, point = synthesis_cases(grid.labels[rows], bundle, draws * rows.size, 0)
    cases = {"truth_point": rows[point].astype(float), "truth_kind": kinds[rows][point]}
    base = Fitter.default_options(bundle)
    configs = {
        "synthesis truth, realistic": (GeneratorSpec("synthesis", truth, inst), ObservationModel(), base),
        "synthesis truth, realistic, constant-R fit": (
            GeneratorSpec("synthesis", truth, inst),
            ObservationModel(),
            base.updated(use_spectrum_lsf=False),
        ),
        "synthesis truth, ideal": (GeneratorSpec("synthesis", truth, inst), None, base),
        "interpolant, ideal": (GeneratorSpec("grid", str(provenance_grid(bundle)), inst), None, base),
        "interpolant, realistic": (
            GeneratorSpec("grid", str(provenance_grid(bundle)), inst),
            ObservationModel(),
            base,
        ),
    }
    summary = {}
    for name, (gen, obs, opt) in configs.items():
        st = run_study(
            path, inst, snr, labels, rv, gen, opt, processes=2, seed=0, observation=obs, cases=cases
        )
        d = st.deltas([s.name for s in bundle.labels if s.free])
        s = summarize(d)
        row = {
            k: {
                "rms_all": float(np.sqrt(np.nanmean(v**2))),
                "median": float(np.nanmedian(v)),
                "p16": float(np.nanpercentile(v, 16)),
                "p84": float(np.nanpercentile(v, 84)),
                "rms_conv": s[k]["rms"],
                "rel": s[k]["reliability"],
            }
            for k, v in d.items()
        }
        row["all_rel"] = s["all"]["reliability"]
        row["rchi2_median"] = float(np.nanmedian(st.rchi2))
        row["n"] = len(rv)
        row["points"] = int(rows.size)
        summary[name] = row
        print(
            name,
            json.dumps(
                {
                    k: (round(v["rms_all"], 3), round(v["median"], 3)) if isinstance(v, dict) else v
                    for k, v in row.items()
                }
            ),
            flush=True,
        )
        if name == "synthesis truth, realistic":
            write_report(
                [st], out, title=f"PRELIMINARY small-n: {inst} synthesis truth, realistic observations"
            )
    json.dump(summary, open(out + "/compare.json", "w"), indent=1)


if __name__ == "__main__":
    main()
