"""Does the emulator give a row the same flux whatever the batch it is evaluated in?

The shipped APOGEE network in float64 on one thread, 32 label vectors uniform in the box:
the largest difference between each of the first ``m`` rows evaluated alone in a batch of
``m`` and the same rows in the batch of 32.

    .venv/bin/python docs/validation/diagnosis/repeatability/emulator_shape.py
"""

from __future__ import annotations

import numpy as np
import torch

from zeta_payne.bundles.registry import find_bundle


def main() -> None:
    """Print the largest |Δflux| per batch size."""
    torch.set_num_threads(1)
    bundle = find_bundle("apogee")
    emulator = bundle.emulator().double()
    lower = torch.tensor([s.lower for s in bundle.labels], dtype=torch.float64)
    upper = torch.tensor([s.upper for s in bundle.labels], dtype=torch.float64)
    unit = torch.tensor(np.random.default_rng(0).uniform(0, 1, (32, len(bundle.labels))))
    x = lower + unit * (upper - lower)
    with torch.no_grad():
        full = emulator(x)
        for m in (1, 2, 5, 8, 16, 31):
            diff = (emulator(x[:m]) - full[:m]).abs().max().item()
            print(f"rows evaluated in a batch of {m:2d}: max |Δflux| against the batch of 32 = {diff:.2e}")


if __name__ == "__main__":
    main()
