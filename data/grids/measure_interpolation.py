#!/usr/bin/env python
"""Measure node-interpolation error on held-out midpoints (run by hand; prints a table).

For a node spacing Δ along one label, the spectrum at a midpoint x is synthesized and
compared with the linear interpolation of the spectra at x ± Δ/2 (the other labels fixed).
Spectra: SME over a few diagnostic windows, convolved to the model resolution (R 6000 in
the optical, R 60000 in the H band). Reported: max |Δflux| and RMS over each window set.

    python data/grids/measure_interpolation.py --linelist data/linelists/obaf_merged.csv.gz
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from zeta_payne.grids.atmospheres import load_kurucz_grid
from zeta_payne.grids.format import gaussian_smooth_loglam
from zeta_payne.grids.sme import load_linelist, synthesize_node

OPTICAL = [(4460.0, 4490.0), (4820.0, 4900.0), (5160.0, 5190.0)]  # He I/Mg II, Hβ, Mg b
IR = [(16780.0, 16840.0), (15880.0, 15900.0)]  # Br11, Br14 + metals
# (label index, centre labels, spacings to test)
CASES = [
    (0, (6500.0, 4.0, 0.0), (1000.0, 500.0, 250.0)),
    (0, (9500.0, 4.0, 0.0), (1000.0, 500.0, 250.0)),
    (0, (13000.0, 4.0, 0.0), (2000.0, 1000.0, 500.0)),
    (0, (19000.0, 4.0, 0.0), (2000.0, 1000.0)),
    (1, (7000.0, 4.0, 0.0), (1.0, 0.5, 0.25)),
    (1, (9500.0, 4.0, 0.0), (1.0, 0.5, 0.25)),
    (1, (15000.0, 4.0, 0.0), (1.0, 0.5)),
    (2, (7000.0, 4.0, 0.0), (0.8, 0.4, 0.2)),
    (2, (12000.0, 4.0, 0.0), (0.8, 0.4)),
]


def spectrum(labels, linelist, grid, cache):
    key = tuple(float(x) for x in labels)
    if key not in cache:
        out = []
        for windows, step, res in ((OPTICAL, 2.5e-6, 6000.0), (IR, 2.5e-6, 60000.0)):
            segs = synthesize_node(*key, windows, linelist, grid, dlnlambda=step)
            for s in segs:
                sm = gaussian_smooth_loglam(s.flux, step, res)
                out.append(sm[240:-240])
        cache[key] = out
    return cache[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--linelist", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    linelist = load_linelist(args.linelist)
    grid = load_kurucz_grid(args.cache_dir or Path.home() / ".cache" / "zeta-payne")
    cache: dict = {}
    names = ("teff", "logg", "m_h")
    print("| label | at | spacing | BOSS max | BOSS rms | APOGEE max | APOGEE rms |")
    print("|---|---|---|---|---|---|---|")
    t0 = time.time()
    for axis, centre, spacings in CASES:
        mid = spectrum(centre, linelist, grid, cache)
        for d in spacings:
            lo = np.array(centre)
            hi = np.array(centre)
            lo[axis] -= d / 2
            hi[axis] += d / 2
            a = spectrum(lo, linelist, grid, cache)
            b = spectrum(hi, linelist, grid, cache)
            err = [np.abs(0.5 * (x + y) - m) for x, y, m in zip(a, b, mid, strict=True)]
            opt = np.concatenate(err[: len(OPTICAL)])
            ir = np.concatenate(err[len(OPTICAL) :])
            print(f"| {names[axis]} | {centre} | {d:g} | {opt.max():.4f} | "
                  f"{np.sqrt(np.mean(opt**2)):.4f} | {ir.max():.4f} | "
                  f"{np.sqrt(np.mean(ir**2)):.4f} |", flush=True)
    print(f"({len(cache)} syntheses, {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
