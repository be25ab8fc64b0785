import contextlib
import io
import time

import numpy as np
from pysme.abund import Abund
from pysme.linelist.linelist import LineList
from pysme.sme import SME_Structure
from pysme.synthesize import synthesize_spectrum
from scipy.ndimage import gaussian_filter1d

from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import LINELIST_COLUMNS, SOLAR_PATTERN, _sme_atmosphere, load_linelist

ll = load_linelist("data/linelists/obaf_merged.csv.gz")
g = load_kurucz_grid()
W = [(3900, 4000), (4400, 4500), (5150, 5250)]


def synth(T, G, M, accwi=None, accrt=None, step=2.5e-6):
    sme = SME_Structure()
    sme.teff, sme.logg, sme.monh = T, G, M
    sme.vmic, sme.vmac, sme.vsini = 2.0, 0, 0
    sme.abund = Abund(monh=M, pattern=SOLAR_PATTERN)
    sel = np.zeros(len(ll), bool)
    for a, b in W:
        sel |= (ll.wlcent > a - 50) & (ll.wlcent < b + 50)
    sel |= (ll.species == "H 1") & (ll.wlcent > 3000) & (ll.wlcent < 6000)
    sme.linelist = LineList(
        ll.loc[sel, list(LINELIST_COLUMNS)].reset_index(drop=True), lineformat="short", medium="air"
    )
    sme.atmo = _sme_atmosphere(get_atmosphere(g, T, G, M))
    waves = [a * np.exp(step * np.arange(int(np.log(b / a) / step))) for a, b in W]
    sme.wran = [[w[0], w[-1]] for w in waves]
    sme.wave = waves
    sme.normalize_by_continuum = True
    sme.specific_intensities_only = False
    sme.vrad_flag = "none"
    sme.cscale_flag = "none"
    sme.iptype = None
    if accwi:
        sme.accwi = accwi
    if accrt:
        sme.accrt = accrt
    t = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        sme = synthesize_spectrum(sme)
    return [np.asarray(f) for f in sme.synth], time.process_time() - t


def smooth(f, step, R=6000):
    return gaussian_filter1d(f, (1 / R / 2.3548) / step)


for T, G, M in [(6000, 4.5, 0.0), (12000, 4.0, 0.0)]:
    ref, t0 = synth(T, G, M)
    for aw, ar in [(1e-2, None), (None, 1e-3), (1e-2, 1e-3), (3e-2, 3e-3)]:
        f, t = synth(T, G, M, aw, ar)
        err = max(np.max(abs(smooth(a, 2.5e-6) - smooth(b, 2.5e-6))) for a, b in zip(ref, f, strict=False))
        print(
            T,
            "accwi",
            aw,
            "accrt",
            ar,
            f"CPU {t:.1f} vs {t0:.1f} s",
            f"max|dflux| R6000 {err:.5f}",
            flush=True,
        )
