"""Does the number of threads change a batched fit? (6 realistic APOGEE cases, S/N 50)

The six cases of ``batch_mates.py`` fitted in one batch by the shipped APOGEE bundle with
torch on one thread and on two; prints the largest |Δ| / error (labels and RV) of every case.
Run from the repository root:

    OMP_NUM_THREADS=2 .venv/bin/python docs/validation/diagnosis/repeatability/threads.py
"""

from __future__ import annotations

import numpy as np
import torch
from batch_mates import N, realistic_cases

from zeta_payne.fitting.fitter import Fitter


def main() -> None:
    """Fit the cases on 1 and on 2 threads; print the moves."""
    bundle, options, spectra = realistic_cases("apogee")
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
