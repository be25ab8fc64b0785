"""The v3 training options: the box from the grid, v_micro from response grids, the plateau stop."""

import json

import numpy as np
import pytest

from zeta_payne.bundles import load_bundle
from zeta_payne.cli import main
from zeta_payne.grids.nodes import NodeGrid
from zeta_payne.training.pipeline import training_box

MAIN_TEFF = [6000.0, 7000, 8000, 10000, 12000, 14000]
COARSE_TEFF = [6000.0, 8000, 10000]
LOGG = [3.0, 4.0, 5.0]
M_H = [-1.0, 0.0]


def _lattice(teff, logg, m_h):
    return np.stack(np.meshgrid(teff, logg, m_h, indexing="ij"), axis=-1).reshape(-1, 3)


def write_grid(root, nodes, v_micro, axes=None):
    """A node grid on disk whose line depths depend on the labels and (cool stars) v_micro."""
    from zeta_payne.grids.format import SCHEMA, ModelWavelengthGrid, encode_flux, write_chunk

    grid = ModelWavelengthGrid.from_range("boss", 4800.0, 5400.0, 1.0 / 18000.0, 6000.0)
    lam = grid.wavelength
    flux = []
    for t, g, m in nodes:
        cool = np.clip((11000.0 - t) / 5000.0, 0.0, 1.0)
        f = np.ones(lam.size)
        for k, c in enumerate(np.linspace(4850.0, 5350.0, 8)):
            if k % 2:
                depth = 0.3 * cool * 10 ** (0.4 * m) * (1.0 + 0.15 * cool * (v_micro - 2.0))
                width = 0.8
            else:
                depth, width = 0.5 * np.exp(-(((t - 9500.0) / 5000.0) ** 2)), 2.0 + g
            f *= 1.0 - depth * np.exp(-0.5 * ((lam - c) / width) ** 2)
        flux.append(f)
    nodes = np.asarray(nodes, dtype=float)
    write_chunk(root / "boss" / "chunk_0000.npz", nodes, encode_flux(np.array(flux)), np.zeros(len(nodes)))
    axes = axes or {k: np.unique(nodes[:, i]).tolist() for i, k in enumerate(("teff", "logg", "m_h"))}
    manifest = {
        "schema": SCHEMA,
        "name": root.name,
        "label_names": ["teff", "logg", "m_h"],
        "fixed_labels": {"v_micro": v_micro, "v_sini": 0.0},
        "instruments": {"boss": grid.to_dict()},
        "node_axes": axes,
        "levels": [axes],
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    root = tmp_path_factory.mktemp("grids")
    main_grid = write_grid(root / "main", _lattice(MAIN_TEFF, LOGG, M_H), 2.0)
    response_nodes = np.concatenate([_lattice(COARSE_TEFF, LOGG, M_H), [[7000.0, 4.0, 0.0]]])
    vmic = [write_grid(root / f"vmic{v:g}", response_nodes, v) for v in (1.0, 4.0)]
    return main_grid, vmic


def test_training_box_from_the_paper_the_grid_or_options():
    labels = _lattice([6000.0, 9000, 14000], [3.0, 5.0], [-1.0, 0.0])
    planned = {"teff": [6000.0, 30000.0], "logg": [2.5, 5.0], "m_h": [-2.0, 0.8]}
    grid = NodeGrid(labels=labels, wavelength=np.arange(3.0), flux=np.ones((len(labels), 3)),
                    manifest={"node_axes": planned})
    paper = training_box(grid)
    assert paper == {"teff": (6000.0, 14000.0), "logg": (3.0, 5.0), "v_sini": (0.0, 400.0),
                     "m_h": (-0.8, 0.0)}
    # the grid's axes, cut to what the lattice on disk covers
    assert training_box(grid, "grid")["m_h"] == (-1.0, 0.0)
    full = NodeGrid(labels=_lattice([6000.0, 30000.0], [2.5, 5.0], [-2.0, 0.8]), wavelength=np.arange(3.0),
                    flux=np.ones((8, 3)), manifest={"node_axes": planned})
    box = training_box(full, "grid", v_micro=(1.0, 4.0))
    assert box == {"teff": (6000.0, 30000.0), "logg": (2.5, 5.0), "v_sini": (0.0, 400.0),
                   "m_h": (-2.0, 0.8), "v_micro": (1.0, 4.0)}
    assert training_box(full, "paper")["teff"] == (6000.0, 25000.0)
    ranged = training_box(full, "grid", [("teff", 5000.0, 20000.0), ("v_sini", 0.0, 300.0)])
    assert ranged["teff"] == (6000.0, 20000.0) and ranged["v_sini"] == (0.0, 300.0)
    with pytest.raises(ValueError, match="v_micro"):
        training_box(full, "grid", [("v_micro", 1.0, 3.0)])  # no response: no v_micro label
    with pytest.raises(ValueError, match="box"):
        training_box(full, "gird")


COMMON = ["--instrument", "boss", "--n-sobol", "240", "--n-gauss", "60", "--hidden", "16",
          "--iterations", "400", "--validate-every", "10", "--batch-size", "100",
          "--learning-rate", "3e-3", "--wavelength-range", "4810", "5390", "--device", "cpu", "--seed", "1"]


def test_train_with_vmicro_grids_until_plateau(grids, tmp_path, capsys):
    main_grid, vmic = grids
    out = tmp_path / "bundle"
    args = ["train", "--grid", str(main_grid), "--out", str(out), *COMMON, "--box", "grid",
            "--until-plateau", "--patience", "2", "--min-improvement", "0.9"]
    for path in vmic:
        args += ["--vmicro-grid", str(path)]
    assert main(args) == 0
    bundle = load_bundle(out)
    m = bundle.manifest
    assert m.label_names == ("teff", "logg", "v_sini", "m_h", "v_micro")
    vspec = m.labels[-1]
    assert (vspec.unit, vspec.lower, vspec.upper, vspec.free, vspec.value) == ("km/s", 1.0, 4.0, True, 2.0)
    assert [(s.lower, s.upper) for s in m.labels[:4]] == [(6000.0, 14000.0), (3.0, 5.0), (0.0, 400.0),
                                                         (-1.0, 0.0)]
    assert m.fit_defaults["hold_outside"] == {"v_micro": {"label": "teff", "range": [6000.0, 10000.0],
                                                          "value": 2.0}}
    assert m.fit_defaults["unconstrained_error"] == {"m_h": 0.3}  # a new bundle flags [M/H] > 0.3 dex
    prov = m.provenance
    # a 90 % fall over 2 validations is never reached after the first ones: a plateau stop
    assert prov["training"]["stop_reason"] == "plateau"
    assert 20 <= prov["training"]["stopped_at_iteration"] < 400
    assert prov["training"]["vmicro_grids"] == [str(p) for p in vmic]
    vm = prov["vmicro_response"]
    assert vm["teff_range"] == [6000.0, 10000.0] and vm["taper"] == 2000.0 and vm["values"] == [1.0, 2.0, 4.0]
    checks = vm["check_nodes"]
    assert [(r["kind"], r["v_micro"], r["teff"]) for r in checks] == [("lattice", 1.0, 7000.0),
                                                                     ("lattice", 4.0, 7000.0)]
    # the toy response is quadratic in teff (through the "cool" factor): a measurable error,
    # below the response itself
    assert all(0 < r["max"] < r["response_max"] for r in checks)
    report = (out / "emulator_accuracy.md").read_text()
    assert "## v_micro response" in report and "the validation score stopped falling" in report
    labels = np.load(out / "training_labels.npy")
    assert labels.shape[1] == 5 and labels[:, 4].min() >= 1.0 and labels[:, 4].max() <= 4.0
    # the fitter's defaults read the range from the manifest
    from zeta_payne.fitting import Fitter

    assert Fitter.default_options(bundle).hold_outside["v_micro"]["range"] == [6000.0, 10000.0]


def test_train_without_vmicro_grids_keeps_the_shipped_label_set(grids, tmp_path):
    main_grid, _ = grids
    out = tmp_path / "plain"
    assert main(["train", "--grid", str(main_grid), "--out", str(out), *COMMON, "--iterations", "20"]) == 0
    m = load_bundle(out).manifest
    assert m.label_names == ("teff", "logg", "v_sini", "m_h")
    assert [(s.lower, s.upper) for s in m.labels] == [(6000.0, 14000.0), (3.0, 5.0), (0.0, 400.0),
                                                      (-0.8, 0.0)]
    assert "hold_outside" not in m.fit_defaults and m.provenance["vmicro_response"] is None
    assert m.provenance["training"]["stop_reason"] == "iterations"
    assert m.provenance["training"]["stopped_at_iteration"] == 20


def test_grid_vmicro_check_command(grids, capsys):
    main_grid, vmic = grids
    args = ["grid", "vmicro-check", str(main_grid), "--json", "--wavelength-range", "4810", "5390"]
    for path in vmic:
        args += ["--vmicro-grid", str(path)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    boss = out["boss"]
    assert boss["teff_range"] == [6000.0, 10000.0]
    nodes = [(r["v_micro"], r["teff"], r["logg"]) for r in boss["rows"]]
    assert nodes == [(1.0, 7000.0, 4.0), (4.0, 7000.0, 4.0)]
    assert boss["summary"]["lattice"]["n_nodes"] == 2 and boss["summary"]["lattice"]["max"] > 0
    text = ["grid", "vmicro-check", str(main_grid)]
    for path in vmic:
        text += ["--vmicro-grid", str(path)]
    assert main(text) == 0
    assert "lattice" in capsys.readouterr().out


def test_a_grid_with_a_hole_keeps_its_axes_with_lattice_nodes(tmp_path):
    """A node without a model atmosphere: the complete sub-lattice loses a whole axis value;
    ``--lattice nodes`` keeps the axes and drops only the training labels around the hole."""
    nodes = _lattice(MAIN_TEFF, LOGG, M_H)
    hole = (nodes[:, 0] == 14000.0) & (nodes[:, 1] == 3.0) & (nodes[:, 2] == -1.0)
    grid = write_grid(tmp_path / "holed", nodes[~hole], 2.0,
                      axes={"teff": MAIN_TEFF, "logg": LOGG, "m_h": M_H})
    boxes = {}
    for lattice in ("complete", "nodes"):
        out = tmp_path / lattice
        assert main(["train", "--grid", str(grid), "--out", str(out), *COMMON, "--iterations", "10",
                     "--box", "grid", "--lattice", lattice]) == 0
        m = load_bundle(out).manifest
        boxes[lattice] = [(s.lower, s.upper) for s in m.labels]
        dropped = m.provenance["training"]["n_dropped"]
        assert (dropped == 0) if lattice == "complete" else (0 < dropped < 100)
    assert boxes["nodes"] == [(6000.0, 14000.0), (3.0, 5.0), (0.0, 400.0), (-1.0, 0.0)]
    assert boxes["complete"] != boxes["nodes"]  # an axis value is gone


def test_validate_grid_truth_varies_v_micro_as_the_bundle_was_trained(grids, tmp_path, monkeypatch):
    """The grid generator of ``validate`` is the training generator: the bundle's stencil and,
    for a v_micro bundle, its response grids, so the true spectra have the drawn v_micro."""
    import csv

    from zeta_payne.fitting.fitter import Fitter

    main_grid, vmic = grids
    bundle = tmp_path / "bundle"
    args = ["train", "--grid", str(main_grid), "--out", str(bundle), *COMMON, "--box", "grid",
            "--iterations", "20", "--stencil", "2,4,2"]
    for path in vmic:
        args += ["--vmicro-grid", str(path)]
    assert main(args) == 0
    original = Fitter.default_options
    monkeypatch.setattr(Fitter, "default_options", staticmethod(
        lambda b: original(b).updated(wavelength_range=(4830.0, 5370.0), n_chebyshev=4, min_pixels=50)))
    true_vmic = {}
    for name, extra in (("own", []), ("other", ["--grid", str(main_grid)])):
        out = tmp_path / name
        assert main(["validate", "--bundle", str(bundle), "--n", "6", "--snr", "100", "--processes",
                     "1", "--presearch-points", "64", "-o", str(out), *extra]) == 0
        rows = list(csv.DictReader(open(out / "results.csv")))
        true_vmic[name] = {float(r["true_v_micro"]) for r in rows}
    # its own grid: v_micro drawn over the bundle's range; a grid given by hand without
    # --vmicro-grid: the grid's one v_micro
    assert len(true_vmic["own"]) == 6 and min(true_vmic["own"]) >= 1.0 and max(true_vmic["own"]) <= 4.0
    assert true_vmic["other"] == {2.0}


def test_a_grid_with_an_atmosphere_hole_ships_its_logg_floor(tmp_path):
    """No nodes at low gravity for hot stars (as ATLAS9): the bundle records the floor, the
    fitter starts no pre-search there and flags a fit that ends there."""
    from zeta_payne.fitting.fitter import Fitter

    nodes = _lattice(MAIN_TEFF, LOGG, M_H)
    hole = (nodes[:, 0] >= 12000.0) & (nodes[:, 1] == 3.0)
    grid = write_grid(tmp_path / "holed", nodes[~hole], 2.0,
                      axes={"teff": MAIN_TEFF, "logg": LOGG, "m_h": M_H})
    out = tmp_path / "bundle"
    assert main(["train", "--grid", str(grid), "--out", str(out), *COMMON, "--iterations", "10",
                 "--box", "grid", "--lattice", "nodes"]) == 0
    bundle = load_bundle(out)
    assert bundle.manifest.fit_defaults["logg_floor"] == [[10000.0, 14000.0, 4.0]]
    labels = np.load(out / "training_labels.npy")
    assert not np.any((labels[:, 0] > 10000.0) & (labels[:, 1] < 4.0))  # none trained there
    fitter = Fitter(bundle)
    cand = fitter._cand_labels
    assert fitter.options.logg_floor == ((10000.0, 14000.0, 4.0),)
    assert not np.any((cand[:, 0] >= 10000.0) & (cand[:, 1] < 4.0 - 1e-3))
    assert len(cand) > 0.6 * fitter.options.presearch_points
