#!/usr/bin/env python
"""Make the demo spectra of ``zeta-payne demo``: mwmStar files and ``truth.csv``.

Each spectrum is ``true normalised flux × smooth response + noise`` on the rest-frame
mwmStar grid of its instrument, with BOSS-like per-pixel ``wresl`` (R ≈ 1500–2600) or the
APOGEE R = 22,500 LSF, realistic S/N, a few flagged pixels and APOGEE chip gaps. The true
normalised flux comes from a *true spectrum generator*::

    generator(instrument, labels, v_rad, wavelength, lsf_fwhm) -> flux  # shape (N,)

(``labels``: {name: value}; ``wavelength``/``lsf_fwhm`` [Å], shape (N,); NaN or 1 where it
has no model). The default, :class:`BundleGenerator`, is the bundles' own forward model;
any other callable (e.g. one interpolating a synthesis node grid) can be passed to
:func:`make_demo`. Some spectra are corrupt on purpose (a truncated file, a spectrum with
no valid pixel, an array of the wrong length) and some are classified as other classes
so that routing sends them elsewhere; ``truth.csv`` records the true labels, the
classifier probabilities and a note per spectrum.

Usage: ``python data/demo/make_demo.py [--out data/demo] [--bundle-boss B] [--bundle-apogee B]``
"""

from __future__ import annotations

import argparse
import csv
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zeta_payne.bundles.bundle import Bundle
from zeta_payne.io.sdss.layout import APOGEE_BAD_PIXEL_BITS, APOGEE_GRID, BOSS_GRID
from zeta_payne.io.sdss.mwm import write_mwm

#: A true spectrum generator (see the module docstring).
Generator = Callable[[str, Mapping[str, float], float, np.ndarray, np.ndarray], np.ndarray]

V_ASTRA = "0.8.0"
CLASSES = ("cv", "fgkm", "oba", "wd", "sb2", "yso")
#: APOGEE detector gaps [Å, vacuum] (no data).
APOGEE_GAPS = ((15805.0, 15865.0), (16435.0, 16480.0))
#: The demo: sources (one mwmStar file each) and their spectra. ``state``: good, truncated
#: (file cut inside the data), no_ivar (every pixel unusable), wrong_length; ``classes``:
#: classifier probabilities (oba first = routed); ``programs``: carton programs of the source.
_OBA = {"oba": 0.85, "fgkm": 0.05, "wd": 0.04, "sb2": 0.03, "yso": 0.02, "cv": 0.01}
_OBA_SECOND = {"sb2": 0.5, "oba": 0.35, "fgkm": 0.08, "wd": 0.04, "yso": 0.02, "cv": 0.01}
_OBA_THIRD = {"wd": 0.45, "sb2": 0.3, "oba": 0.15, "fgkm": 0.06, "yso": 0.03, "cv": 0.01}
_ELSEWHERE = {"fgkm": 0.8, "yso": 0.08, "sb2": 0.06, "oba": 0.03, "wd": 0.02, "cv": 0.01}
DEMO_LAYOUT: tuple[dict[str, Any], ...] = (
    {"spectra": [("boss", "apo25m", "good", _OBA), ("apogee", "apo25m", "good", _OBA)]},
    {"spectra": [("boss", "apo25m", "good", _OBA_SECOND), ("apogee", "apo25m", "good", _OBA)]},
    {"spectra": [("boss", "apo25m", "good", _OBA_THIRD), ("apogee", "apo25m", "good", _OBA_SECOND)]},
    {"spectra": [("boss", "apo25m", "good", _ELSEWHERE), ("apogee", "apo25m", "good", _OBA)]},
    {
        "spectra": [("boss", "apo25m", "good", _OBA), ("apogee", "apo25m", "good", _ELSEWHERE)],
        "programs": "mwm_ob",
    },
    {"spectra": [("boss", "lco25m", "good", _OBA), ("apogee", "lco25m", "good", _OBA_THIRD)]},
    {"spectra": [("boss", "apo25m", "good", _OBA)]},
    {"spectra": [("boss", "apo25m", "good", _OBA)]},
    {"spectra": [("boss", "lco25m", "good", _OBA)]},
    {"spectra": [("boss", "lco25m", "good", _OBA)]},
    {"spectra": [("apogee", "lco25m", "good", _ELSEWHERE)]},
    {"spectra": [("apogee", "lco25m", "wrong_length", _OBA)]},
    {"spectra": [("boss", "apo25m", "truncated", _OBA)]},
    {"spectra": [("boss", "lco25m", "no_ivar", _OBA)]},
)


