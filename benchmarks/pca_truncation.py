"""Truncation error of principal-component training (``zeta-payne train --pca-components``).

Builds a bundle's training set from a node grid exactly as ``zeta-payne train`` does
(Table 1 labels, node interpolation + rotation), fits K principal components on the training
spectra and prints the |Δflux| of reconstructing the validation spectra, per K::

    python benchmarks/pca_truncation.py --grid data/grids/obaf-sme-apogee-v2 --instrument apogee
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from zeta_payne.bundles.manifest import INSTRUMENT_DEFAULTS
from zeta_payne.grids.generator import GridGenerator
from zeta_payne.grids.nodes import load_node_grid
from zeta_payne.training.pipeline import LABELS, build_training_set, complete_lattice
from zeta_payne.training.sampling import PAPER_BOX, split_indices, training_labels
from zeta_payne.training.trainer import principal_components


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", required=True)
    parser.add_argument("--instrument", required=True, choices=["boss", "apogee"])
    parser.add_argument("--components", default="100,200,300,500")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    grid = complete_lattice(load_node_grid(args.grid, args.instrument))
    gen = GridGenerator(grid, LABELS, instrument=args.instrument)
    lo, hi = INSTRUMENT_DEFAULTS[args.instrument]["wavelength_range"]
    lam = gen.wavelength
    px = slice(int(np.searchsorted(lam, lo * 0.995)), int(np.searchsorted(lam, hi * 1.005, side="right")))
    box = dict(PAPER_BOX)
    for j, name in enumerate(("teff", "logg", "m_h")):
        box[name] = (max(box[name][0], grid.labels[:, j].min()), min(box[name][1], grid.labels[:, j].max()))
    t0 = time.perf_counter()
    labels, flux = build_training_set(gen, training_labels(LABELS, box, 5000, 5000, seed=0), px)
    seconds = time.perf_counter() - t0
    print(f"training set: {flux.shape[0]} spectra × {flux.shape[1]} pixels in {seconds:.0f} s")
    train, valid = split_indices(len(labels), 0.1, 0)
    yv = torch.as_tensor(flux[valid])
    print("| K | seconds | median |Δflux| | 95th percentile | max |")
    print("|---|---|---|---|---|")
    for k in map(int, args.components.split(",")):
        t0 = time.perf_counter()
        mean, basis = principal_components(flux[train], k)
        err = (((yv - mean) @ basis.T) @ basis + mean - yv).abs().numpy()
        print(f"| {k} | {time.perf_counter() - t0:.0f} | {np.median(err):.1e} | "
              f"{np.percentile(err, 95):.1e} | {err.max():.3f} |")


if __name__ == "__main__":
    main()
