"""Fit time per spectrum and peak memory, one core, full protocol.

Prints, for a BOSS mwmStar-sized spectrum (4648 px, per-pixel LSF) and an APOGEE
apStar-sized spectrum (8575 px, two chip gaps): the median wall and CPU seconds per
spectrum over N spectra (4,000 pre-search points, 15 Chebyshev terms, uncertainties),
the per-stage medians, and the peak resident memory of the process. With a CUDA device,
also the throughput of the same fitter on the GPU.

Usage::

    python benchmarks/bench_fit.py [--n 50] [--bundle-boss DIR] [--bundle-apogee DIR] [--restarts K]

``--restarts K`` also times the same spectra with ``FitOptions.restarts = K`` (least squares
started again in K other basins of the pre-search) beside the one-start fit.

Without bundles it uses the shipped ones, or (if absent) synthetic 300-unit bundles of
~20,000 model pixels (timing depends on the sizes, not on the weights).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

from zeta_payne.bundles.bundle import load_bundle  # noqa: E402
from zeta_payne.bundles.registry import resolve_bundle_path  # noqa: E402
from zeta_payne.bundles.toy import make_toy_bundle  # noqa: E402
from zeta_payne.exceptions import BundleError  # noqa: E402
from zeta_payne.fitting import Fitter, Spectrum  # noqa: E402
from zeta_payne.model.forward import ForwardModel  # noqa: E402
from zeta_payne.model.response import random_response  # noqa: E402

BOSS = 10 ** (3.5523 + 1e-4 * np.arange(4648))
APOGEE = 10 ** (4.179 + 6e-6 * np.arange(8575))
APOGEE_GAPS = ((15808.0, 15865.0), (16432.0, 16488.0))


def get_bundle(instrument: str, path: str | None, tmp: Path):
    if path:
        return load_bundle(resolve_bundle_path(path))
    try:
        return load_bundle(resolve_bundle_path(instrument))
    except BundleError:
        n_pixels = 20000
        print(f"# no shipped {instrument} bundle: using a synthetic 300-unit, {n_pixels}-pixel bundle")
        res = 6000.0 if instrument == "boss" else 60000.0
        return make_toy_bundle(tmp / instrument, instrument, n_pixels=n_pixels, n_hidden=300, resolution=res)


def each_bundle(args: argparse.Namespace, tmp: Path):
    """``(instrument, bundle)`` for each of ``args.instruments`` (``args.bundle_<inst>`` or the
    shipped one, see :func:`get_bundle`)."""
    for inst in args.instruments.split(","):
        yield inst, get_bundle(inst, getattr(args, f"bundle_{inst}"), tmp)


def legacy_bundle(tmp: Path, n_pixels: int):
    """An authors'-format network NPZ (random line-like weights) imported as a bundle."""
    from zeta_payne.bundles.legacy import import_legacy
    from zeta_payne.bundles.toy import toy_weights

    wave_air = np.linspace(4500.0, 10170.0, n_pixels)
    w = toy_weights(wave_air, 300, n_pixels // 40, 4, 3, [6000, 3.0, 0, -0.8], [25000, 5.0, 400, 0.8])
    np.savez(tmp / "legacy.npz", **w.as_arrays(), wave=wave_air)
    return import_legacy(tmp / "legacy.npz", tmp / "legacy", "boss")


def make_spectra(bundle, instrument: str, n: int, snr: float, seed: int) -> list[Spectrum]:
    rng = np.random.default_rng(seed)
    lam = BOSS if instrument == "boss" else APOGEE
    if instrument == "boss":
        fwhm = lam / (1800 + 600 * (lam - lam[0]) / (lam[-1] - lam[0]))  # BOSS-like wresl
    else:
        fwhm = lam / 22500.0
    lo, hi = bundle.manifest.fit_defaults["wavelength_range"]
    sel = (lam >= lo) & (lam <= hi)
    fm = ForwardModel(
        bundle.emulator(), bundle.grid, lam[sel], fwhm[sel], np.ones((sel.sum(), 1)), rv_range=(-60, 60)
    )
    out = []
    for _ in range(n):
        labels = np.array(
            [s.lower + rng.uniform() * (s.upper - s.lower) if s.free else s.value for s in bundle.labels]
        )
        norm = np.ones(lam.size)
        norm[sel] = fm.normalized(labels, rng.uniform(-50, 50))
        flux = norm * random_response(lam, 5, rng) * 100
        sigma = flux / snr
        ivar = 1 / sigma**2
        if instrument == "apogee":
            for a, b in APOGEE_GAPS:
                ivar[(lam > a) & (lam < b)] = 0.0
        out.append(
            Spectrum(
                lam,
                flux + rng.normal(size=lam.size) * sigma,
                ivar,
                lsf_fwhm=fwhm if instrument == "boss" else None,
            )
        )
    return out


def bench(bundle, instrument: str, n: int, device: str = "cpu", restarts: int = 0) -> dict:
    spectra = make_spectra(bundle, instrument, n + 1, 50.0, seed=1)
    opts = Fitter.default_options(bundle).updated(presearch_points=4000, n_chebyshev=15, restarts=restarts)
    fitter = Fitter(bundle, opts, device=device)
    fitter.fit(spectra[0])  # warm-up
    walls, cpus, stages = [], [], {}
    for s in spectra[1:]:
        w0, c0 = time.perf_counter(), time.process_time()
        r = fitter.fit(s)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        for k, v in r.timing.items():
            stages.setdefault(k, []).append(v)
    return {
        "wall": float(np.median(walls)),
        "cpu": float(np.median(cpus)),
        "stages": {k: float(np.median(v)) for k, v in stages.items()},
        "n_pixels_used": r.n_pixels,
    }


def bench_batched(bundle, instrument: str, n: int, restarts: int = 0, batch_size: int = 16) -> float:
    """Seconds per spectrum of ``Fitter.fit_batch`` (the batched path) on the same spectra."""
    spectra = make_spectra(bundle, instrument, n + 1, 50.0, seed=1)
    opts = Fitter.default_options(bundle).updated(presearch_points=4000, n_chebyshev=15, restarts=restarts)
    fitter = Fitter(bundle, opts, batch_size=batch_size)
    fitter.fit_batch(spectra[:2], batched=True)  # warm-up
    t = time.perf_counter()
    fitter.fit_batch(spectra[1:], batched=True)
    return (time.perf_counter() - t) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--bundle-boss")
    ap.add_argument("--bundle-apogee")
    ap.add_argument("--instruments", default="boss,apogee")
    ap.add_argument("--legacy-pixels", type=int, default=0,
                    help="also time a BOSS fit with an authors'-format network of this many pixels "
                         "(linear air grid over 4500-10170 Å, imported; the paper's: 57800)")
    ap.add_argument("--restarts", type=int, default=0,
                    help="also time the fit with this many restarts in other basins, side by side")
    args = ap.parse_args()
    print(f"# zeta-payne fit benchmark: 1 thread, torch {torch.__version__}, {os.cpu_count()} cores visible")
    with tempfile.TemporaryDirectory() as tmp:
        for inst, bundle in each_bundle(args, Path(tmp)):
            d = bundle.describe()
            print(f"# {inst}: bundle {d['name']}@{d['version']} H={d['n_hidden']} P={d['n_pixels']}")
            res = bench(bundle, inst, args.n)
            stages = ", ".join(f"{k} {v:.3f}" for k, v in res["stages"].items())
            print(
                f"{inst}: median {res['wall']:.3f} s wall, {res['cpu']:.3f} s CPU per spectrum "
                f"(n={args.n}, {res['n_pixels_used']} px fitted); stages [s]: {stages}"
            )
            if args.restarts:
                more = bench(bundle, inst, args.n, restarts=args.restarts)
                print(
                    f"{inst} restarts={args.restarts}: median {more['wall']:.3f} s wall, "
                    f"{more['cpu']:.3f} s CPU per spectrum "
                    f"({more['wall'] / res['wall']:.2f}x the one-start fit); "
                    f"least squares {more['stages'].get('least_squares', float('nan')):.3f} s"
                )
                one, many = (bench_batched(bundle, inst, args.n, k) for k in (0, args.restarts))
                print(
                    f"{inst} batched (16 per batch): {one:.3f} s per spectrum, restarts={args.restarts} "
                    f"{many:.3f} s ({many / one:.2f}x)"
                )
            if torch.cuda.is_available():
                gpu = bench(bundle, inst, args.n, device="cuda")
                print(
                    f"{inst} GPU: median {gpu['wall']:.4f} s per spectrum ({1 / gpu['wall']:.1f} spectra/s)"
                )
        if args.legacy_pixels:
            bundle = legacy_bundle(Path(tmp), args.legacy_pixels)
            res = bench(bundle, "boss", max(5, args.n // 5))
            print(f"legacy {args.legacy_pixels}-pixel network (R_model = inf, imported): median "
                  f"{res['wall']:.3f} s wall, {res['cpu']:.3f} s CPU per BOSS spectrum")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
