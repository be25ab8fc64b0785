"""Depth excess of the model over the data, by the species group that makes a pixel's line.

Usage: python species_depth.py ROWS.pkl  (ROWS.pkl from species_fit.py)

Per star and per contiguous window of usable pixels, data/model − 1 is regressed on the
template's line depth with an intercept (the response level); the slope k (the fractional
excess of the model's line depth) is then accumulated over all stars, for all line pixels and
for the pixels where one species group makes more than 60 % of the template depth.
"""

import pickle
import sys

import numpy as np

rows = pickle.load(open(sys.argv[1], "rb"))
groups = [k for k in rows[0][4] if k != "total"]
per_star, total = [], [0.0, 0.0]
by_group = {g: [0.0, 0.0] for g in groups}
for _name, _teff, ok, r, d, w, _rchi2 in rows:
    idx = np.flatnonzero(ok)
    if idx.size < 10:
        continue
    num = den = 0.0
    for seg in np.split(idx, np.flatnonzero(np.diff(idx) > 5) + 1):
        if seg.size < 20:
            continue
        x, y, ww = d["total"][seg], r[seg], w[seg]
        design = np.vstack([np.ones_like(x), x]).T
        level, _ = np.linalg.solve(design.T @ (design * ww[:, None]), design.T @ (ww * y))
        y = y - level
        num += np.sum(ww * y * x)
        den += np.sum(ww * x * x)
        for g in groups:
            m = (x > 0.04) & (d[g][seg] > 0.6 * x)
            by_group[g][0] += np.sum(ww[m] * y[m] * x[m])
            by_group[g][1] += np.sum(ww[m] * x[m] ** 2)
    total[0] += num
    total[1] += den
    per_star.append(num / den)
lo, hi = np.percentile(per_star, [16, 84])
print(f"k per star (level removed per window): median {np.median(per_star):.3f} 16-84% {lo:.3f} {hi:.3f}")
print(f"all: {total[0] / total[1]:.3f}")
for g, (a, b) in by_group.items():
    if b > 0:
        print(g, f"{a / b:.3f}")
