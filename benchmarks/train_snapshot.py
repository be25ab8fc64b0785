"""A fingerprint of every training path's output, for refactors that must not change a bundle.

Trains small bundles with ``train_bundle`` on node grids written here (seeded, analytic: a few
Gaussian "lines" whose depths and widths follow the labels, like the test suite's) along the
paths the pipeline takes:

- ``plain``: the paper's box on the complete lattice, multilinear, a held-out grid, the output
  layer stored as float16, a checkpoint;
- ``warm``: warm-started from ``plain``;
- ``continuum``: the grid's box, every node (``lattice="nodes"``), the cubic stencil, a
  jump-factor grid and a held-out grid;
- ``vmicro``: v_micro a fifth label from two response grids;
- ``pca``: on 6 principal components, the learning rate decaying;
- ``resumed``: stopped by an error at its second validation, then resumed from its
  checkpoint, with a plateau stop.

For each it prints the SHA-256 of the bundle's weights (float64 bytes of every array), of its
manifest (with what differs between runs taken out: the creation time, training seconds,
software versions, the warm start's digest, and the temporary folder's name), and of its
other files (the accuracy report's text with its seconds taken out, the training labels, the
validation history), and a few numbers to read.

Run it on two revisions with ``benchmarks/compare_revisions.sh``::

    bash benchmarks/compare_revisions.sh HEAD benchmarks/train_snapshot.py

Equal digests mean the two revisions train bit-identical bundles on these cases (one torch
thread). What it cannot see: the GPU, the shipped grids' sizes, the plateau stop of long
runs, the report's figure (not hashed: matplotlib's bytes are not stable). About 20 s on
one core.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from zeta_payne.bundles import load_bundle
from zeta_payne.grids.format import SCHEMA, ModelWavelengthGrid, encode_flux, write_chunk
from zeta_payne.training.pipeline import TrainingSpec, train_bundle
from zeta_payne.training.trainer import TrainConfig

TEFF = [6000.0, 8000.0, 10000.0, 13000.0, 17000.0, 22000.0]
LOGG = [3.0, 4.0, 5.0]
M_H = [-1.0, 0.0, 0.8]
START, STOP, R_MODEL = 4800.0, 5400.0, 6000.0


def lattice(teff, logg, m_h) -> np.ndarray:
    """Every (teff, logg, m_h) combination, shape (n, 3)."""
    return np.stack(np.meshgrid(teff, logg, m_h, indexing="ij"), axis=-1).reshape(-1, 3)


def write_grid(root: Path, nodes: np.ndarray, v_micro: float = 2.0, scale: float | None = None,
               values=None, provenance: dict | None = None) -> Path:
    """A node grid on disk: analytic spectra of ``nodes`` (or ``values``, shape (n, pixels))."""
    grid = ModelWavelengthGrid.from_range("boss", START, STOP, 1.0 / (3 * R_MODEL), R_MODEL)
    lam = grid.wavelength
    if values is None:
        values = []
        for t, g, m in nodes:
            x = (t - 6000.0) / 16000.0
            cool = np.clip((11000.0 - t) / 5000.0, 0.0, 1.0)
            f = np.ones(lam.size)
            for k, c in enumerate(np.linspace(START + 40, STOP - 40, 9)):
                if k % 3 == 0:
                    depth, width = 0.6 * np.exp(-(((t - 9500.0) / 6000.0) ** 2)), 3.0 + 2.0 * (g - 3.0)
                elif k % 3 == 1:
                    depth = 0.4 * (1 - x) * 10 ** (0.5 * m) / 3.2 * (1 + 0.15 * cool * (v_micro - 2.0))
                    width = 0.8
                else:
                    depth, width = 0.3 * x**2, 1.5
                f *= 1 - depth * np.exp(-0.5 * ((lam - c) / width) ** 2)
            values.append(f)
        values = np.array(values)
    chunk = encode_flux(values) if scale is None else encode_flux(values, scale)
    write_chunk(root / "boss" / "chunk_0000.npz", nodes, chunk, np.zeros(len(nodes)))
    info = grid.to_dict()
    if scale is not None:
        info["flux_scale"] = scale
    axes = {k: np.unique(nodes[:, i]).tolist() for i, k in enumerate(("teff", "logg", "m_h"))}
    manifest = {
        "schema": SCHEMA,
        "name": root.name,
        "label_names": ["teff", "logg", "m_h"],
        "fixed_labels": {"v_micro": v_micro, "v_sini": 0.0},
        "instruments": {"boss": info},
        "node_axes": axes,
        "levels": [axes],
        "provenance": provenance or {"synthesis": "analytic snapshot grid"},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


class Interrupted(Exception):
    """A training run stopped on purpose (after its checkpoint was written)."""


def interrupt_at(iteration: int):
    """A ``progress`` callback that stops the run at ``iteration``'s validation."""

    def progress(it: int, loss: float, score: float) -> None:
        if it >= iteration:
            raise Interrupted(it)

    return progress


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprint(bundle_dir: Path, tmp: Path) -> dict[str, str]:
    """Digests of a saved bundle's weights, manifest and other files (run-specific parts out)."""
    bundle = load_bundle(bundle_dir)
    w = bundle.weights
    arrays = [*w.weights, *w.biases, w.x_min, w.x_max]
    weights = b"".join(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes() for a in arrays)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    prov = manifest.get("provenance", {})
    prov.pop("created", None)
    prov.pop("software", None)
    prov.get("training", {}).pop("seconds", None)
    (prov.get("warm_start") or {}).pop("sha256", None)  # the first bundle's, creation time and all
    manifest.pop("payloads", None)  # their sizes and digests include the figure
    text = json.dumps(manifest, sort_keys=True).replace(str(tmp), "<tmp>")
    report = (bundle_dir / "emulator_accuracy.md").read_text().replace(str(tmp), "<tmp>")
    report = re.sub(r"iterations in \d+ s", "iterations in <s> s", report)
    others = report.encode() + (bundle_dir / "training_labels.npy").read_bytes()
    others += (bundle_dir / "training_history.json").read_bytes()
    return {"weights": digest(weights), "manifest": digest(text.encode()), "files": digest(others)}


