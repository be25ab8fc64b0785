"""Mean line depth under SME's source-function and damping switches (diagnosis Q).

Two switches of the SME structure that the backend leaves at pysme's defaults and that act on
every line alike: ``continuum_scattering_source`` (False: continuum scattering is treated as
absorption, S = B; True: coherent scattering enters the continuum source function) and
``gam6`` (the factor on the van der Waals damping of lines without a tabulated constant —
53 % of the v3 list; default 1). Printed: the mean line depth (1 − normalised flux) of four
100-Å windows at the default and its ratio under each switch, for the Sun and F dwarfs.

Run from the repository root:
    python docs/validation/diagnosis/real-f-species/sme_switches.py
"""

import numpy as np

from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import _sme_atmosphere, load_linelist, synthesize_sme

LINES = load_linelist("data/linelists/obaf_merged.csv.gz")
WINDOWS = [(4050, 4150), (4500, 4600), (5300, 5400), (6000, 6100)]
STEP = 5e-6
VARIANTS = {
    "scattering in the source function": {"continuum_scattering_source": True},
    "van der Waals x 2 (Unsold lines)": {"gam6": 2.0},
}


def mean_depths(atmosphere, teff: float, logg: float, v_micro: float,
                settings: dict | None = None) -> list[float]:
    sel = np.zeros(len(LINES), bool)
    for a, b in WINDOWS:
        sel |= (LINES.wlcent > a - 20) & (LINES.wlcent < b + 20)
    sel |= (LINES.species == "H 1") & (LINES.wlcent > 3800) & (LINES.wlcent < 7000)
    waves = [a * np.exp(STEP * np.arange(int(np.log(b / a) / STEP))) for a, b in WINDOWS]
    segments = synthesize_sme(teff, logg, 0.0, waves, LINES.loc[sel], atmosphere, v_micro,
                              settings=settings)
    return [float(np.mean(1.0 - s.flux)) for s in segments]


grid = load_kurucz_grid()
print("windows:", WINDOWS)
for teff, logg, vmic in [(5777, 4.44, 1.0), (6200, 4.3, 1.5), (6500, 4.2, 2.0), (7000, 4.1, 2.0)]:
    atmosphere = _sme_atmosphere(get_atmosphere(grid, teff, logg, 0.0))
    base = mean_depths(atmosphere, teff, logg, vmic)
    print(f"{teff} / {logg} / v_micro {vmic}: default depths {[round(x, 4) for x in base]}",
          flush=True)
    for name, settings in VARIANTS.items():
        alt = mean_depths(atmosphere, teff, logg, vmic, settings)
        ratio = [round(b / a, 3) for a, b in zip(base, alt, strict=True)]
        print(f"    {name}: ratio {ratio}", flush=True)
