"""How often does a calibrated error model pass the release check by chance?

The release check of an error calibration (``bundle calibrate --check-study``) asks that the
robust pull width of every label at every S/N (30 cells) lie within 0.8–1.25 on two fresh
seeds pooled. A width measured on n fits scatters by about 1.17/√n even when the errors are
right, and v_micro, fitted at 6–10 kK only, has 47–97 fits per cell where the other labels
have 260–510. This script measures that chance on the stored studies themselves, without a
single new fit: it applies one stored calibration to K seeds' studies of the same network and
scores the check on every pair (or every set of ``--pool`` seeds) drawn from them.

The seeds the calibration was fitted on are among those drawn (in sample), so the pass rates
are, if anything, optimistic for a calibrated model; seeds outside it are marked.

Run (numpy only; seconds)::

    D=docs/validation/diagnosis/vmicro-fast/release-3.3.6/try2/calibration/apogee
    .venv/bin/python docs/validation/diagnosis/check-power/power.py \\
        --calibration $D/calibration.json --studies $D/study-* --pool 2 4 6
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from pathlib import Path

import numpy as np

from zeta_payne.fitting.calibration import ErrorCalibration, robust_width
from zeta_payne.validation.calibrate import apply_calibration, gather_cases
from zeta_payne.validation.report import load_studies

BAND = (0.8, 1.25)
SNRS = (10.0, 20.0, 50.0, 100.0, 200.0)


def cell_pulls(folder: Path, calibration: ErrorCalibration) -> dict[tuple[str, float], np.ndarray]:
    """Calibrated pulls of one seed's studies per (label, S/N), counted as the check counts
    them (:func:`~zeta_payne.validation.calibrate.gather_cases`)."""
    studies, _ = load_studies(folder)
    studies = [apply_calibration(st, calibration) for st in studies if st.snr in SNRS]
    names = [*studies[0].label_names, "v_rad"]
    out: dict[tuple[str, float], np.ndarray] = {}
    for name, cases in gather_cases(studies, names).items():
        for snr in np.unique(cases.snr):
            sel = cases.snr == snr
            out[(name, float(snr))] = cases.delta[sel] / cases.reported_e[sel]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calibration", required=True, help="a stored calibration.json")
    ap.add_argument("--studies", nargs="+", required=True, help="study folders, one seed each")
    ap.add_argument("--pool", type=int, nargs="+", default=[2], help="seeds pooled per check")
    ap.add_argument("--label", default="v_micro", help="the label whose cells are shown per S/N")
    args = ap.parse_args(argv)

    meta = json.loads(Path(args.calibration).read_text())
    calibration = ErrorCalibration.from_dict(meta)
    fitted_on = {Path(s).name for s in (meta.get("provenance") or meta.get("info") or {}).get("studies", [])}
    seeds = {}
    for folder in sorted(args.studies, key=lambda s: int(re.sub(r"\D", "", Path(s).name) or 0)):
        seeds[Path(folder).name] = cell_pulls(Path(folder), calibration)
    names = sorted({k[0] for s in seeds.values() for k in s})
    print(f"calibration: {args.calibration}")
    marked = [n if not fitted_on or n in fitted_on else f"{n} (not fitted on)" for n in seeds]
    print(f"seeds: {', '.join(marked)}")
    for pool in args.pool:
        combos = list(itertools.combinations(seeds, pool))
        all_pass, label_pass = 0, 0
        widths: dict[tuple[str, float], list[float]] = {}
        ns: dict[tuple[str, float], list[int]] = {}
        for combo in combos:
            ok_all, ok_label = True, True
            for cell in seeds[combo[0]]:
                pulls = np.concatenate([seeds[s][cell] for s in combo])
                w = robust_width(pulls)
                widths.setdefault(cell, []).append(w)
                ns.setdefault(cell, []).append(pulls.size)
                inside = BAND[0] <= w <= BAND[1]
                ok_all &= inside
                if cell[0] == args.label:
                    ok_label &= inside
            all_pass += ok_all
            label_pass += ok_label
        print(f"\n## {pool} seeds pooled: {len(combos)} checks")
        print(f"all 30 cells within {BAND[0]}-{BAND[1]}: {all_pass} of {len(combos)} "
              f"({100 * all_pass / len(combos):.0f} %); the {args.label} cells: {label_pass} "
              f"({100 * label_pass / len(combos):.0f} %)")
        print("\n| label | S/N | n (median) | width: median | 5–95 % of checks | outside the band |")
        print("|---|---|---|---|---|---|")
        for name in names:
            for snr in SNRS:
                w = np.asarray(widths.get((name, snr), []))
                if not w.size:
                    continue
                out = np.mean((w < BAND[0]) | (w > BAND[1]))
                if name != args.label and out == 0:
                    continue
                print(f"| {name} | {snr:g} | {int(np.median(ns[(name, snr)]))} | {np.median(w):.2f} | "
                      f"{np.percentile(w, 5):.2f}–{np.percentile(w, 95):.2f} | {100 * out:.0f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
