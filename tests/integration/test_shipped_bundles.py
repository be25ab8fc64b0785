"""The shipped default bundles: they load (hash-verified), carry their accuracy figures, and
fit a spectrum simulated from the node grid they were trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zeta_payne.bundles.registry import find_bundle

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (REPO / "data" / "bundles" / "zeta-payne-boss").is_dir(), reason="no shipped bundles"
)


@pytest.mark.parametrize("instrument", ["boss", "apogee"])
def test_shipped_bundle_loads_with_its_report(instrument):
    bundle = find_bundle(instrument)  # found by instrument name through the registry
    assert bundle.name == f"zeta-payne-{instrument}"
    assert bundle.manifest.network["output_layer_dtype"] == "float16"
    assert bundle.weights.weights[-1].dtype == np.float32
    acc = bundle.manifest.provenance["accuracy"]
    assert acc["emulator_median"] < 0.005  # the target: median ≤ 0.5 % of the continuum
    # held-out syntheses: from training (v2: 12 nodes) or from `bundle holdout` (v3: its truth set)
    held = acc.get("holdout") or (acc.get("holdout_grids") or [None])[0]
    assert held["emulator"]["n_nodes"] >= 12
    assert {"emulator_accuracy.md", "training_labels.npy"} <= set(bundle.manifest.payloads)
    # the grid it names is shipped too
    assert (REPO / bundle.manifest.provenance["grid_path"] / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("instrument", "truth", "rv"),
    [("boss", [9300.0, 4.1, 40.0, -0.2], 17.0), ("apogee", [15200.0, 3.8, 120.0, 0.3], -23.0)],
)
def test_shipped_bundle_fits_a_grid_spectrum(instrument, truth, rv):
    from zeta_payne.fitting import Fitter
    from zeta_payne.grids.generator import GridGenerator
    from zeta_payne.grids.nodes import load_node_grid
    from zeta_payne.validation.simulate import observe

    bundle = find_bundle(instrument)
    grid = load_node_grid(REPO / bundle.manifest.provenance["grid_path"], instrument)
    gen = GridGenerator(grid, bundle.manifest.label_names, instrument=instrument)
    truth = np.array(truth)
    spectrum, _ = observe(gen.wavelength, gen(truth[None])[0], gen.resolution, instrument, rv, 100.0,
                          np.random.default_rng(1))
    result = Fitter(bundle).fit(spectrum)
    assert not result.flag_bad, result.flag_names
    assert abs(result.v_rad - rv) < 3.0
    # S/N 100: well inside the paper's internal uncertainties (BOSS 177 K, APOGEE 736 K)
    assert abs(result.labels[0] - truth[0]) < (600 if instrument == "boss" else 1500)
    assert abs(result.labels[2] - truth[2]) < 25
    assert 0.5 < result.rchi2 < 2.0
