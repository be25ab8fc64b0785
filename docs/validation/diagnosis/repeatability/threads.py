"""Does the number of threads change a batched fit? (6 realistic APOGEE cases, S/N 50)

The same six cases of the v3 synthesis truth (seed 43, realistic observations) fitted in one
batch by the shipped APOGEE bundle with torch on one thread and on two; prints the largest
|Δ| / error (labels and RV) of every case.

    OMP_NUM_THREADS=2 .venv/bin/python docs/validation/diagnosis/repeatability/threads.py
"""

from __future__ import annotations

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


def main() -> None:
    """Fit the cases on 1 and on 2 threads; print the moves."""
    bundle = find_bundle("apogee")
    truth = Path(__file__).resolve().parents[4] / "data" / "truth" / "synth-truth-v3"
    grid = load_node_grid(truth, bundle.instrument)
    spec = runner.GeneratorSpec(kind="synthesis", path=str(truth), instrument=bundle.instrument,
                                continuum_grid=_truth_continuum(truth, bundle))
    options = Fitter.default_options(bundle)
    runner._init_worker(str(bundle.path), spec, options, False, ObservationModel())
    labels, rv, _ = synthesis_cases(grid.labels, bundle, N, SEED)
    tasks = [(i, labels[i], float(rv[i]), SNR, SEED * 1_000_003 + i, "apogee") for i in range(N)]
    spectra = [runner._simulate(task)[0] for task in tasks]
    fits = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        fits[threads] = Fitter(bundle, options, batch_size=N).fit_batch(spectra)
    moves = []
    for a, b in zip(fits[1], fits[2], strict=True):
        d = np.abs(np.append(a.labels, a.v_rad) - np.append(b.labels, b.v_rad))
        moves.append(np.nanmax(d / np.append(a.e_labels, a.e_v_rad)))
    print("1 against 2 threads, largest |Δ| / error per case:", " ".join(f"{m:.1e}" for m in moves))


if __name__ == "__main__":
    main()
