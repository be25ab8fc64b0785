"""Cost and effect of loosening SME's adaptive-grid tolerances (accwi, accrt).

Three 100-Å windows synthesized at the defaults and at looser tolerances; the largest change
of the flux after smoothing to R 6,000, and the CPU time. Run from the repository root:

    python data/grids/v3/measure_sme_accuracy.py
"""

import time

import numpy as np
from scipy.ndimage import gaussian_filter1d

from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import _sme_atmosphere, load_linelist, synthesize_sme

LINES = load_linelist("data/linelists/obaf_merged.csv.gz")
WINDOWS = [(3900, 4000), (4400, 4500), (5150, 5250)]
STEP = 2.5e-6


def synth(teff: float, logg: float, m_h: float, settings: dict | None = None):
    sel = np.zeros(len(LINES), bool)
    for a, b in WINDOWS:
        sel |= (LINES.wlcent > a - 50) & (LINES.wlcent < b + 50)
    sel |= (LINES.species == "H 1") & (LINES.wlcent > 3000) & (LINES.wlcent < 6000)
    waves = [a * np.exp(STEP * np.arange(int(np.log(b / a) / STEP))) for a, b in WINDOWS]
    atmosphere = _sme_atmosphere(get_atmosphere(load_kurucz_grid(), teff, logg, m_h))
    t0 = time.process_time()
    segments = synthesize_sme(teff, logg, m_h, waves, LINES.loc[sel], atmosphere, 2.0, settings)
    return [s.flux for s in segments], time.process_time() - t0


def smooth(flux: np.ndarray, resolution: float = 6000.0) -> np.ndarray:
    return gaussian_filter1d(flux, (1 / resolution / 2.3548) / STEP)


for teff, logg, m_h in [(6000, 4.5, 0.0), (12000, 4.0, 0.0)]:
    reference, t_ref = synth(teff, logg, m_h)
    for accwi, accrt in [(1e-2, None), (None, 1e-3), (1e-2, 1e-3), (3e-2, 3e-3)]:
        settings = {k: v for k, v in (("accwi", accwi), ("accrt", accrt)) if v is not None}
        flux, t = synth(teff, logg, m_h, settings)
        err = max(np.max(abs(smooth(a) - smooth(b))) for a, b in zip(reference, flux, strict=True))
        print(teff, "accwi", accwi, "accrt", accrt, f"CPU {t:.1f} vs {t_ref:.1f} s",
              f"max|dflux| R6000 {err:.5f}", flush=True)
