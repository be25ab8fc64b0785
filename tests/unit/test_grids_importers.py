"""Readers of user-brought grids (GSSP folders, the authors' NPZ)."""

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.importers import AUTHORS_LABEL_ORDER, read_authors_npz, read_gssp_grid


def _spec(w, depth):
    return 1 - depth * np.exp(-0.5 * ((w - 4861.3) / 2.0) ** 2)


def test_gssp_folder(tmp_path):
    w = np.linspace(4800, 4900, 201)
    rows = []
    for i, (t, g, m) in enumerate([(10000, 4.0, 0.0), (12000, 4.0, 0.0), (10000, 4.5, 0.0)]):
        name = f"model_{i}.dat"
        ww = w if i != 2 else np.linspace(4790, 4910, 300)  # another sampling
        np.savetxt(tmp_path / name, np.column_stack([ww, _spec(ww, 0.1 * (i + 1))]))
        rows.append(f"{name} {t} {g} {m} 2.0")
    (tmp_path / "params.txt").write_text("file teff logg m_h v_micro\n" + "\n".join(rows) + "\n")
    grid = read_gssp_grid(tmp_path / "params.txt")
    assert grid.medium == "air"
    assert grid.label_names == ("teff", "logg", "m_h", "v_micro")
    assert grid.flux.shape == (3, 201) and np.allclose(grid.wavelength, w)
    assert np.allclose(grid.flux[2], _spec(w, 0.3), atol=3e-3)
    ng = grid.to_node_grid()
    assert ng.labels.shape == (3, 3) and ng.medium == "air"


def test_authors_npz(tmp_path):
    n, npix = 4, 50
    labels = np.column_stack([np.linspace(6000, 9000, n), np.full(n, 4.0), np.zeros(n),
                              np.full(n, 2.0), np.zeros(n)])
    flux = np.random.default_rng(0).uniform(0.5, 1, (n, npix))
    np.savez(tmp_path / "grid.npz", flux=flux, labels=labels, wvl=np.linspace(15100, 15200, npix))
    grid = read_authors_npz(tmp_path / "grid.npz")
    assert grid.label_names == AUTHORS_LABEL_ORDER and grid.medium == "air"
    assert np.allclose(grid.flux, flux, atol=1e-6)
    ng = grid.to_node_grid()
    assert ng.labels.shape == (4, 3)
    np.savez(tmp_path / "bad.npz", flux=flux, labels=labels[:, :3], wvl=np.arange(npix))
    with pytest.raises(GridError):
        read_authors_npz(tmp_path / "bad.npz")
    assert read_authors_npz(tmp_path / "bad.npz", label_names=("teff", "logg", "m_h")).flux.shape


def test_varying_other_label_must_be_fixed(tmp_path):
    n, npix = 4, 10
    labels = np.column_stack([np.full(n, 7000.0), np.full(n, 4.0), [0, 50, 0, 50],
                              np.full(n, 2.0), np.zeros(n)])
    np.savez(tmp_path / "g.npz", flux=np.ones((n, npix)), labels=labels, wvl=np.arange(npix) + 1.0)
    grid = read_authors_npz(tmp_path / "g.npz")
    with pytest.raises(GridError):
        grid.to_node_grid()
    assert len(grid.to_node_grid(fixed={"v_sini": 0.0})) == 2
