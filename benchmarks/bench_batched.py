"""Old (per-spectrum) and new (batched) fit side by side, one run, one thread.

Prints, for the shipped BOSS and APOGEE bundles (full protocol: 4,000 pre-search points,
15 Chebyshev terms, uncertainties), on the same simulated spectra:

* the per-spectrum seconds of ``Fitter.fit`` (old) and of ``Fitter.fit_batch`` (new) for
  each batch size, medians of ``--repeats`` runs, and their ratio;
* the stage split of both paths;
* agreement: the largest |Δlabel| / e_label (χ²-parabola error) and |ΔRV| / e_RV, and how
  often the pre-search picked the same start;
* the pre-search ranking's stability: the share of spectra whose approximate (low-rank,
  moment) pre-search has the exact pre-search's best candidate first / among the re-checked;
* peak resident memory of the process;
* with CUDA: spectra per second of the batched path on the GPU (device named), else a line
  saying the GPU section was skipped.

Usage::

    taskset -c 1 python benchmarks/bench_batched.py [--n 32] [--batch-sizes 1,8,32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent))

from bench_fit import get_bundle, make_spectra  # noqa: E402

from zeta_payne.fitting import Fitter  # noqa: E402


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def _stages(results) -> str:
    keys = ("prepare", "presearch", "least_squares", "uncertainties")
    return ", ".join(f"{k} {np.median([r.timing.get(k, np.nan) for r in results]):.3f}" for k in keys)


def _load() -> str:
    """The 1-minute load average (the machine may be shared: absolute times inflate)."""
    return f"load {os.getloadavg()[0]:.1f}"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _agreement(old, new) -> str:
    """Largest |Δlabel|/e and |ΔRV|/e (over all spectra, and over those started alike), the
    share started alike, and the share whose batched χ² is not above the per-spectrum one."""
    dl, dv, same, no_worse, dl_same = [], [], [], 0, [0.0]
    for o, n in zip(old, new, strict=True):
        free = np.isfinite(o.raw_e_labels)
        dl.append(np.max(np.abs(n.labels - o.labels)[free] / o.raw_e_labels[free]))
        dv.append(abs(n.v_rad - o.v_rad) / o.e_v_rad)
        same.append(bool(np.allclose(n.initial_labels, o.initial_labels)))
        if same[-1]:
            dl_same.append(max(dl[-1], dv[-1]))
        no_worse += n.chi2 <= o.chi2 + 0.1
    return (
        f"max|Δlabel|/e {max(dl):.3f}, max|ΔRV|/e {max(dv):.3f} (same start: {max(dl_same):.3f}), "
        f"same start {np.mean(same):.0%}, χ² not above old's + 0.1 in {no_worse / len(old):.0%}"
    )


def _ranking(fitter: Fitter, spectra) -> tuple[float, float]:
    """Share of spectra whose approximate pre-search ranks the exact best first / in the re-check."""
    from zeta_payne.fitting.batched import BatchedFit
    from zeta_payne.fitting.batched_presearch import presearch_batch

    batched = BatchedFit(fitter)
    first = inside = 0
    lo, hi = fitter.options.rv_range
    for spectrum in spectra:
        prep = fitter._prepare(spectrum)
        fm = fitter._forward(prep, prep.used)
        labels, _, _, _ = fitter._presearch_range(prep, fm, lo, hi)  # the exact (old) pre-search
        exact = int(np.flatnonzero(np.all(fitter._cand_labels == labels, axis=1))[0])
        index, _, _ = presearch_batch(
            batched.factors,
            fitter._cand_rv_unit,
            [fm],
            [prep.flux],
            [prep.weight],
            [fitter._rv_levels(prep, lo, hi)],
            fitter.options.n_chebyshev,
            fitter.options.presearch_stride,
            fitter.options.presearch_recheck,
            coarse_stride=fitter.options.presearch_coarse_stride,
            coarse_keep=fitter.options.presearch_coarse_keep,
        )
        first += int(index[0, 0] == exact)
        inside += int(exact in index[0])
    return first / len(spectra), inside / len(spectra)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32, help="spectra per bundle")
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--instruments", default="boss,apogee")
    ap.add_argument("--snr", type=float, default=50.0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    print(
        f"# old vs batched fit: 1 thread, torch {torch.__version__}, {os.cpu_count()} cores visible; "
        f"median of {args.repeats} runs; S/N {args.snr:g}; full protocol (4000 points, 15 Chebyshev terms); "
        f"{_load()}"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for inst in args.instruments.split(","):
            bundle = get_bundle(inst, None, Path(tmp))
            spectra = make_spectra(bundle, inst, args.n, args.snr, seed=1)
            opts = Fitter.default_options(bundle).updated(presearch_points=4000, n_chebyshev=15)
            t0 = time.perf_counter()
            fitter = Fitter(bundle, opts, batch_size=max(sizes))
            startup_old = time.perf_counter() - t0
            t0 = time.perf_counter()
            fitter.fit_batch(spectra[:2], batched=True)  # start-up of the batched path (factors)
            startup_new = time.perf_counter() - t0
            old = [fitter.fit(s) for s in spectra]
            t_old = _median_time(lambda f=fitter, ss=spectra: [f.fit(s) for s in ss], args.repeats) / len(
                spectra
            )
            d = bundle.describe()
            print(
                f"\n## {inst}: {d['name']}@{d['version']}, {old[0].n_pixels} px fitted, rank "
                f"{fitter._batched.factors.rank} (rms {fitter._batched.factors.rms_residual:.1e}); "
                f"start-up {startup_old:.2f} s (fitter) + {startup_new:.2f} s (batched, incl. 2 fits)"
            )
            print(
                f"old  per-spectrum: {t_old:.3f} s/spectrum   stages [s]: {_stages(old)}   "
                f"peak RSS {_peak_mb():.0f} MB, {_load()}"
            )
            for size in sizes:
                fitter.batch_size = size
                new = fitter.fit_batch(spectra, batched=True)
                t_new = _median_time(
                    lambda f=fitter, ss=spectra: f.fit_batch(ss, batched=True), args.repeats
                ) / len(spectra)
                agreement = _agreement(old, new)
                alone = sum("refit_alone" in r.timing for r in new)
                print(
                    f"new  batch {size:3d}:   {t_new:.3f} s/spectrum   ratio old/new {t_old / t_new:4.2f}   "
                    f"stages [s]: {_stages(new)}   {agreement}, refitted alone {alone}, "
                    f"peak RSS {_peak_mb():.0f} MB, {_load()}"
                )
            first, inside = _ranking(fitter, spectra)
            print(
                f"pre-search ranking: exact best ranked first by the approximate search in {first:.0%}, "
                f"among the {opts.presearch_recheck} re-checked in {inside:.0%} of {len(spectra)} spectra"
            )
            if torch.cuda.is_available():
                gpu = Fitter(bundle, opts, device="cuda", batch_size=max(sizes))
                gpu.fit_batch(spectra[:2])
                torch.cuda.synchronize()
                t = _median_time(
                    lambda g=gpu, ss=spectra: (g.fit_batch(ss), torch.cuda.synchronize()), args.repeats
                )
                print(
                    f"GPU {torch.cuda.get_device_name()}: {len(spectra) / t:.0f} spectra/s "
                    f"(batch {max(sizes)}, reading excluded)"
                )
            else:
                print("GPU section skipped: no CUDA device")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
