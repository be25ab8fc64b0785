"""SME's continuous-opacity switches: the backend's (all on) vs SME's ATLAS9 reader's.

Run from the repository root: python docs/validation/diagnosis/real-f-species/opacity_flags.py
"""

import numpy as np

from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import _sme_atmosphere, load_linelist, synthesize_sme

LINES = load_linelist("data/linelists/obaf_merged-v1.csv.gz")
WINDOWS = [(4780, 4940), (5300, 5400), (6000, 6100), (6480, 6640)]
STEP = 5e-6
KRZ_FLAGS = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0])


def spectra(atmosphere, teff: float, logg: float):
    sel = np.zeros(len(LINES), bool)
    for a, b in WINDOWS:
        sel |= (LINES.wlcent > a - 20) & (LINES.wlcent < b + 20)
    sel |= (LINES.species == "H 1") & (LINES.wlcent > 4000) & (LINES.wlcent < 7000)
    waves = [a * np.exp(STEP * np.arange(int(np.log(b / a) / STEP))) for a, b in WINDOWS]
    return [s.flux for s in synthesize_sme(teff, logg, 0.0, waves, LINES.loc[sel], atmosphere, 2.0)]


grid = load_kurucz_grid()
for teff, logg in [(5777, 4.44), (6500, 4.2)]:
    on = _sme_atmosphere(get_atmosphere(grid, teff, logg, 0.0))
    krz = _sme_atmosphere(get_atmosphere(grid, teff, logg, 0.0))
    krz.opflag = KRZ_FLAGS
    for (lo, hi), x, y in zip(WINDOWS, spectra(on, teff, logg), spectra(krz, teff, logg), strict=True):
        print(teff, lo, hi, f"mean depth all-on {np.mean(1 - x):.4f} krz-flags {np.mean(1 - y):.4f}",
              f"max|diff| {np.max(abs(x - y)):.5f}", flush=True)
