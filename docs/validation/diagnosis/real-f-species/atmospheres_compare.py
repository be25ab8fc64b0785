import contextlib
import io

import numpy as np
from pysme.abund import Abund
from pysme.linelist.linelist import LineList
from pysme.sme import SME_Structure
from pysme.synthesize import synthesize_spectrum

from zeta_payne.grids.atmospheres import AMU, atmosnet_atmosphere, get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import LINELIST_COLUMNS, SOLAR_PATTERN, _sme_atmosphere, load_linelist

ll = load_linelist("data/linelists/obaf_merged-v1.csv.gz")
g = load_kurucz_grid()
W = [(4500, 4600), (5300, 5400), (6000, 6100)]


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
    return [float(np.mean(1 - np.asarray(f))) for f in sme.synth]


for T, G, vm in [(5777, 4.44, 1.0), (6200, 4.3, 1.5), (6500, 4.2, 2.0), (7000, 4.1, 2.0)]:
    a9 = get_atmosphere(g, T, G, 0.0)
    mu = a9.rho[0] / a9.xna[0] / AMU
    an = atmosnet_atmosphere(T, G, 0.0, mu)
    d9 = synth(_sme_atmosphere(a9), T, G, 0.0, vm)
    dn = synth(_sme_atmosphere(an), T, G, 0.0, vm)
    i9 = np.argmin(abs(np.log10(a9.rhox) - np.log10(an.rhox[np.argmin(abs(an.temp - T))])))
    print(
        T,
        G,
        "ATLAS9",
        [round(x, 4) for x in d9],
        "atmosnet",
        [round(x, 4) for x in dn],
        "ratio",
        [round(b / a, 3) for a, b in zip(d9, dn, strict=False)],
        flush=True,
    )
