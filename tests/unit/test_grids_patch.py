"""Patches: a level refined over a sub-box for some instruments (grids.patch, NodeGrid)."""

import json

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.nodes import NodeGrid, lattice_levels
from zeta_payne.grids.patch import add_patch, make_patch, nodes_off_patch, patch_axes

LEVEL = {"teff": [6000.0, 6500.0, 7000.0, 7500.0, 7750.0, 8000.0, 8125.0, 9000.0],
         "logg": [2.5, 3.0, 3.5, 4.0, 4.5, 5.0], "m_h": [-2.0, -1.0, 0.0, 0.8]}


def test_patch_axes_are_the_levels_over_the_nodes_box_plus_their_values():
    nodes = np.array([[6250.0, g, m] for g in LEVEL["logg"] for m in LEVEL["m_h"]]
                     + [[7625.0, 2.5, 0.0]])
    axes = patch_axes(LEVEL, nodes)
    assert axes["teff"] == [6000.0, 6250.0, 6500.0, 7000.0, 7500.0, 7625.0, 7750.0]
    assert axes["logg"] == LEVEL["logg"] and axes["m_h"] == LEVEL["m_h"]
    with pytest.raises(GridError, match="outside"):
        patch_axes(LEVEL, np.array([[5800.0, 3.0, 0.0]]))
    patch = make_patch([LEVEL], 0, nodes, ["boss"])
    assert patch["instruments"] == ["boss"] and patch["of_level"] == 0
    assert add_patch([patch], dict(patch)) == [patch]  # a rerun adds nothing
    assert len(add_patch([patch], {**patch, "instruments": ["apogee"]})) == 2
    with pytest.raises(GridError, match="levels 0-0"):
        make_patch([LEVEL], 1, nodes, ["boss"])


def test_a_patch_is_refused_over_nodes_it_would_hide():
    patch = make_patch([LEVEL], 0, np.array([[6250.0, 2.5, -2.0], [7875.0, 5.0, 0.8]]), ["boss"])
    assert patch["teff"][0] == 6000.0 and patch["teff"][-1] == 8000.0
    nodes = np.array([
        [7000.0, 2.75, 0.0],   # a finer level's node inside: hidden
        [6000.0, 2.75, -2.0],  # on the grid's outer faces, still inside: hidden
        [8000.0, 2.75, 0.0],   # on the patch's inner face (the lattice goes on): kept
        [7250.0, 3.0, 0.0],    # 7,250 K is not a patch value: hidden
        [7875.0, 3.0, 0.0],    # on the patch lattice
        [9000.0, 2.75, 0.0],   # outside
    ])
    assert nodes_off_patch(patch, LEVEL, nodes).tolist() == [True, True, False, True, False, False]


def _flux(labels):
    """Flux quadratic in teff (multilinear interpolation errs, more so over wider steps)."""
    t, g, m = np.atleast_2d(labels).T
    x = (t - 6000.0) / 1000.0
    return (0.5 + 0.1 * x ** 2 + 0.02 * g - 0.01 * m)[:, None] * np.ones(3)[None, :]


def _patched_grid(drop=()):
    level = {"teff": [6000.0, 7000.0, 8000.0, 9000.0], "logg": [3.0, 4.0], "m_h": [0.0, 1.0]}
    nodes = lattice_levels([level])[0]
    new = np.array([[6500.0, g, m] for g in level["logg"] for m in level["m_h"]
                    if (6500.0, g, m) not in drop])
    labels = np.concatenate([nodes, new])
    patch = patch_axes(level, np.array([[6500.0, 3.0, 0.0], [6500.0, 4.0, 1.0]]))
    return NodeGrid(labels=labels, wavelength=np.arange(3.0), flux=_flux(labels),
                    levels=[tuple(level.values())],
                    patches=[tuple(np.asarray(patch[n]) for n in ("teff", "logg", "m_h"))])


