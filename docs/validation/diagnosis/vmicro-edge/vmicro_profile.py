"""Do real stars fitted at a v_micro edge want a v_micro beyond the box? Direct syntheses.

The BOSS bundle's v_micro box is 1–4 km/s (the v_micro response grids at 1 and 4 km/s); on
the real-star benchmark (``docs/validation/v3/real/results.csv``) 14 in-box rows are BAD for
``v_micro_at_edge`` alone — A stars at 4 km/s, metal-poor F stars at 1 km/s. No emulator, no
lattice, no label fit here: for each such star the backend's SME synthesis at the bundle's
fitted teff, log g and [M/H], at a ladder of v_micro values that reaches past the edge, in
four 100-Å windows of metal lines, broadened by the fitted v sin i and the spectrum's own LSF
(its ``wresl``), at the fitted RV, times a quadratic response per window (weighted least
squares); χ²(v_micro) against the star's spectrum (its inverse variance from DER_SNR). Controls:
in-box A/F stars whose fit put v_micro well inside the box. If the edge stars' χ² keeps falling
beyond the edge, the box is too narrow for them; if it turns at the edge, the edge is where
the other labels put it.

The other labels stay at the fitted values (a profile, not a refit): a lower χ² beyond the
edge is a lower bound on what a wider box would gain.

Run from the repository root (the sample from ``STEPS=sample bash data/bundles/validate_v3.sh``)::

    python docs/validation/diagnosis/vmicro-edge/vmicro_profile.py --sample scratch/real-3900
"""

from __future__ import annotations

import argparse
import csv
import sys

import numpy as np
from scipy.ndimage import gaussian_filter1d

from zeta_payne.fitting.flags import BAD_MASK
from zeta_payne.grids.atmospheres import load_kurucz_grid
from zeta_payne.grids.rotation import rotate
from zeta_payne.grids.sme import air_to_vacuum, load_linelist, synthesize_node
from zeta_payne.validation.realstars import load_sample

WINDOWS = [(4500.0, 4600.0), (5150.0, 5250.0), (5300.0, 5400.0), (6000.0, 6100.0)]
LADDER = {"upper": (2.0, 3.0, 4.0, 5.0, 6.0), "lower": (0.5, 0.75, 1.0, 1.5, 2.0),
          "control": (1.0, 2.0, 3.0, 4.0, 5.0)}
C = 299_792.458


def model_on_pixels(segments, spectrum, v_sini: float, v_rad: float) -> np.ndarray:
    """A synthesis rotated, broadened to the spectrum's own LSF and sampled at its pixels."""
    wave = spectrum.wavelength
    out = np.full(wave.size, np.nan)
    for seg in segments:
        w = air_to_vacuum(seg.wave_air)
        f = rotate(w, seg.flux, v_sini) if v_sini > 0 else seg.flux
        inside = (wave > w[0] * (1 + v_rad / C) + 15) & (wave < w[-1] * (1 + v_rad / C) - 15)
        if not inside.any():
            continue
        fwhm = float(np.median(spectrum.lsf_fwhm[inside])) if spectrum.lsf_fwhm is not None else 2.5
        step = float(np.median(np.diff(w)))
        f = gaussian_filter1d(f, fwhm / 2.3548 / step, mode="nearest")
        out[inside] = np.interp(wave[inside], w * (1 + v_rad / C), f)
    return out


def chi2(spectrum, model: np.ndarray) -> float:
    """χ² with a quadratic response per window (weighted least squares)."""
    wave, flux, ivar = spectrum.wavelength, spectrum.flux, spectrum.ivar
    total = 0.0
    for lo, hi in WINDOWS:
        lo_v, hi_v = air_to_vacuum(np.array([lo, hi]))
        m = (wave > lo_v) & (wave < hi_v) & np.isfinite(model) & (ivar > 0) & np.isfinite(flux)
        if m.sum() < 30:
            continue
        x = (wave[m] - wave[m].mean()) / 50.0
        design = np.vstack([model[m], model[m] * x, model[m] * x**2]).T
        sw = np.sqrt(ivar[m])
        coef = np.linalg.lstsq(design * sw[:, None], flux[m] * sw, rcond=None)[0]
        total += float(np.sum(ivar[m] * (flux[m] - design @ coef) ** 2))
    return total


def choose(results: str, per_group: int) -> list[tuple[str, str, dict]]:
    """(group, name, fitted row) of the edge stars and the controls."""
    rows = list(csv.DictReader(open(results, newline="")))
    chosen: dict[str, list] = {"upper": [], "lower": [], "control": []}
    for r in rows:
        if not r["v_micro"] or r["scored"] not in ("in", "edge", "peculiar"):
            continue
        v, flags = float(r["v_micro"]), r["flag_names"].split(",")
        if "v_micro_at_edge" in flags:
            chosen["upper" if v > 2.5 else "lower"].append(r)
        elif (r["scored"] == "in" and 7000 <= float(r["teff"]) <= 10000 and 2.3 <= v <= 3.5
              and not int(r["result_flags"]) & int(BAD_MASK)):
            chosen["control"].append(r)
    out = []
    for group, members in chosen.items():
        members = sorted(members, key=lambda r: float(r["teff"]))
        pick = members[:: max(1, len(members) // per_group)][:per_group]
        out += [(group, r["name"], r) for r in pick]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sample", default="scratch/real-3900")
    p.add_argument("--results", default="docs/validation/v3/real/results.csv")
    p.add_argument("--linelist", default="data/linelists/obaf_merged.csv.gz")
    p.add_argument("--per-group", type=int, default=5)
    args = p.parse_args(argv)
    picks = choose(args.results, args.per_group)
    stars = {s.name: s for s in load_sample(args.sample, [n for _, n, _ in picks])}
    lines = load_linelist(args.linelist)
    grid = load_kurucz_grid()
    print("| group | star | type | fit teff / log g / [M/H] / v sin i | fitted v_micro | "
          "χ² − min at v_micro (km/s) | best |")
    print("|---|---|---|---|---|---|---|")
    for group, name, r in picks:
        teff, logg, m_h = float(r["teff"]), float(r["logg"]), float(r["m_h"])
        v_sini, v_rad = float(r["v_sini"]), float(r["v_rad"])
        spectrum = stars[name].spectrum
        ladder = LADDER[group]
        values = []
        for vmic in ladder:
            segs = synthesize_node(teff, logg, m_h, WINDOWS, lines, grid, dlnlambda=5e-6,
                                   v_micro=vmic, segments_per_call=len(WINDOWS))
            values.append(chi2(spectrum, model_on_pixels(segs, spectrum, v_sini, v_rad)))
        values = np.array(values)
        cells = ", ".join(f"{v:g}: {c - values.min():.1f}" for v, c in zip(ladder, values, strict=True))
        print(f"| {group} | {name} | {r['spectral_type']} | {teff:.0f} / {logg:.2f} / {m_h:+.2f} / "
              f"{v_sini:.0f} | {float(r['v_micro']):.2f} | {cells} | {ladder[int(np.argmin(values))]:g} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
