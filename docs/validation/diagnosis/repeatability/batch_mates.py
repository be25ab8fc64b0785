"""Does a spectrum's batched fit depend on the spectra fitted with it?

Six realistic cases of the v3 synthesis truth (seed 43, S/N 50) fitted by a shipped bundle in
one batch of six, then in batches of 2 and of 3, in reverse order, and in reverse order in
batches of 4; prints, per grouping, the largest |Δ| / error (labels and RV) of every case
against the batch of six. Run from the repository root:

    .venv/bin/python docs/validation/diagnosis/repeatability/batch_mates.py [apogee|boss]

Old and new side by side: ``bash benchmarks/compare_revisions.sh REV
docs/validation/diagnosis/repeatability/batch_mates.py apogee``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from zeta_payne.bundles.registry import find_bundle
from zeta_payne.cli.validate import _truth_continuum
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.grids.nodes import load_node_grid
from zeta_payne.validation import runner
from zeta_payne.validation.observe import ObservationModel
from zeta_payne.validation.truth import synthesis_cases

N, SEED, SNR = 6, 43, 50.0
GROUPINGS = (
    ("batches of 2", list(range(N)), 2),
    ("batches of 3", list(range(N)), 3),
    ("reversed", list(range(N))[::-1], N),
    ("reversed, batches of 4", list(range(N))[::-1], 4),
)


def realistic_cases(instrument: str = "apogee"):
    """The bundle, its default fit options and the six simulated spectra.

    Returns
    -------
    tuple of (Bundle, FitOptions, list of Spectrum)
    """
    bundle = find_bundle(instrument)
    truth = Path("data/truth/synth-truth-v3").resolve()
    grid = load_node_grid(truth, bundle.instrument)
    spec = runner.GeneratorSpec(kind="synthesis", path=str(truth), instrument=bundle.instrument,
                                continuum_grid=_truth_continuum(truth, bundle))
    options = Fitter.default_options(bundle)
    runner._init_worker(str(bundle.path), spec, options, False, ObservationModel())
    labels, rv, _ = synthesis_cases(grid.labels, bundle, N, SEED)
    tasks = [(i, labels[i], float(rv[i]), SNR, SEED * 1_000_003 + i, instrument) for i in range(N)]
    return bundle, options, [runner._simulate(task)[0] for task in tasks]


def main(instrument: str = "apogee") -> None:
    """Fit the cases in every grouping; print the moves against one batch of six."""
    torch.set_num_threads(1)
    bundle, options, spectra = realistic_cases(instrument)

    def fit(order: list[int], size: int) -> dict:
        fitter = Fitter(bundle, options, batch_size=size)
        return dict(zip(order, fitter.fit_batch([spectra[i] for i in order], batched=True), strict=True))

    reference = fit(list(range(N)), N)
    print(f"{bundle.describe()['name']}@{bundle.describe()['version']}: largest |Δ| / error per case "
          f"against one batch of {N}")
    for name, order, size in GROUPINGS:
        other = fit(order, size)
        moves = []
        for i in range(N):
            a, b = reference[i], other[i]
            d = np.abs(np.append(a.labels, a.v_rad) - np.append(b.labels, b.v_rad))
            moves.append(np.nanmax(d / np.append(a.e_labels, a.e_v_rad)))
        print(f"{name:24s}" + " ".join(f"{m:8.1e}" for m in moves))


if __name__ == "__main__":
    main(*sys.argv[1:])
