"""Joining two node grids over adjacent wavelength ranges."""

import json

import numpy as np
import pytest

from zeta_payne.cli import main
from zeta_payne.exceptions import GridError
from zeta_payne.grids.concat import concatenate_grids, next_wave_start
from zeta_payne.grids.format import ModelWavelengthGrid, encode_flux, write_chunk
from zeta_payne.grids.nodes import load_node_grid

STEP = 1.0 / 18000.0


def _make(path, start, npix, labels, flux_fn, provenance=None, chunk=2):
    grid = ModelWavelengthGrid.from_range("boss", start, start * np.exp(STEP * (npix - 1) * 1.0000001),
                                          STEP, 6000.0)
    assert grid.npix == npix
    manifest = {
        "schema": "zeta-payne/node-grid/1", "name": path.name, "label_names": ["teff", "logg", "m_h"],
        "label_units": {}, "fixed_labels": {"v_micro": 2.0, "v_sini": 0.0},
        "instruments": {"boss": grid.to_dict()}, "node_axes": {}, "levels": [],
        "provenance": provenance or {"linelist_sha256": "abc", "synthesis_dlnlambda": {"boss": 1e-6},
                                     "synthesis_segments_air": {"boss": [[start, start + 1]]}},
    }
    path.mkdir()
    (path / "manifest.json").write_text(json.dumps(manifest))
    wave = grid.wavelength
    for k in range(0, len(labels), chunk):
        lab = np.asarray(labels[k : k + chunk], dtype=float)
        flux = np.array([flux_fn(row, wave) for row in lab])
        write_chunk(path / "boss" / f"chunk_{k // chunk:04d}.npz", lab, encode_flux(flux),
                    np.full(len(lab), 10.0))
    return grid


def _flux(row, wave):
    return 0.5 + 0.4 * np.sin(wave / 50.0 + row[0] / 1000.0) * np.exp(-row[1]) + 0.01 * row[2]


NODES = [(6000.0, 3.0, 0.0), (6000.0, 4.0, 0.0), (7000.0, 3.0, 0.0), (7000.0, 4.0, 0.0), (7000.0, 4.0, 0.5)]


def test_join_is_the_same_as_one_grid(tmp_path):
    blue = _make(tmp_path / "blue", 5000.0, 40, NODES, _flux)
    start = next_wave_start(tmp_path / "blue", "boss")
    _make(tmp_path / "red", start, 25, NODES[:4][::-1], _flux)  # other order, one node fewer
    info = concatenate_grids(tmp_path / "blue", tmp_path / "red", tmp_path / "joined", "boss", chunk_size=3)
    assert info["nodes"] == 4 and info["npix"] == 65 and len(info["only_blue"]) == 1
    joined = load_node_grid(tmp_path / "joined", "boss")
    full = ModelWavelengthGrid("boss", 5000.0, blue.log10_step, 65, 6000.0)
    np.testing.assert_allclose(joined.wavelength, full.wavelength, rtol=1e-12)
    for row, flux in zip(joined.labels, joined.flux, strict=True):
        np.testing.assert_allclose(flux, _flux(row, full.wavelength), atol=2e-5)  # uint16 rounding
    manifest = json.loads((tmp_path / "joined" / "manifest.json").read_text())
    assert [p["npix"] for p in manifest["provenance"]["joined_from"]] == [40, 25]
    assert np.allclose(joined.seconds, 20.0)


def test_join_refuses_gaps_other_settings_and_existing_output(tmp_path):
    _make(tmp_path / "blue", 5000.0, 40, NODES, _flux)
    start = next_wave_start(tmp_path / "blue", "boss")
    _make(tmp_path / "gap", start * np.exp(3 * STEP), 20, NODES, _flux)
    with pytest.raises(GridError, match="pixels from the pixel after"):
        concatenate_grids(tmp_path / "blue", tmp_path / "gap", tmp_path / "j1", "boss")
    _make(tmp_path / "other", start, 20, NODES, _flux,
          provenance={"linelist_sha256": "xyz", "synthesis_dlnlambda": {"boss": 1e-6}})
    with pytest.raises(GridError, match="linelist_sha256"):
        concatenate_grids(tmp_path / "blue", tmp_path / "other", tmp_path / "j2", "boss")
    _make(tmp_path / "red", start, 20, NODES, _flux)
    (tmp_path / "j3").mkdir()
    (tmp_path / "j3" / "x").write_text("")
    with pytest.raises(GridError, match="not empty"):
        concatenate_grids(tmp_path / "blue", tmp_path / "red", tmp_path / "j3", "boss")
    assert not (tmp_path / "j1").exists() and not (tmp_path / "j2").exists()


def test_concat_cli(tmp_path, capsys):
    _make(tmp_path / "blue", 5000.0, 40, NODES, _flux)
    assert main(["grid", "next-start", str(tmp_path / "blue")]) == 0
    start = float(capsys.readouterr().out)
    _make(tmp_path / "red", start, 20, NODES, _flux)
    assert main(["grid", "concat", str(tmp_path / "blue"), str(tmp_path / "red"),
                 "--out", str(tmp_path / "joined")]) == 0
    assert "5 nodes, 60 pixels" in capsys.readouterr().out
