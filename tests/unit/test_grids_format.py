"""Round trip of the compact node format and the model-grid resampling."""

import json

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.format import (
    APOGEE_MODEL_GRID,
    BOSS_MODEL_GRID,
    FLUX_SCALE,
    SCHEMA,
    ModelWavelengthGrid,
    decode_flux,
    encode_flux,
    gaussian_smooth_loglam,
    read_chunk,
    to_model_grid,
    write_chunk,
    write_json_atomic,
)
from zeta_payne.grids.nodes import load_node_grid


def test_model_grids_match_the_design():
    w = BOSS_MODEL_GRID.wavelength
    assert w[0] == 3600.0 and 10399.0 < w[-1] <= 10400.0
    assert np.allclose(np.diff(np.log(w)), 1 / 18000.0)
    assert BOSS_MODEL_GRID.R_model == 6000 and BOSS_MODEL_GRID.medium == "vacuum"
    a = APOGEE_MODEL_GRID.wavelength
    assert a[0] == 15050.0 and 17049.0 < a[-1] <= 17050.0
    assert np.allclose(np.diff(np.log(a)), 1 / 180000.0)
    assert ModelWavelengthGrid.from_dict(BOSS_MODEL_GRID.to_dict()) == BOSS_MODEL_GRID


def test_flux_encoding_round_trip():
    f = np.array([0.0, 0.123456, 0.5, 1.0, 1.2, 2.0, -0.1])
    back = decode_flux(encode_flux(f))
    assert back.dtype == np.float32
    assert np.allclose(back[:5], f[:5], atol=0.5 / FLUX_SCALE + 1e-7)
    assert back[5] == pytest.approx(65535 / FLUX_SCALE) and back[6] == 0.0


def test_chunk_round_trip_and_loader(tmp_path):
    grid = ModelWavelengthGrid.from_range("boss", 5000.0, 5010.0, 1 / 18000.0, 6000.0)
    rng = np.random.default_rng(1)
    labels = np.array([[6000.0, 4.0, 0.0], [7000.0, 4.0, 0.0], [6000.0, 4.0, 0.0]])
    flux = rng.uniform(0.3, 1.0, (3, grid.npix))
    write_chunk(tmp_path / "g" / "boss" / "chunk_0000.npz", labels, encode_flux(flux),
                np.array([1.0, 2.0, 3.0]))
    lab, flx, sec = read_chunk(tmp_path / "g" / "boss" / "chunk_0000.npz")
    assert flx.dtype == np.uint16 and lab.shape == (3, 3) and sec.tolist() == [1.0, 2.0, 3.0]
    manifest = {"schema": SCHEMA, "instruments": {"boss": grid.to_dict()}, "levels": []}
    write_json_atomic(tmp_path / "g" / "manifest.json", manifest)
    ng = load_node_grid(tmp_path / "g")
    assert len(ng) == 2  # the duplicate label row is dropped
    assert np.allclose(ng.flux, flux[:2], atol=1e-4)
    assert np.allclose(ng.wavelength, grid.wavelength)
    assert ng.medium == "vacuum"
    assert json.loads((tmp_path / "g" / "manifest.json").read_text())["schema"] == SCHEMA
    assert load_node_grid(tmp_path / "g" / "boss").labels.shape == (2, 3)


def test_bad_chunk_rejected(tmp_path):
    with pytest.raises(GridError):
        write_chunk(tmp_path / "c.npz", np.zeros((2, 3)), np.zeros((2, 5)), np.zeros(2))


def test_gaussian_smoothing_conserves_equivalent_width():
    lnw = np.log(5000.0) + 1e-5 * np.arange(4000)
    flux = np.ones_like(lnw)
    flux[2000] = 0.2
    out = gaussian_smooth_loglam(flux, 1e-5, 6000.0)
    assert np.sum(1 - out) == pytest.approx(0.8, rel=1e-9)
    # FWHM of the smoothed line ≈ λ/R.
    depth = 1 - out
    above = np.flatnonzero(depth > depth.max() / 2)
    assert (above[-1] - above[0] + 1) * 1e-5 == pytest.approx(1 / 6000.0, rel=0.1)


def test_to_model_grid_converts_air_to_vacuum():
    from zeta_payne.grids.sme import air_to_vacuum, vacuum_to_air

    grid = ModelWavelengthGrid.from_range("boss", 4850.0, 4875.0, 1 / 18000.0, 6000.0)
    lam_vac = 4862.0
    lam_air = float(vacuum_to_air(lam_vac))
    assert float(air_to_vacuum(lam_air)) == pytest.approx(lam_vac, abs=1e-6)
    wave_air = 4830.0 * np.exp(1e-5 * np.arange(int(np.log(4900 / 4830) / 1e-5)))
    flux = 1 - 0.5 * np.exp(-0.5 * ((wave_air - lam_air) / 0.3) ** 2)
    out = to_model_grid(grid, wave_air, flux)
    w = grid.wavelength
    centroid = np.sum(w * (1 - out)) / np.sum(1 - out)
    assert centroid == pytest.approx(lam_vac, abs=0.01)
    with pytest.raises(GridError):
        to_model_grid(grid, wave_air[:100], flux[:100])
