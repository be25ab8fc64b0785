"""Mean line depth of three windows in ATLAS9 ODFNEW vs atmosnet C3K/ATLAS12 atmospheres.

Run from the repository root: python docs/validation/diagnosis/real-f-species/atmospheres_compare.py
"""

import numpy as np

from zeta_payne.grids.atmospheres import AMU, atmosnet_atmosphere, get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import _sme_atmosphere, load_linelist, synthesize_sme

LINES = load_linelist("data/linelists/obaf_merged-v1.csv.gz")
WINDOWS = [(4500, 4600), (5300, 5400), (6000, 6100)]
STEP = 5e-6


def mean_depths(atmosphere, teff: float, logg: float, v_micro: float) -> list[float]:
    sel = np.zeros(len(LINES), bool)
    for a, b in WINDOWS:
        sel |= (LINES.wlcent > a - 20) & (LINES.wlcent < b + 20)
    sel |= (LINES.species == "H 1") & (LINES.wlcent > 4000) & (LINES.wlcent < 7000)
    waves = [a * np.exp(STEP * np.arange(int(np.log(b / a) / STEP))) for a, b in WINDOWS]
    segments = synthesize_sme(teff, logg, 0.0, waves, LINES.loc[sel], atmosphere, v_micro)
    return [float(np.mean(1.0 - s.flux)) for s in segments]


grid = load_kurucz_grid()
for teff, logg, vmic in [(5777, 4.44, 1.0), (6200, 4.3, 1.5), (6500, 4.2, 2.0), (7000, 4.1, 2.0)]:
    a9 = get_atmosphere(grid, teff, logg, 0.0)
    an = atmosnet_atmosphere(teff, logg, 0.0, a9.rho[0] / a9.xna[0] / AMU)
    d9 = mean_depths(_sme_atmosphere(a9), teff, logg, vmic)
    dn = mean_depths(_sme_atmosphere(an), teff, logg, vmic)
    ratio = [round(b / a, 3) for a, b in zip(d9, dn, strict=True)]
    print(teff, logg, "ATLAS9", [round(x, 4) for x in d9], "atmosnet", [round(x, 4) for x in dn],
          "ratio", ratio, flush=True)
