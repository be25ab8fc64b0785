from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import _sme_atmosphere, load_linelist
from zeta_payne.validation.solar_lines import isolated_equivalent_width as ew

ll = load_linelist("data/linelists/obaf_merged-v1.csv.gz")
ll = ll[(ll.wlcent > 4450) & (ll.wlcent < 7400) & (ll.species != "H 1")]
g = load_kurucz_grid()
A = {T: _sme_atmosphere(get_atmosphere(g, T, 4.2, 0.0)) for T in (6200, 6300, 7500)}
out = []
for sp, grp in ll.groupby("species"):
    s = grp.gflog - 0.8 * grp.excit
    r = grp.loc[[s.idxmax()]]
    e = {T: ew(r, A[T], T, 4.2, 0, 2.0, half_width=3.0) for T in A}
    e1 = ew(r, A[6300], 6300, 4.2, 0, 2.0, half_width=1.0)
    out.append((sp, len(grp), r.wlcent.iloc[0], e[6200], e[6300], e1, e[7500]))
    flag = "  <<<" if (e[6300] > 2 * e[6200] + 1) or (e[6300] > 1.5 * e1 + 1) else ""
    print(
        f"{sp:6s} n={len(grp):5d} {r.wlcent.iloc[0]:9.3f} EW6200 {e[6200]:7.1f} "
        f"EW6300 {e[6300]:7.1f} (hw1 {e1:6.1f}) EW7500 {e[7500]:7.1f}{flag}",
        flush=True,
    )