class BundleGenerator:
    """True spectra from the bundles' forward model (emulator → LSF → Doppler shift).

    Parameters
    ----------
    bundles : mapping
        ``{instrument: Bundle}``.
    """

    def __init__(self, bundles: Mapping[str, Bundle]) -> None:
        self.bundles = dict(bundles)

    def __call__(
        self,
        instrument: str,
        labels: Mapping[str, float],
        v_rad: float,
        wavelength: np.ndarray,
        lsf_fwhm: np.ndarray,
    ) -> np.ndarray:
        from zeta_payne.model.forward import ForwardModel

        bundle = self.bundles[instrument]
        grid_lam = bundle.grid.wavelength
        margin = 1.0 + 300.0 / 299792.458
        inside = (wavelength > grid_lam[0] * margin * 1.002) & (wavelength < grid_lam[-1] / margin / 1.002)
        flux = np.ones(wavelength.size)
        if not inside.any():
            return flux
        vector = np.array([labels[s.name] for s in bundle.labels], dtype=float)
        model = ForwardModel(
            bundle.emulator(),
            bundle.grid,
            wavelength[inside],
            lsf_fwhm[inside],
            np.ones((int(inside.sum()), 1)),
            rv_range=(-100.0, 100.0),
        )
        flux[inside] = model.normalized(vector, v_rad)
        return flux


class GridSpectrumGenerator:
    """True spectra from synthesis node grids: node interpolation + rotation (the physics the
    bundles are trained on, not the networks), then the instrument's per-pixel LSF and the
    Doppler shift of the forward model's operators.

    Parameters
    ----------
    grid_paths : path-like or mapping of str to path-like
        Node grid folder with one sub-folder per instrument, or one folder per instrument
        (``{"boss": ..., "apogee": ...}``) for grids synthesized per instrument.
    """

    def __init__(self, grid_paths: str | os.PathLike | Mapping[str, str | os.PathLike]) -> None:
        if isinstance(grid_paths, Mapping):
            self.grid_paths = {k: Path(v) for k, v in grid_paths.items()}
        else:
            self.grid_paths = {k: Path(grid_paths) for k in ("boss", "apogee")}
        self._generators: dict[str, Any] = {}

    def _generator(self, instrument: str):
        if instrument not in self._generators:
            from zeta_payne.grids.generator import GridGenerator
            from zeta_payne.grids.nodes import load_node_grid

            if instrument not in self.grid_paths:
                raise ValueError(f"no node grid given for {instrument}")
            grid = load_node_grid(self.grid_paths[instrument], instrument)
            self._generators[instrument] = GridGenerator(
                grid, ("teff", "logg", "v_sini", "m_h"), instrument=instrument
            )
        return self._generators[instrument]

    def __call__(
        self,
        instrument: str,
        labels: Mapping[str, float],
        v_rad: float,
        wavelength: np.ndarray,
        lsf_fwhm: np.ndarray,
    ) -> np.ndarray:
        import torch

        from zeta_payne.model.doppler import log_doppler_factor
        from zeta_payne.model.lsf import convolution_band, resampling_band, residual_sigma

        gen = self._generator(instrument)
        rest = gen(np.array([[labels[n] for n in gen.label_names]]))[0]
        loglam = np.log(gen.wavelength)
        delta = (loglam[-1] - loglam[0]) / (loglam.size - 1)
        margin = 1.0 + 300.0 / 299792.458
        inside = (wavelength > gen.wavelength[0] * margin * 1.002) & (
            wavelength < gen.wavelength[-1] / margin / 1.002
        )
        flux = np.ones(wavelength.size)
        if not inside.any():
            return flux
        sigma = residual_sigma(wavelength[inside], lsf_fwhm[inside], gen.resolution)
        conv = convolution_band(np.interp(loglam, np.log(wavelength[inside]), sigma), delta)
        smooth = conv.to_torch(dtype=torch.float64) @ torch.as_tensor(rest, dtype=torch.float64)
        target = np.log(wavelength[inside]) - float(log_doppler_factor(v_rad))
        band, _ = resampling_band(loglam[0], delta, loglam.size, target)
        flux[inside] = (band.to_torch(dtype=torch.float64) @ smooth).numpy()
        return flux


