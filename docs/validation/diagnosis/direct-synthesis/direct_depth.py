"""Direct syntheses at the reference labels against MILES spectra: G dwarfs vs F dwarfs.

No emulator, no lattice, no label fit: for each star the backend's SME synthesis at its
literature teff / log g / [Fe/H] (v_micro from a rough dwarf relation: 1.0 km/s below
6,000 K, 1.5 to 6,500 K, 2.0 above) in six 100-Å windows, broadened to the MILES LSF
(2.5 Å FWHM), shifted to the best RV (a χ² scan), multiplied per window by a quadratic
response fitted by least squares. Then k: the fractional excess of the model's line depth
over the data's (data/model − 1 regressed on the model's depth, the level removed per window);
k > 0 means the model's lines are too strong. If solar-type G dwarfs — whose clean Fe lines the
backend reproduces (diagnosis J) — show no excess and F dwarfs do, the excess grows with teff
in the physics; if both show it, it is in the data or their treatment.

Run from the repository root (MILES from the sdss-mangadap wheel, unpacked):

    python docs/validation/diagnosis/direct-synthesis/direct_depth.py MILES_DIR [--linelist FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from zeta_payne.grids.atmospheres import load_kurucz_grid
from zeta_payne.grids.sme import air_to_vacuum, load_linelist, synthesize_node
from zeta_payne.io.miles import read_miles, read_miles_params

WINDOWS = [(4500, 4600), (4900, 5000), (5300, 5400), (5600, 5700), (6000, 6100), (6400, 6500)]
G_DWARFS = ["0066", "0306", "0323", "0396", "0733", "0734"]  # HD 10307, 72905, 76151, 95128, 16 Cyg A/B
C = 299_792.458


def v_micro(teff: float) -> float:
    return 1.0 if teff < 6000 else (1.5 if teff < 6500 else 2.0)


def model_on_pixels(segments, wave_vac: np.ndarray, fwhm: float, v_rad: float) -> np.ndarray:
    """The synthesis broadened to ``fwhm`` [Å] and sampled at rest-frame ``wave_vac``."""
    out = np.full(wave_vac.size, np.nan)
    for seg in segments:
        w = air_to_vacuum(seg.wave_air)
        step = np.median(np.diff(w))
        f = gaussian_filter1d(seg.flux, fwhm / 2.3548 / step, mode="nearest")
        shifted = w * (1 + v_rad / C)
        inside = (wave_vac > shifted[0] + 3 * fwhm) & (wave_vac < shifted[-1] - 3 * fwhm)
        out[inside] = np.interp(wave_vac[inside], shifted, f)
    return out


def fit_windows(wave, flux, ivar, model):
    """Per window: quadratic response × model by weighted least squares; returns χ², residual pieces."""
    chi2, pieces = 0.0, []
    for lo, hi in WINDOWS:
        lo_v, hi_v = air_to_vacuum(np.array([lo, hi], float))
        m = (wave > lo_v) & (wave < hi_v) & np.isfinite(model) & (ivar > 0)
        if m.sum() < 30:
            continue
        x = (wave[m] - wave[m].mean()) / 50.0
        design = np.vstack([model[m], model[m] * x, model[m] * x**2]).T
        w = ivar[m]
        coef = np.linalg.lstsq(design * np.sqrt(w)[:, None], flux[m] * np.sqrt(w), rcond=None)[0]
        fit = design @ coef
        chi2 += float(np.sum(w * (flux[m] - fit) ** 2))
        pieces.append((flux[m] / fit - 1.0, 1.0 - model[m], w * fit**2))
    return chi2, pieces


def depth_excess(pieces) -> float:
    num = den = 0.0
    for r, d, w in pieces:
        x = d - np.average(d, weights=w)
        y = r - np.average(r, weights=w)
        num += np.sum(w * y * x)
        den += np.sum(w * x * x)
    return num / den


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("miles_dir")
    parser.add_argument("--linelist", default="data/linelists/obaf_merged-v1.csv.gz")
    parser.add_argument("--f-dwarfs", type=int, default=8, help="F dwarfs (6,200-6,800 K) to add")
    parser.add_argument("--fwhm-scan", action="store_true",
                        help="also fit the LSF FWHM (2.3-3.5 Å) and give k at the best one")
    args = parser.parse_args(argv)
    folder = Path(args.miles_dir)
    params = read_miles_params(folder / "paramsMILES_v9.1.txt")
    f_dwarfs = sorted(
        (n for n, s in params.items()
         if 6200 <= s.teff <= 6800 and s.logg >= 4.0 and abs(s.feh) <= 0.2),
        key=lambda n: params[n].teff,
    )
    chosen = G_DWARFS + ["0422"] + f_dwarfs[:: max(1, len(f_dwarfs) // args.f_dwarfs)][: args.f_dwarfs]
    lines = load_linelist(args.linelist)
    grid = load_kurucz_grid()
    head = ("| star | type | teff / log g / [Fe/H] (reference) | v_micro | RV [km/s] "
            "| k (model depth excess) |")
    print(head + (" best FWHM [Å] | k at it |" if args.fwhm_scan else ""))
    print("|---|---|---|---|---|---|" + ("---|---|" if args.fwhm_scan else ""))
    for number in chosen:
        star = params[number]
        (spec,) = read_miles(next(folder.glob(f"*m{number}V.fits")), params=params)
        segs = synthesize_node(star.teff, star.logg, star.feh, WINDOWS, lines, grid,
                               dlnlambda=5e-6, v_micro=v_micro(star.teff), segments_per_call=6)
        wave, flux, ivar = spec.wavelength, spec.flux, spec.ivar
        fwhm = float(np.median(spec.lsf_fwhm)) if spec.lsf_fwhm is not None else 2.5
        grid_v = np.arange(-30.0, 30.1, 1.0)
        chis = [fit_windows(wave, flux, ivar, model_on_pixels(segs, wave, fwhm, v))[0] for v in grid_v]
        v_best = float(grid_v[int(np.argmin(chis))])
        _, pieces = fit_windows(wave, flux, ivar, model_on_pixels(segs, wave, fwhm, v_best))
        k = depth_excess(pieces)
        text = (f"| {star.name.strip()} | {star.spectral_type.strip()} | {star.teff:.0f} / {star.logg:.2f} / "
                f"{star.feh:+.2f} | {v_micro(star.teff):.1f} | {v_best:+.0f} | {k:+.3f} |")
        if args.fwhm_scan:
            widths = np.arange(2.3, 3.51, 0.1)
            chis = [fit_windows(wave, flux, ivar, model_on_pixels(segs, wave, f, v_best))[0] for f in widths]
            best = float(widths[int(np.argmin(chis))])
            _, pieces = fit_windows(wave, flux, ivar, model_on_pixels(segs, wave, best, v_best))
            text += f" {best:.1f} | {depth_excess(pieces):+.3f} |"
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
