"""Old and new fit path side by side, each in its own worker process, start-up included.

For every bundle asked for — the shipped BOSS and APOGEE bundles and an authors'-format
network (Payne-Che NPZ: 300 hidden units, ``--pixels`` model pixels on a linear air grid
over 4,500–10,170 Å, random line-like weights, imported with ``import_legacy`` once,
outside the timing) — the same ``--n`` simulated spectra (S/N 50, held out: drawn at
random labels, not at pre-search candidates) are written to a file, and two fresh worker
processes fit them under the full protocol (4,000 pre-search points, 15 Chebyshev terms,
uncertainties):

* **old**: ``Fitter(bundle, batch_size=1).fit`` one spectrum at a time (the per-spectrum
  reference path);
* **new**: ``Fitter(bundle).fit_batch`` (the batched path, batch size chosen from memory).

Each worker's time runs from ``Popen`` to its exit, so it includes the interpreter, the
imports, the bundle load, the fitter's start-up (candidate activations, low-rank factors)
and reading the spectra; the per-spectrum figure is that total over ``--n``. The worker's
CPU seconds (user + system, whole process) are printed beside it: on a shared machine the
wall time grows with the load, the CPU time much less. Printed per
bundle and path: total and per-spectrum seconds including start-up, the start-up split,
per-spectrum seconds of the fits alone, the worker's peak resident memory (``VmHWM`` of
the child: the per-worker memory), the ratio old/new and, for the authors'-format
network, the speed-up over the authors' code (``--authors-seconds``, 138.5 s per spectrum
measured with the same protocol and network). Agreement: the largest and the median
|Δlabel| / e and |ΔRV| / e between the paths (e: the per-spectrum fit's χ²-parabola
errors, the RV's covariance error) and the share started from the same pre-search candidate.

Usage (one core, as the issue's figures)::

    OMP_NUM_THREADS=1 taskset -c 1 python benchmarks/bench_workers.py \\
        [--n 50] [--bundles legacy,boss,apogee] [--pixels 57800]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

#: Authors' code, seconds per spectrum, same protocol and network (the issue's reference).
AUTHORS_SECONDS = 138.5


# --------------------------------------------------------------------------- worker
def _rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process [MB]: ``VmRSS`` (now) or ``VmHWM`` (peak).

    The peak is read from ``VmHWM``, not ``ru_maxrss``: after ``fork`` + ``exec`` the
    latter still counts the parent's resident pages at the fork (here the parent that
    generated a 57,800-pixel network: 1.7 GB), ``VmHWM`` belongs to the new image.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(path: str, bundle_dir: str, spectra_file: str, out: str) -> int:
    """Fit the spectra in ``spectra_file`` with one path; write timings and results to ``out``."""
    t0 = time.perf_counter()
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.fitting import Fitter, Spectrum

    t_import = time.perf_counter() - t0
    rss = {"imports": _rss_mb()}
    t = time.perf_counter()
    bundle = load_bundle(bundle_dir)
    opts = Fitter.default_options(bundle).updated(presearch_points=4000, n_chebyshev=15)
    fitter = Fitter(bundle, opts, batch_size=1 if path == "old" else None)
    t_fitter = time.perf_counter() - t
    rss["fitter"] = _rss_mb()
    t = time.perf_counter()
    batch = 1
    if path == "new":  # as ``Fitter.fit_batch``: the pre-search factors, then the batch from memory
        from zeta_payne.fitting.batched import BatchedFit

        fitter._batched = BatchedFit(fitter)
        fitter._batched.factors  # noqa: B018
    t_factors = time.perf_counter() - t
    rss["factors"] = _rss_mb()
    t = time.perf_counter()
    data = np.load(spectra_file)
    if path == "new":
        batch = fitter.resolved_batch_size(int(data["wavelength"].size))
    lsf = data["lsf_fwhm"] if "lsf_fwhm" in data.files else None
    spectra = [
        Spectrum(data["wavelength"], f, iv, lsf_fwhm=lsf)
        for f, iv in zip(data["flux"], data["ivar"], strict=True)
    ]
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    if path == "old":
        results = [fitter.fit(s) for s in spectra]
    else:
        results = fitter.fit_batch(spectra)
    t_fit = time.perf_counter() - t
    rss["fits"] = _rss_mb()
    stages: dict[str, float] = {}
    for key in ("prepare", "presearch", "least_squares", "uncertainties"):
        stages[key] = float(np.sum([r.timing.get(key, 0.0) for r in results]))
    np.savez(
        out + ".npz",
        labels=np.array([r.labels for r in results]),
        raw_e=np.array([r.raw_e_labels for r in results]),
        v_rad=np.array([r.v_rad for r in results]),
        e_v_rad=np.array([r.cov_e_v_rad for r in results]),
        initial=np.array([r.initial_labels for r in results]),
        chi2=np.array([r.chi2 for r in results]),
        flags=np.array([r.flags for r in results]),
    )
    report = {
        "import": t_import,
        "fitter": t_fitter,
        "read": t_read,
        "fit": t_fit,
        "stages": stages,
        "factors": t_factors,
        "batch": batch,
        "peak_mb": _rss_mb("VmHWM"),
        # CPU seconds of the whole process (interpreter and imports included): less
        # sensitive than wall time to other processes on a shared core
        "cpu": sum(os.times()[:2]),
        "rss_mb": rss,
        "refit_alone": int(sum("refit_alone" in r.timing for r in results)),
        "n_pixels": int(np.median([r.n_pixels for r in results])),
    }
    Path(out).write_text(json.dumps(report))
    return 0


# --------------------------------------------------------------------------- parent
def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _legacy_bundle(tmp: Path, n_pixels: int):
    from bench_fit import legacy_bundle

    return legacy_bundle(tmp, n_pixels)


def _write_spectra(bundle, instrument: str, n: int, snr: float, seed: int, path: Path) -> None:
    import numpy as np
    from bench_fit import make_spectra

    spectra = make_spectra(bundle, instrument, n, snr, seed)
    arrays = {
        "wavelength": spectra[0].wavelength,
        "flux": np.array([s.flux for s in spectra]),
        "ivar": np.array([s.ivar for s in spectra]),
    }
    if spectra[0].lsf_fwhm is not None:
        arrays["lsf_fwhm"] = spectra[0].lsf_fwhm
    np.savez(path, **arrays)


def _run_worker(path: str, bundle_dir: Path, spectra: Path, tmp: Path) -> dict:
    out = tmp / f"{path}.json"
    cmd = [sys.executable, __file__, "--worker", path, "--bundle", str(bundle_dir),
           "--spectra", str(spectra), "--out", str(out)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    total = time.perf_counter() - t
    report = json.loads(out.read_text())
    report["total"] = total
    import numpy as np

    report["results"] = dict(np.load(str(out) + ".npz"))
    return report


def _agreement(old: dict, new: dict) -> str:
    import numpy as np

    a, b = old["results"], new["results"]
    e = a["raw_e"]
    free = np.isfinite(e[0])
    dl = np.abs(b["labels"] - a["labels"])[:, free] / e[:, free]
    dv = np.abs(b["v_rad"] - a["v_rad"]) / a["e_v_rad"]
    worst = np.maximum(np.nanmax(dl, axis=1), dv)
    same = np.all(np.isclose(a["initial"], b["initial"]), axis=1)
    same_worst = float(worst[same].max()) if same.any() else float("nan")
    return (
        f"|Δlabel|/e max {np.nanmax(dl):.3f} (median {np.nanmedian(dl):.3f}), |ΔRV|/e max "
        f"{np.nanmax(dv):.3f} (median {np.nanmedian(dv):.3f}); same start {same.mean():.0%} "
        f"(max |Δ|/e among them {same_worst:.3f}); χ² new − old median "
        f"{np.median(b['chi2'] - a['chi2']):+.2f}, min {np.min(b['chi2'] - a['chi2']):+.2f}, "
        f"max {np.max(b['chi2'] - a['chi2']):+.2f}"
    )


def _row(name: str, r: dict, n: int) -> str:
    startup = r["total"] - r["fit"]
    st = r["stages"]
    return (
        f"{name:3s}: {r['total']:7.2f} s for {n} spectra incl. start-up = "
        f"{r['total'] / n:.3f} s/spectrum "
        f"({r['cpu'] / n:.3f} CPU s) | "
        f"start-up {startup:.2f} s (imports {r['import']:.2f}, bundle+fitter {r['fitter']:.2f}, "
        f"pre-search factors {r['factors']:.2f}, read {r['read']:.2f}) | "
        f"fits {r['fit'] / n:.3f} s/spectrum [pre-search "
        f"{st['presearch'] / n:.3f}, least squares {st['least_squares'] / n:.3f}, uncertainties "
        f"{st['uncertainties'] / n:.3f}] | batch {r['batch']} | peak RSS {r['peak_mb']:.0f} MB | "
        f"refit alone {r['refit_alone']} | RSS after imports / fitter / factors / fits "
        f"{r['rss_mb']['imports']:.0f} / {r['rss_mb']['fitter']:.0f} / {r['rss_mb']['factors']:.0f} / "
        f"{r['rss_mb']['fits']:.0f} MB"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50, help="spectra per bundle")
    ap.add_argument("--bundles", default="legacy,boss,apogee")
    ap.add_argument("--pixels", type=int, default=57800, help="model pixels of the authors'-format network")
    ap.add_argument("--snr", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--paths", default="old,new")
    ap.add_argument("--authors-seconds", type=float, default=AUTHORS_SECONDS)
    ap.add_argument("--keep", help="folder to keep the spectra and both paths' results in")
    ap.add_argument("--worker", choices=("old", "new"), help=argparse.SUPPRESS)
    ap.add_argument("--bundle", help=argparse.SUPPRESS)
    ap.add_argument("--spectra", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.bundle, args.spectra, args.out)

    sys.path.insert(0, str(Path(__file__).parent))
    import torch

    torch.set_num_threads(1)
    from bench_fit import get_bundle

    affinity = sorted(os.sched_getaffinity(0))
    print(
        f"# old vs new fit path, one worker process each, start-up included: torch {torch.__version__}, "
        f"CPUs {affinity}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, n={args.n}, "
        f"S/N {args.snr:g}, "
        f"full protocol (4000 points, 15 Chebyshev terms, uncertainties); {_load()}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(args.keep or tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        for name in args.bundles.split(","):
            sub = tmp / name
            sub.mkdir(exist_ok=True)
            if name == "legacy":
                bundle = _legacy_bundle(sub, args.pixels)
                instrument = "boss"
            else:
                bundle = get_bundle(name, None, sub)
                instrument = name
            spectra = sub / "spectra.npz"
            _write_spectra(bundle, instrument, args.n, args.snr, args.seed, spectra)
            d = bundle.describe()
            print(f"\n## {name}: {d['name']}@{d['version']} H={d['n_hidden']} P={d['n_pixels']} ({_load()})")
            reports = {}
            for path in args.paths.split(","):
                reports[path] = _run_worker(path, Path(bundle.path), spectra, sub)
                print(_row(path, reports[path], args.n) + f" | {_load()}")
            if "old" in reports and "new" in reports:
                old, new = reports["old"], reports["new"]
                print(
                    f"ratio old/new: {old['total'] / new['total']:.2f} incl. start-up "
                    f"({old['cpu'] / new['cpu']:.2f} in CPU time), {old['fit'] / new['fit']:.2f} fits alone"
                )
                print("agreement new vs old: " + _agreement(old, new))
            if name == "legacy":
                for path, r in reports.items():
                    per, cpu = r["total"] / args.n, r["cpu"] / args.n
                    print(
                        f"{path}: {args.authors_seconds / per:.0f}× the authors' code in wall time "
                        f"({args.authors_seconds / cpu:.0f}× in CPU time; {args.authors_seconds:g} s per "
                        f"spectrum; target ≥ 400×, i.e. ≤ {args.authors_seconds / 400:.3f} s per spectrum "
                        f"incl. start-up)"
                    )
            worst = max(r["peak_mb"] for r in reports.values())
            print(f"peak memory per worker: {worst:.0f} MB (target ≤ 1536 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
