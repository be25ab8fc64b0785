"""Would an empirical [M/H] calibration of F stars hold on stars it was not made from?

A measurement, not a shipped calibration. From a ``zeta-payne benchmark-real`` run: the median
Δ[M/H] (fit − reference) of the unflagged *in* stars of one half (even or odd rows) in bins of
*fitted* teff below 7,500 K becomes a piecewise-linear offset (constant below the first bin,
tapering to 0 between 7,500 and 8,000 K, none above: there the offset is small and the
scatter large); it is subtracted from the other half, and the median Δ[M/H] per bin of
reference teff is printed before and after.

    python data/real/mh_offset_halves.py docs/validation/v3/real-preview
"""

from __future__ import annotations

import sys

import numpy as np

from zeta_payne.validation.realstars import detection_statistics, read_results

FIT_BINS = ((6000.0, 6400.0), (6400.0, 7000.0), (7000.0, 7500.0))
TAPER = (7500.0, 8000.0)
SCORE_BINS = ((6000, 6400), (6400, 7500), (7500, 10000), (10000, 15000), (15000, 25000))


def offset_model(teff: np.ndarray, d_m_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knots (median fitted teff per bin, plus the taper's end) and offsets [dex]."""
    knots, values = [], []
    for lo, hi in FIT_BINS:
        sel = (teff >= lo) & (teff < hi)
        knots.append(float(np.median(teff[sel])))
        values.append(float(np.median(d_m_h[sel])))
    knots += [TAPER[0], TAPER[1]]
    values += [values[-1], 0.0]
    return np.array(knots), np.array(values)


def main(run: str) -> None:
    rows = read_results(f"{run}/results.csv")
    detection_statistics(rows)  # marks the halves
    use = [r for r in rows if r["scored"] == "in" and not r["bad"] and np.isfinite(r["d_m_h"])]
    teff = np.array([r["teff"] for r in use])
    ref = np.array([r["teff_ref"] for r in use])
    d = np.array([r["d_m_h"] for r in use])
    half = np.array([r["half"] for r in use])
    print("| made from | scored on | ref teff bin [K] | n | Δ[M/H] before | after | RMS before | after |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for h in (0, 1):
        knots, values = offset_model(teff[half == h], d[half == h])
        other = half == 1 - h
        after = d[other] - np.interp(teff[other], knots, values, right=0.0)
        print(f"<!-- half {h}: knots {np.round(knots).tolist()} offsets {np.round(values, 3).tolist()} -->")
        for lo, hi in SCORE_BINS:
            s = (ref[other] >= lo) & (ref[other] < hi)
            if not s.any():
                continue
            b, a = d[other][s], after[s]
            print(f"| half {h} | half {1 - h} | {lo:,}–{hi:,} | {s.sum()} | {np.median(b):+.2f} | "
                  f"{np.median(a):+.2f} | {np.sqrt(np.mean(b**2)):.2f} | {np.sqrt(np.mean(a**2)):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
