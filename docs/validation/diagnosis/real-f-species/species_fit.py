import os
import pickle

import numpy as np
from scipy.ndimage import gaussian_filter1d

from zeta_payne.bundles.bundle import load_bundle
from zeta_payne.bundles.registry import resolve_bundle_path
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.options import merge_options
from zeta_payne.grids.sme import air_to_vacuum
from zeta_payne.threads import pin_threads
from zeta_payne.validation.realstars import load_sample

pin_threads(1)
res = pickle.load(open(os.path.join(os.environ.get("WORK", "/tmp/zp-species"), "species_template.pkl"), "rb"))


def smooth(seg):
    w = seg.wave_air
    f = seg.flux
    step = np.median(np.diff(np.log(w)))
    return air_to_vacuum(w), gaussian_filter1d(f, (1 / 2000 / 2.3548) / step, mode="nearest")


tw = []
td = {}
for i in range(len(res["full"])):
    w, f = smooth(res["full"][i])
    tw.append(w)
    td.setdefault("total", []).append(1 - f)
    for g in res:
        if g == "full":
            continue
        w2, f2 = smooth(res[g][i])
        if g == "Sc/Y/Zr/Ba/RE":
            td.setdefault(g, []).append(f2 - f)  # rest removed
        else:
            td.setdefault(g, []).append(f2 - f)
tw = np.concatenate(tw)
td = {k: np.concatenate(v) for k, v in td.items()}
b = load_bundle(resolve_bundle_path("boss"))
stars = [
    s
    for s in load_sample("data/real")
    if str(s.reference.get("in_box")) == "1" and 6000 <= s.reference["teff_ref"] < 7500
]
stars = stars[:: max(1, len(stars) // 40)]
rows = []
for s in stars:
    ref = s.reference
    frame = s.spectrum.frame or "observed"
    f0 = Fitter(
        b,
        merge_options(
            b.manifest.fit_defaults,
            {"fixed": {"m_h": float(ref["m_h_ref"]), "teff": float(ref["teff_ref"])}},
            frame,
        ),
    ).fit(s.spectrum)
    if f0.model_flux is None:
        continue
    sp = s.spectrum
    w = sp.wavelength / (1 + f0.v_rad / 299792.458)
    Wv = [
        (air_to_vacuum(np.array([a]))[0] + 2, air_to_vacuum(np.array([b_]))[0] - 2)
        for a, b_ in [(4500, 4600), (4900, 5000), (5300, 5400), (5600, 5700), (6000, 6100), (6400, 6500)]
    ]
    inw = np.zeros(w.size, bool)
    for a, b_ in Wv:
        inw |= (w > a) & (w < b_)
    ok = inw & (sp.ivar > 0) & np.isfinite(f0.model_flux) & (f0.model_flux > 0)
    if sp.pixel_mask is not None:
        ok &= ~sp.pixel_mask
    r = sp.flux / f0.model_flux - 1
    d = {k: np.interp(w, tw, v) for k, v in td.items()}
    rows.append((s.name, ref["teff_ref"], ok, r, d, sp.ivar * f0.model_flux**2, f0.rchi2))
    print(s.name, ref["teff_ref"], ref["m_h_ref"], f"rchi2 {f0.rchi2:.2f}", flush=True)
pickle.dump(rows, open(os.path.join(os.environ.get("WORK", "/tmp/zp-species"), "species_rows_tm.pkl"), "wb"))