def test_inside_its_box_a_patch_answers_before_the_levels():
    grid = _patched_grid()
    plain = NodeGrid(labels=grid.labels[:16], wavelength=grid.wavelength, flux=grid.flux[:16],
                     levels=grid.levels)
    q = np.array([[6250.0, 3.5, 0.5], [7500.0, 3.5, 0.5]])
    truth = _flux(q)
    patched, unpatched = grid.interpolate(q), plain.interpolate(q)
    # at 6,250 K the quadratic's linear-interpolation error x(1-x)/10 falls from 0.25 × 0.75
    # (cell 6-7 kK) to 0.25 × 0.25 (cell 6-6.5 kK); outside the box nothing changes
    assert abs(patched[0, 0] - truth[0, 0]) == pytest.approx(
        abs(unpatched[0, 0] - truth[0, 0]) / 3, rel=1e-4)
    assert np.array_equal(patched[1], unpatched[1])
    assert np.allclose(grid.interpolate(grid.labels), grid.flux)
    # a patch node missing: the queries around it fall back to the levels
    holed = _patched_grid(drop={(6500.0, 4.0, 1.0)})
    assert np.allclose(holed.interpolate(q[:1]), unpatched[:1])
    assert holed.covers(q).all()


def test_the_campaign_adds_a_patch_unless_it_would_hide_nodes(tmp_path):
    from zeta_payne.grids.campaign import _with_patch
    from zeta_payne.grids.format import write_chunk
    from zeta_payne.grids.nodes import load_node_grid

    root = tmp_path / "main"
    levels = [{"teff": [6000.0, 7000.0, 8000.0], "logg": [3.0, 4.0], "m_h": [0.0]},
              {"teff": [6000.0, 7000.0, 8000.0], "logg": [3.0, 3.5, 4.0], "m_h": [0.0]}]
    manifest = {"schema": "zeta-payne/node-grid/1", "name": "main", "levels": levels,
                "node_axes": levels[-1],
                "instruments": {n: {"wave_start": 5000.0, "log10_step": 1e-5, "npix": 3}
                                for n in ("apogee", "boss")}}
    (root).mkdir()
    (root / "manifest.json").write_text(json.dumps(manifest))

    def write(name, labels, index):
        labels = np.asarray(labels, dtype=float)
        write_chunk(root / name / f"chunk_{index:04d}.npz", labels,
                    np.full((len(labels), 3), 40000, dtype=np.uint16), np.ones(len(labels)))

    lattice = lattice_levels([levels[0]])[0]
    write("boss", lattice, 0)
    write("apogee", np.concatenate([lattice, [[6000.0, 3.5, 0.0]]]), 0)  # APOGEE's level 1
    rows = np.array([[6500.0, 3.0, 0.0], [6500.0, 4.0, 0.0]])
    patches = _with_patch(manifest, root, rows, 0, ["boss"])
    assert patches == [{"teff": [6000.0, 6500.0, 7000.0], "logg": [3.0, 4.0],
                        "m_h": [0.0], "instruments": ["boss"], "of_level": 0}]
    # for APOGEE its level-1 node at 6,000 K / 3.5 would be hidden: refused
    with pytest.raises(GridError, match="1 apogee nodes inside the patch's box"):
        _with_patch(manifest, root, rows, 0, ["apogee", "boss"])
    # loaded for the instruments it is for only
    manifest["patches"] = patches
    (root / "manifest.json").write_text(json.dumps(manifest))
    assert len(load_node_grid(root, "boss").patches) == 1
    assert load_node_grid(root, "apogee").patches == []


def test_the_jump_factor_grid_keeps_the_sources_patches_for_its_instrument():
    from zeta_payne.grids.continuum_campaign import continuum_manifest

    level = {"teff": [6000.0, 7000.0], "logg": [4.0], "m_h": [0.0]}
    source = {"name": "main", "label_names": ["teff", "logg", "m_h"], "label_units": {},
              "instruments": {"boss": {"wave_start": 3600.0, "log10_step": 1e-4, "npix": 3}},
              "node_axes": level, "levels": [level], "provenance": {}}
    assert "patches" not in continuum_manifest(source)
    boss = make_patch([level], 0, np.array([[6500.0, 4.0, 0.0]]), ["boss"])
    apogee = {**boss, "instruments": ["apogee"]}
    assert continuum_manifest({**source, "patches": [apogee, boss]})["patches"] == [boss]
