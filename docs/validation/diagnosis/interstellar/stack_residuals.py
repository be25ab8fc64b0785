"""Median fractional residual (data / best model − 1) of the in-box real stars of one teff range,
stacked in the stars' frame on a 2-Å grid, printed where it exceeds a threshold.

    python docs/validation/diagnosis/interstellar/stack_residuals.py RUN SAMPLE LO HI THRESHOLD

RUN: a ``zeta-payne benchmark-real`` output folder (``results.csv``, ``models.npz``); SAMPLE:
the sample it fitted (e.g. ``scratch/real-3900``, made by ``data/bundles/validate_v3.sh``'s
``sample`` step). Fits flagged ``out_of_box`` are left out.
"""

from __future__ import annotations

import csv
import sys
import warnings

import numpy as np

from zeta_payne.validation.realstars import load_models, load_sample


def main() -> None:
    run, sample = sys.argv[1], sys.argv[2]
    lo, hi, threshold = (float(x) for x in sys.argv[3:6])
    rows = [r for r in csv.DictReader(open(f"{run}/results.csv"))
            if r["scored"] == "in" and r["teff_ref"] and lo <= float(r["teff_ref"]) < hi
            and "out_of_box" not in r["flag_names"]]
    models = load_models(f"{run}/models.npz")
    stars = {s.name: s for s in load_sample(sample, [r["name"] for r in rows])}
    grid = np.arange(3880.0, 9000.0, 2.0)
    stack = []
    for r in rows:
        spectrum, model = stars[r["name"]].spectrum, models.get(r["name"])
        if model is None:
            continue
        ok = (np.asarray(spectrum.ivar) > 0) & (model > 0)
        residual = np.where(ok, np.asarray(spectrum.flux) / np.where(model > 0, model, 1.0) - 1.0, np.nan)
        rest = np.asarray(spectrum.wavelength) / (1.0 + float(r["v_rad"]) / 299792.458)
        stack.append(np.interp(grid, rest, residual, left=np.nan, right=np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: no star covers them
        median = np.nanmedian(np.array(stack), axis=0)
    print(f"{len(stack)} stars")
    for wavelength, value in zip(grid, median, strict=True):
        if np.isfinite(value) and abs(value) > threshold:
            print(f"{wavelength:7.0f} {value:+.3f}")


if __name__ == "__main__":
    main()
