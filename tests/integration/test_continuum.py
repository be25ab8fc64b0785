"""The continuum jump factor: SME's continuum, the hydrogen jumps, the resumable grid command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from .conftest import LINELIST, SYNTHESIS_MARKS

pytestmark = SYNTHESIS_MARKS


def _continuum(backend, teff, logg, m_h):
    from zeta_payne.grids.atmospheres import get_atmosphere
    from zeta_payne.grids.continuum import continuum_wavelengths, synthesize_continuum
    from zeta_payne.grids.sme import _sme_atmosphere

    lines, atmospheres = backend
    wave = continuum_wavelengths(3540.0, 10500.0)
    atmo = _sme_atmosphere(get_atmosphere(atmospheres, teff, logg, m_h))
    return wave, synthesize_continuum(teff, logg, m_h, wave, lines, atmo)


def test_balmer_jump_peaks_in_a_stars_and_paschen_jump_follows(backend):
    from zeta_payne.grids.continuum import jump_ratio

    ratios = {t: jump_ratio(*_continuum(backend, t, 4.0, 0.0)) for t in (6000, 9500, 25000)}
    balmer = {t: r[0] for t, r in ratios.items()}
    paschen = {t: r[1] for t, r in ratios.items()}
    # A0 V: the continuum blueward of 3,647 Å is about a quarter of the redward (D ≈ 0.5 dex)
    assert 0.2 < balmer[9500] < 0.35
    assert balmer[6000] > 0.6 and balmer[25000] > 0.6
    assert 0.7 < paschen[9500] < 0.9 and paschen[25000] > paschen[9500] and paschen[6000] > 0.95


def test_jump_factor_on_the_boss_grid(backend):
    from zeta_payne.grids.continuum import jump_factor_on_grid
    from zeta_payne.grids.format import BOSS_MODEL_GRID

    wave, cont = _continuum(backend, 9500, 4.0, 0.0)
    j = jump_factor_on_grid(BOSS_MODEL_GRID, wave, cont)
    w = BOSS_MODEL_GRID.wavelength  # vacuum
    assert j.shape == (BOSS_MODEL_GRID.npix,) and np.all(np.isfinite(j))
    assert 0.25 < j.min() and j.max() < 1.4
    below, above = np.interp([3640.0, 3656.0], w, j)  # ±8 Å of the edge (vacuum 3,648 Å)
    assert below / above == pytest.approx(0.27, abs=0.04)
    # smooth between the jumps: no pixel-to-pixel step above 0.2 % away from them
    for lo, hi in ((3700.0, 8150.0), (8260.0, 10400.0)):
        piece = (w > lo) & (w < hi)
        assert np.max(np.abs(np.diff(np.log(j[piece])))) < 2e-3


def test_the_continuum_does_not_depend_on_the_lines(backend):
    """The normal synthesis returns SME's continuum too; the one-line synthesis gives the same."""
    from zeta_payne.grids.sme import synthesize_node

    lines, atmospheres = backend
    seg = synthesize_node(9500, 4.0, 0.0, [(4820.0, 4900.0)], lines, atmospheres)[0]
    assert seg.continuum is not None and seg.continuum.shape == seg.flux.shape
    wave, cont = _continuum(backend, 9500, 4.0, 0.0)
    ref = np.interp(seg.wave_air, wave, cont)
    assert np.max(np.abs(seg.continuum / ref - 1.0)) < 2e-3


def test_grid_command_computes_resumes_and_loads(tmp_path, capsys):
    from zeta_payne.cli import main
    from zeta_payne.grids.format import SCHEMA, ModelWavelengthGrid, encode_flux, write_chunk
    from zeta_payne.grids.nodes import load_node_grid

    src = tmp_path / "src"
    model = ModelWavelengthGrid.from_range("boss", 3600.0, 3700.0, 1.0 / 18000.0, 6000.0)
    labels = np.array([[9500.0, 4.0, 0.0], [25000.0, 4.0, 0.0]])
    axes = {"teff": [9500.0, 25000.0], "logg": [4.0], "m_h": [0.0]}
    manifest = {
        "schema": SCHEMA,
        "name": "src",
        "label_names": ["teff", "logg", "m_h"],
        "label_units": {"teff": "K", "logg": "dex (cgs)", "m_h": "dex"},
        "fixed_labels": {"v_micro": 2.0, "v_sini": 0.0},
        "instruments": {"boss": model.to_dict()},
        "node_axes": axes,
        "levels": [axes],
        "provenance": {},
    }
    src.mkdir()
    (src / "manifest.json").write_text(json.dumps(manifest))
    flux = encode_flux(np.ones((1, model.npix)))
    write_chunk(src / "boss" / "chunk_0000.npz", labels[:1], flux, np.zeros(1))
    argv = ["grid", "continuum", str(src), "--linelist", str(LINELIST), "--chunk-size", "1"]
    assert main(argv) == 0
    assert "1 nodes on disk (1 computed now" in capsys.readouterr().out
    write_chunk(src / "boss" / "chunk_0001.npz", labels[1:], flux, np.zeros(1))  # the source grows
    assert main(argv) == 0
    assert "2 nodes on disk (1 computed now" in capsys.readouterr().out
    out = tmp_path / "src-continuum"
    meta = json.loads((out / "manifest.json").read_text())
    meta["provenance"]["retired"] = [{"nodes": "m_h > 0.5", "removed": {"boss": 0}}]  # grid retire's
    (out / "manifest.json").write_text(json.dumps(meta))
    assert main(argv) == 0
    assert "2 nodes on disk (0 computed now" in capsys.readouterr().out
    meta = json.loads((out / "manifest.json").read_text())
    assert meta["provenance"]["retired"] == [{"nodes": "m_h > 0.5", "removed": {"boss": 0}}]  # kept
    assert meta["provenance"]["kind"] == "continuum-jump-factor" and meta["name"] == "src-continuum"
    assert meta["instruments"]["boss"]["flux_scale"] == 25000.0
    grid = load_node_grid(out, "boss")
    assert sorted(map(tuple, grid.labels.tolist())) == [(9500.0, 4.0, 0.0), (25000.0, 4.0, 0.0)]
    a0 = grid.flux[grid.labels[:, 0] == 9500.0][0]
    below, above = np.interp([3640.0, 3656.0], grid.wavelength, a0)
    assert below / above == pytest.approx(0.27, abs=0.04)
