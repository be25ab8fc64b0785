import os
import pickle
import time

from zeta_payne.grids.atmospheres import load_kurucz_grid
from zeta_payne.grids.sme import load_linelist, synthesize_node

W = [(4500, 4600), (4900, 5000), (5300, 5400), (5600, 5700), (6000, 6100), (6400, 6500)]
GROUPS = {
    "Fe 1": ["Fe 1"],
    "Fe 2": ["Fe 2"],
    "Ti": ["Ti 1", "Ti 2"],
    "Cr": ["Cr 1", "Cr 2"],
    "Ca 1": ["Ca 1"],
    "Ni 1": ["Ni 1"],
    "Mg": ["Mg 1", "Mg 2"],
    "Si": ["Si 1", "Si 2"],
    "Mn/Co/V": ["Mn 1", "Co 1", "V 1", "V 2", "Mn 2", "Co 2"],
    "Sc/Y/Zr/Ba/RE": None,
}
# line sources (diagnosis R): the lines of one source removed at a time
SOURCES = {"GES lines": "ges", "linemake lines": "linemake"}
ll = load_linelist("data/linelists/obaf_merged-v1.csv.gz")
grid = load_kurucz_grid()
named = set(s for g in GROUPS.values() if g for s in g)
out = os.path.join(os.environ.get("WORK", "/tmp/zp-species"), "species_template.pkl")
os.makedirs(os.path.dirname(out), exist_ok=True)
if not os.path.exists(out):
    res = {}

    def run(lines):
        t = time.time()
        seg = synthesize_node(
            6500, 4.2, 0.0, W, lines, grid, dlnlambda=5e-6, v_micro=2.0, segments_per_call=len(W)
        )
        print("synth", time.time() - t, flush=True)
        return seg

    full = run(ll)
    res["full"] = full
    for g, sp in GROUPS.items():
        if sp is None:
            keep = (
                ll.species.isin(named)
                | (ll.species == "H 1")
                | ll.species.str.startswith("Na")
                | ll.species.str.startswith("Al")
                | ll.species.str.startswith("C ")
                | ll.species.str.startswith("O ")
                | ll.species.str.startswith("S ")
                | ll.species.str.startswith("K ")
            )
            res[g] = run(ll[keep].reset_index(drop=True))
        else:
            res[g] = run(ll[~ll.species.isin(sp)].reset_index(drop=True))
    for g, src in SOURCES.items():
        res[g] = run(ll[ll.source != src].reset_index(drop=True))
    pickle.dump(res, open(out, "wb"))
