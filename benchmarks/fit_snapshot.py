"""A fingerprint of every fitting path's output, for refactors that must not change a number.

Fits the same spectra through the four paths — the per-spectrum fitter (``Fitter.fit``), the
batched fitter (``BatchedFit.fit``, the path of ``fit``, ``run`` and the tasks; once as
configured and once with two restarts per spectrum — the shipped APOGEE bundle sets one), a joint
BOSS + APOGEE fit (``fit_joint``) and a multi-epoch fit of three APOGEE visits
(``fit_epochs``) — with two small toy bundles made on the spot (seeded) and spectra made by
their own forward model at S/N 50 (seeded). For each path it prints the SHA-256 of every
number a result carries (labels, all three kinds of errors, RV and its errors, χ², flags,
response coefficients, per-member RVs, tensions and companion statistics, in full float64
precision), and a few of them to read.

Run it on two revisions with ``benchmarks/compare_revisions.sh``::

    bash benchmarks/compare_revisions.sh HEAD benchmarks/fit_snapshot.py

Equal digests mean the two revisions give bit-identical results on these cases; a refactor
that is meant to change nothing must leave all four equal. What it cannot see: paths not
taken by these cases (GPU, rejections, unconverged refits, restarts beyond the defaults),
and real bundles (the toy networks are small; ``compare_fit_paths.py`` compares the paths on
real ones). The fits take about 6 s on one core.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from zeta_payne.bundles.toy import make_toy_bundle
from zeta_payne.fitting import Fitter
from zeta_payne.fitting.batched import BatchedFit
from zeta_payne.fitting.joint import fit_epochs, fit_joint
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.response import random_response
from zeta_payne.spectrum import Spectrum

BOSS_WAVELENGTH = 10 ** (3.5523 + 1e-4 * np.arange(4648))
APOGEE_WAVELENGTH = 10 ** (4.179 + 6e-6 * np.arange(8575))
TRUTHS = np.array(
    [
        [14500.0, 4.2, 150.0, 2.0, 0.25],
        [9000.0, 3.5, 60.0, 2.0, -0.3],
        [7200.0, 4.1, 20.0, 2.0, 0.0],
        [21000.0, 3.9, 90.0, 2.0, 0.1],
    ]
)


def simulate(
    bundle, wavelength: np.ndarray, labels: np.ndarray, v_rad: float, snr: float, seed: int
) -> Spectrum:
    """A spectrum of the bundle's own forward model, a random Chebyshev response, Gaussian noise.

    The same recipe as ``tests/conftest.py``'s ``simulate``, written out here so that the
    script imports only long-standing public names and runs unchanged against earlier
    revisions (``compare_revisions.sh``).
    """
    rng = np.random.default_rng(seed)
    lo, hi = bundle.manifest.fit_defaults["wavelength_range"]
    sel = (wavelength >= lo) & (wavelength <= hi)
    r = bundle.manifest.fit_defaults["resolution"]
    fm = ForwardModel(
        bundle.emulator(),
        bundle.grid,
        wavelength[sel],
        wavelength[sel] / r,
        np.ones((sel.sum(), 1)),
        rv_range=(-200, 200),
    )
    norm = np.ones(wavelength.size)
    norm[sel] = fm.normalized(labels, v_rad)
    flux = norm * random_response(wavelength, 5, rng) * 100.0
    sigma = flux / snr
    return Spectrum(wavelength, flux + rng.normal(size=flux.size) * sigma, 1.0 / sigma**2)


def numbers(result) -> list:
    """Every number of a FitResult, in a fixed order."""
    return [
        result.labels,
        result.e_labels,
        result.raw_e_labels,
        result.cov_e_labels,
        result.v_rad,
        result.e_v_rad,
        getattr(result, "cov_e_v_rad", np.nan),
        result.chi2,
        result.rchi2,
        result.flags,
        result.coeffs,
        result.initial_labels,
        result.initial_v_rad,
    ]


def member_numbers(member) -> list:
    return [
        member.v_rad,
        member.e_v_rad,
        member.cov_e_v_rad,
        member.rel_e_v_rad,
        member.chi2,
        member.tension,
        member.p_tension,
        member.sb2_delta_chi2,
        member.sb2_shift,
        member.flags,
        member.coeffs,
    ]


def digest(items: list) -> str:
    def plain(x):
        if isinstance(x, (list, tuple)):
            return [plain(i) for i in x]
        arr = np.asarray(x, dtype=np.float64)
        return arr.tobytes().hex()

    return hashlib.sha256(json.dumps(plain(items)).encode()).hexdigest()[:16]


def main() -> None:
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp())
    boss = make_toy_bundle(tmp / "boss", "boss", n_hidden=64)
    apogee = make_toy_bundle(tmp / "apogee", "apogee", n_hidden=64)

    def fitter(bundle, wavelength_range):
        options = Fitter.default_options(bundle).updated(
            presearch_points=256, wavelength_range=wavelength_range, rv_range=(-50.0, 50.0), n_chebyshev=6
        )
        return Fitter(bundle, options)

    fb, fa = fitter(boss, (4500.0, 6000.0)), fitter(apogee, (15200.0, 15700.0))
    spectra = [simulate(boss, BOSS_WAVELENGTH, t, 12.0 - 7 * i, 50.0, seed=i) for i, t in enumerate(TRUTHS)]
    paths = {}
    t = time.perf_counter()
    paths["single (Fitter.fit)"] = [fb.fit(s) for s in spectra[:2]]
    paths["batched (BatchedFit.fit)"] = BatchedFit(fb).fit(spectra)
    restarting = Fitter(boss, fb.options.updated(restarts=2))
    paths["batched, restarts 2"] = BatchedFit(restarting).fit(spectra)
    joint = fit_joint(
        [fb, fa], [spectra[0], simulate(apogee, APOGEE_WAVELENGTH, TRUTHS[0], 12.0, 50.0, seed=11)]
    )
    visits = [
        simulate(apogee, APOGEE_WAVELENGTH, TRUTHS[1], v, 40.0, seed=s)
        for s, v in ((3, 5.0), (4, 25.0), (5, -10.0))
    ]
    epochs = fit_epochs(fa, visits)
    elapsed = time.perf_counter() - t
    for name, results in paths.items():
        items = [numbers(r) for r in results]
        teff = ", ".join(f"{r.labels[0]:.3f}" for r in results)
        print(f"{name:28s} {digest(items)}  teff {teff}")
    for name, jr in (("joint (fit_joint)", joint), ("epochs (fit_epochs)", epochs)):
        items = [numbers(jr.result), [member_numbers(m) for m in jr.members]]
        tension = ", ".join(f"{m.tension:.6f}" for m in jr.members)
        print(f"{name:28s} {digest(items)}  teff {jr.result.labels[0]:.3f}, tension {tension}")
    print(f"fits took {elapsed:.1f} s")


if __name__ == "__main__":
    main()