def boss_wresl(wavelength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A BOSS-like LSF FWHM per pixel [Å]: R rising from ~1500 (blue) to ~2600 (red)."""
    resolution = 1500.0 + 1100.0 * (wavelength - 3600.0) / (10300.0 - 3600.0)
    return wavelength / (resolution * rng.uniform(0.95, 1.05))


def instrument_response(instrument: str, wavelength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth, positive flux-calibration × SED shape [1e-17 erg/s/cm²/Å]."""
    x = (wavelength - wavelength.mean()) / np.ptp(wavelength)
    wobble = np.polynomial.legendre.legval(2 * x, np.concatenate([[1.0], rng.normal(0, 0.05, 4)]))
    if instrument == "boss":
        sed = (wavelength / 5000.0) ** rng.uniform(-3.0, -1.5)
        scale = rng.uniform(50.0, 400.0)
    else:
        sed = (wavelength / 16000.0) ** -3.5
        scale = rng.uniform(100.0, 1000.0)
    return scale * sed * np.clip(wobble, 0.3, None)


def sample_labels(bundle: Bundle, rng: np.random.Generator, inner: float = 0.15) -> dict[str, float]:
    """Labels drawn uniformly from the inner part of the bundle's box (fixed ones at their value)."""
    out = {}
    for spec in bundle.labels:
        if spec.free:
            lo = spec.lower + inner * (spec.upper - spec.lower)
            hi = spec.upper - inner * (spec.upper - spec.lower)
            out[spec.name] = float(rng.uniform(lo, hi))
        else:
            out[spec.name] = float(spec.value if spec.value is not None else 0.5 * (spec.lower + spec.upper))
    return out


def simulate(
    instrument: str,
    labels: Mapping[str, float],
    v_rad: float,
    snr: float,
    generator: Generator,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """One mwmStar row: ``flux``, ``ivar``, ``pixel_flags`` (and BOSS ``wresl``), shape (N,)."""
    wavelength = (BOSS_GRID if instrument == "boss" else APOGEE_GRID).wavelength
    fwhm = boss_wresl(wavelength, rng) if instrument == "boss" else wavelength / 22500.0
    normalised = np.asarray(generator(instrument, labels, v_rad, wavelength, fwhm), dtype=float)
    normalised = np.where(np.isfinite(normalised), normalised, 1.0)
    true = normalised * instrument_response(instrument, wavelength, rng)
    level = float(np.median(true))
    sigma = level / snr * np.sqrt(np.clip(true / level, 0.05, None))
    flux = true + rng.normal(size=true.size) * sigma
    ivar = 1.0 / sigma**2
    flags = np.zeros(wavelength.size, np.int32)
    bad = rng.random(wavelength.size) < 0.002  # cosmic rays, bad columns
    flags[bad] = 1 << 24 if instrument == "boss" else 1 << 1
    ivar[bad] = 0.0
    if instrument == "apogee":
        for lo, hi in APOGEE_GAPS:
            gap = (wavelength >= lo) & (wavelength <= hi)
            flux[gap], ivar[gap], flags[gap] = 0.0, 0.0, APOGEE_BAD_PIXEL_BITS & 1
    row = {"flux": flux.astype(np.float32), "ivar": ivar.astype(np.float32), "pixel_flags": flags}
    if instrument == "boss":
        row["wresl"] = fwhm.astype(np.float32)
    return row


def _truncate(path: str, hdu: int) -> None:
    """Cut a FITS file inside the data of extension ``hdu`` (headers up to it stay readable)."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        offset = hdul[hdu]._data_offset + 1000
    with open(path, "r+b") as fh:
        fh.truncate(offset)


def make_demo(
    out: str | os.PathLike,
    bundles: Mapping[str, Bundle],
    generator: Generator | None = None,
    layout: Sequence[Mapping[str, Any]] = DEMO_LAYOUT,
    seed: int = 2024,
    first_sdss_id: int = 90000001,
) -> list[dict[str, Any]]:
    """Write the demo mwmStar files and ``truth.csv`` into ``out``; return the truth rows.

    Parameters
    ----------
    out : path-like
        Folder to write (created; existing demo files are replaced).
    bundles : mapping
        ``{instrument: Bundle}``: label boxes to sample from (and the default generator).
    generator : callable, optional
        The true spectrum generator (default :class:`BundleGenerator` of ``bundles``).
    layout : sequence of mappings
        Sources and spectra (default :data:`DEMO_LAYOUT`).
    seed : int
        Random seed.
    first_sdss_id : int
        SDSS ID of the first source.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("mwmStar-*.fits"):
        old.unlink()
    generator = generator or BundleGenerator(bundles)
    rng = np.random.default_rng(seed)
    truth: list[dict[str, Any]] = []
    for k, source in enumerate(layout):
        sdss_id = first_sdss_id + k
        name = f"mwmStar-{V_ASTRA}-{sdss_id}.fits"
        rows, truncate_hdu = [], None
        for instrument, telescope, state, classes in source["spectra"]:
            labels = sample_labels(bundles[instrument], rng)
            v_rad = float(rng.uniform(-10.0, 10.0))  # mwm spectra are in the rest frame
            snr = float(rng.uniform(30.0, 150.0))
            row = simulate(instrument, labels, v_rad, snr, generator, rng)
            if state == "no_ivar":
                row["ivar"] = np.zeros_like(row["ivar"])
            elif state == "wrong_length":
                row = {key: value[:-575] for key, value in row.items()}
            elif state == "truncated":
                truncate_hdu = 1 if instrument == "boss" else 3
            rows.append(
                {
                    "instrument": instrument,
                    "telescope": telescope,
                    "snr": snr,
                    **PRODUCT_KEYWORDS[instrument],
                    **({"obj": apogee_obj(sdss_id)} if instrument == "apogee" else {}),
                    **row,
                }
            )
            truth.append(
                {
                    "file": name,
                    "instrument": instrument,
                    "telescope": telescope,
                    "sdss_id": sdss_id,
                    **{label: round(value, 4) for label, value in labels.items()},
                    "v_rad": round(v_rad, 3),
                    "snr": round(snr, 1),
                    **{f"p_{c}": classes.get(c, 0.0) for c in CLASSES},
                    "note": {
                        "good": "",
                        "truncated": "corrupt: file truncated",
                        "no_ivar": "corrupt: no valid pixel",
                        "wrong_length": "corrupt: wrong array length",
                    }[state],
                }
            )
        path = folder / name
        _write_rows(path, sdss_id, source.get("programs"), rows)
        if truncate_hdu is not None:
            _truncate(str(path), truncate_hdu)
    columns = list(dict.fromkeys(key for row in truth for key in row))
    with open(folder / "truth.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(truth)
    return truth


#: Data-product keywords of the demo spectra (real mwmStar files carry them; ASTRA's
#: spectrum tables require them).
PRODUCT_KEYWORDS: dict[str, dict[str, str]] = {
    "boss": {"release": "sdss5", "run2d": "v6_2_1"},
    "apogee": {"release": "sdss5", "apred": "1.4"},
}


def apogee_obj(sdss_id: int) -> str:
    """A made-up APOGEE object name (2MASS style) for a demo source."""
    return f"2M{sdss_id % 100000000:08d}+0000000"


def healpix_of(sdss_id: int) -> int:
    """A made-up HEALPix index (nside 128) for a demo source."""
    return int(sdss_id % (12 * 128 * 128))


def _write_rows(path: Path, sdss_id: int, programs: str | None, rows: list[dict[str, Any]]) -> None:
    """Write an mwmStar; a wrong-length row gets its own (too short) column."""
    source = {
        "sdss_id": sdss_id,
        "ra": float(sdss_id % 360),
        "dec": 10.0,
        "healpix": healpix_of(sdss_id),
        "programs": programs,
    }
    write_mwm(path, source, rows, filetype="mwmStar", v_astra=V_ASTRA, overwrite=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent), help="output folder")
    parser.add_argument("--bundle-boss", default="boss", help="BOSS bundle (default zeta-payne-boss)")
    parser.add_argument("--bundle-apogee", default="apogee", help="APOGEE bundle (default zeta-payne-apogee)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--grid", action="append", default=None, metavar="[INSTRUMENT=]PATH",
                        help="node grid to draw the true spectra from, one folder for both "
                             "instruments or repeated as boss=PATH / apogee=PATH "
                             "(default: the bundles' own networks)")
    args = parser.parse_args(argv)
    from zeta_payne.bundles.registry import find_bundle

    bundles = {"boss": find_bundle(args.bundle_boss), "apogee": find_bundle(args.bundle_apogee)}
    generator = None
    if args.grid:
        pairs = [g.split("=", 1) if "=" in g else (None, g) for g in args.grid]
        if len(pairs) == 1 and pairs[0][0] is None:
            generator = GridSpectrumGenerator(pairs[0][1])
        else:
            generator = GridSpectrumGenerator({k: v for k, v in pairs if k})
    truth = make_demo(args.out, bundles, generator=generator, seed=args.seed)
    size = sum(p.stat().st_size for p in Path(args.out).glob("mwmStar-*.fits"))
    print(f"wrote {len(truth)} spectra in {len(DEMO_LAYOUT)} files ({size / 1e6:.1f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
