import contextlib
import io

import numpy as np
from pysme.abund import Abund
from pysme.linelist.linelist import LineList
from pysme.sme import SME_Structure
from pysme.synthesize import synthesize_spectrum

from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import LINELIST_COLUMNS, SOLAR_PATTERN, _sme_atmosphere, load_linelist

ll = load_linelist("data/linelists/obaf_merged-v1.csv.gz")
g = load_kurucz_grid()
W = [(4780, 4940), (5300, 5400), (6000, 6100), (6480, 6640)]


def synth(atmo, T, G, M, vmic):
    sme = SME_Structure()
    sme.teff, sme.logg, sme.monh = T, G, M
    sme.vmic, sme.vmac, sme.vsini = vmic, 0, 0
    sme.abund = Abund(monh=M, pattern=SOLAR_PATTERN)
    sel = np.zeros(len(ll), bool)
    for a, b in W:
        sel |= (ll.wlcent > a - 20) & (ll.wlcent < b + 20)
    sel |= (ll.species == "H 1") & (ll.wlcent > 4000) & (ll.wlcent < 7000)
    sme.linelist = LineList(
        ll.loc[sel, list(LINELIST_COLUMNS)].reset_index(drop=True), lineformat="short", medium="air"
    )
    sme.atmo = atmo
    waves = [a * np.exp(5e-6 * np.arange(int(np.log(b / a) / 5e-6))) for a, b in W]
    sme.wran = [[w[0], w[-1]] for w in waves]
    sme.wave = waves
    sme.normalize_by_continuum = True
    sme.specific_intensities_only = False
    sme.vrad_flag = "none"
    sme.cscale_flag = "none"
    sme.iptype = None
    with contextlib.redirect_stdout(io.StringIO()):
        sme = synthesize_spectrum(sme)
    return [np.asarray(f) for f in sme.synth], waves


for T, G in [(5777, 4.44), (6500, 4.2)]:
    a = _sme_atmosphere(get_atmosphere(g, T, G, 0.0))
    f1, w = synth(a, T, G, 0.0, 2.0)
    b = _sme_atmosphere(get_atmosphere(g, T, G, 0.0))
    b.opflag = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    f2, _ = synth(b, T, G, 0.0, 2.0)
    for (lo, hi), x, y, _ww in zip(W, f1, f2, w, strict=False):
        print(
            T,
            lo,
            hi,
            f"mean depth all-on {np.mean(1 - x):.4f} krz-flags {np.mean(1 - y):.4f}",
            f"min flux {x.min():.3f} {y.min():.3f}  max|diff| {np.max(abs(x - y)):.4f}",
        )
