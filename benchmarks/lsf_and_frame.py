"""How the assumed LSF and the RV search range change a fit (issue 13), shipped bundles.

``lsf``: a BOSS spectrum made by the forward model with a known per-pixel LSF (R 1,500 →
2,600, S/N 100, true v sin i 100 km/s) fitted with its ``wresl`` as given, doubled, halved
and absent; prints v sin i, teff, reduced χ², the LSF source and the flags.

``rv``: spectra from the bundle's network at Sobol-free random labels (uniform in the box),
S/N 50, fitted with the rest-frame search (±50 km/s, true RV within ±50) and the
observed-frame search (±500 km/s, true RV within ±450 and within ±50; ``--refine-width 0``
without the second, narrow pre-search around the best RV); prints the fraction
with |ΔRV| < 5 km/s and |Δteff| < 1,000 K, the median |Δteff| and the median fit time.

Usage::

    python benchmarks/lsf_and_frame.py lsf
    python benchmarks/lsf_and_frame.py rv --instrument apogee --n 30 [--cases observed] [--refine-width 0]
"""

from __future__ import annotations

import argparse
import os
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

from zeta_payne.bundles.registry import find_bundle  # noqa: E402
from zeta_payne.fitting import Fitter, Spectrum  # noqa: E402
from zeta_payne.fitting.options import merge_options  # noqa: E402
from zeta_payne.model.forward import ForwardModel  # noqa: E402
from zeta_payne.model.response import random_response  # noqa: E402
from zeta_payne.validation.simulate import observe  # noqa: E402

torch.set_num_threads(1)


def lsf() -> None:
    bundle = find_bundle("boss")
    lam = 10 ** (3.5523 + 1e-4 * np.arange(4648))
    wresl = lam / (1500.0 + 1100.0 * (lam - 3600.0) / (10300.0 - 3600.0))
    truth = np.array([9500.0, 4.0, 100.0, 0.0])
    rng = np.random.default_rng(1)
    lo, hi = bundle.manifest.fit_defaults["wavelength_range"]
    sel = (lam >= lo) & (lam <= hi)
    fm = ForwardModel(bundle.emulator(), bundle.grid, lam[sel], wresl[sel], np.ones((sel.sum(), 1)))
    norm = np.ones(lam.size)
    norm[sel] = fm.normalized(truth, 17.0)
    flux = norm * random_response(lam, 5, rng) * 100.0
    sigma = flux / 100.0
    flux = flux + rng.normal(size=flux.size) * sigma
    fitter = Fitter(bundle)
    print(f"truth: teff {truth[0]:.0f} K, v sin i {truth[2]:.0f} km/s, RV 17 km/s, S/N 100")
    print("wresl    v_sini   teff  rchi2  lsf_source  flags")
    for name, w in (("given", wresl), ("x2", 2 * wresl), ("x0.5", 0.5 * wresl), ("absent", None)):
        r = fitter.fit(Spectrum(lam, flux, 1.0 / sigma**2, lsf_fwhm=w))
        print(
            f"{name:7s} {r.label('v_sini'):7.1f} {r.label('teff'):6.0f} {r.rchi2:6.3f}  {r.lsf_source:10s}"
            f"  {','.join(r.flag_names)}"
        )


def rv(instrument: str, n: int, cases_wanted: list[str], overrides: dict) -> None:
    bundle = find_bundle(instrument)
    emulator = bundle.emulator()
    lower = np.array([s.lower for s in bundle.labels])
    upper = np.array([s.upper for s in bundle.labels])
    free = np.array([s.free for s in bundle.labels])
    fixed = np.array([s.value if s.value is not None else 0.0 for s in bundle.labels])
    cases = {"rest": ("rest", 50.0), "observed": ("observed", 450.0), "observed-near": ("observed", 50.0)}
    for case in cases_wanted:
        frame, v_max = cases[case]
        fitter = Fitter(bundle, merge_options(bundle.manifest.fit_defaults, overrides, frame=frame))
        rng = np.random.default_rng(11)
        d_rv, d_teff, seconds = [], [], []
        for _ in range(n):
            truth = np.where(free, lower + rng.uniform(size=lower.size) * (upper - lower), fixed)
            v = rng.uniform(-v_max, v_max)
            with torch.no_grad():
                model = emulator(torch.as_tensor(truth[None], dtype=torch.float32))[0].double().numpy()
            spectrum, _ = observe(
                bundle.grid.wavelength, model, bundle.grid.resolution, instrument, v, 50.0, rng
            )
            t0 = time.perf_counter()
            r = fitter.fit(spectrum)
            seconds.append(time.perf_counter() - t0)
            d_rv.append(abs(r.v_rad - v))
            d_teff.append(abs(r.labels[0] - truth[0]))
        d_rv, d_teff = np.array(d_rv), np.array(d_teff)
        print(
            f"{instrument} search {fitter.options.rv_range}, true |RV| ≤ {v_max:.0f}: n={n} "
            f"|dRV|<5 {np.mean(d_rv < 5):.2f}, |dteff|<1000 {np.mean(d_teff < 1000):.2f}, "
            f"median |dteff| {np.median(d_teff):.0f} K, median {np.median(seconds):.2f} s/fit",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["lsf", "rv"])
    parser.add_argument("--instrument", default="boss", choices=["boss", "apogee"])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--cases", default="rest,observed,observed-near", help="rv: which searches")
    parser.add_argument("--refine-width", type=float, default=None, help="rv: presearch_refine_width")
    args = parser.parse_args()
    if args.what == "lsf":
        lsf()
    else:
        overrides = {"presearch_refine_width": args.refine_width}
        rv(args.instrument, args.n, args.cases.split(","), overrides)


if __name__ == "__main__":
    main()