def main() -> None:
    torch.set_num_threads(1)
    config = TrainConfig(n_hidden=32, batch_size=100, iterations=120, validate_every=40,
                         learning_rate=3e-3, device="cpu")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        nodes = lattice(TEFF, LOGG, M_H)
        grid = write_grid(tmp / "grid", nodes)
        held = write_grid(tmp / "held", np.array([[7000.0, 3.5, -0.5], [15000.0, 4.5, 0.4]]))
        vmic = [str(write_grid(tmp / f"vmic{v:g}", lattice(TEFF[:3], LOGG, M_H), v)) for v in (1.0, 4.0)]
        lam = ModelWavelengthGrid.from_range("boss", START, STOP, 1.0 / (3 * R_MODEL), R_MODEL).wavelength
        jump = np.where(lam < 5000.0, 0.5, 1.0)[None, :] * (1 + 0.1 * (nodes[:, :1] - 6000.0) / 16000.0)
        cont = write_grid(tmp / "continuum", nodes, scale=25000.0, values=jump,
                          provenance={"kind": "continuum-jump-factor", "quantity": "snapshot step"})
        base = TrainingSpec(name="snapshot-boss", version="0.0.1", instrument="boss", n_sobol=300,
                            n_gauss=100, wavelength_range=(4810.0, 5390.0), seed=1)
        cases = {
            "plain": (dataclasses.replace(base, holdout_grid=str(held), output_layer_dtype="float16"),
                      config, True, None),
            "warm": (base, dataclasses.replace(config, iterations=40, learning_rate=1e-4), False, "plain"),
            "continuum": (dataclasses.replace(base, box="grid", lattice="nodes", stencil=(4, 4, 4),
                                              continuum_grid=str(cont), holdout_grid=str(held)),
                          config, False, None),
            "vmicro": (dataclasses.replace(base, box="grid", vmicro_grids=tuple(vmic)), config, False, None),
        }
        cases["pca"] = (base, dataclasses.replace(config, pca_components=6, final_learning_rate=3e-4),
                        False, None)
        cases["resumed"] = (base, dataclasses.replace(config, iterations=400, plateau_patience=2,
                                                      plateau_min_improvement=0.3), True, None)
        for case, (spec, cfg, checkpoint, warm) in cases.items():
            t0 = time.perf_counter()
            out = tmp / "bundles" / case
            kwargs = {"checkpoint": tmp / f"ckpt-{case}" if checkpoint else None,
                      "initial": load_bundle(tmp / "bundles" / warm) if warm else None}
            if case == "resumed":
                try:
                    train_bundle(grid, spec, cfg, out, progress=interrupt_at(2 * cfg.validate_every),
                                 **kwargs)
                except Interrupted:
                    pass
            bundle = train_bundle(grid, spec, cfg, out, **kwargs)
            acc = bundle.manifest.provenance["accuracy"]
            prints = fingerprint(out, tmp)
            print(f"{case:10s} weights {prints['weights']}  manifest {prints['manifest']}  "
                  f"files {prints['files']}  emulator median {acc['emulator_median']:.6f}  "
                  f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
