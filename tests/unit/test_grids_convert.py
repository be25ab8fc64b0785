"""User-brought grids written in the node-grid format, then trained on."""

import json

import numpy as np
import pytest

from zeta_payne.cli import main
from zeta_payne.exceptions import GridError
from zeta_payne.grids.convert import write_imported_grid
from zeta_payne.grids.importers import read_gssp_grid
from zeta_payne.grids.nodes import load_node_grid
from zeta_payne.grids.sme import air_to_vacuum

LINE_AIR = 4861.33  # Hβ [Å, air]
SIGMA = 1.5  # intrinsic Gaussian width of the toy line [Å]


def _depth(teff, logg, m_h):
    return 0.2 + 0.3 * (teff - 8000) / 4000 + 0.1 * (logg - 4.0) + 0.05 * m_h


def _gssp_folder(path, v_sini_values=(0.0, 100.0)):
    """A 2×2×2 lattice in the GSSP layout, air wavelengths, sampled every 0.02 Å."""
    wave = np.arange(4780.0, 4950.0, 0.02)
    rows = []
    k = 0
    for teff in (8000.0, 12000.0):
        for logg in (3.5, 4.5):
            for m_h in (-0.5, 0.5):
                for v_sini in v_sini_values:
                    depth = _depth(teff, logg, m_h) * (1.0 if v_sini == 0 else 0.5)
                    flux = 1.0 - depth * np.exp(-0.5 * ((wave - LINE_AIR) / SIGMA) ** 2)
                    name = f"m{k:03d}.dat"
                    np.savetxt(path / name, np.column_stack([wave, flux]), fmt="%.5f")
                    rows.append(f"{name} {teff} {logg} {v_sini} 2.0 {m_h}")
                    k += 1
    (path / "params.txt").write_text("file teff logg v_sini v_micro m_h\n" + "\n".join(rows) + "\n")
    return path / "params.txt"


def test_import_cli_puts_gssp_spectra_on_the_boss_model_grid(tmp_path, capsys):
    table = _gssp_folder(tmp_path)
    out = tmp_path / "grids" / "imported"
    status = main(["grid", "import", "--gssp", str(table), "--instrument", "boss", "--out", str(out),
                   "--select", "v_sini=0"])
    assert status == 0
    assert "8 nodes (8 source spectra not selected)" in capsys.readouterr().out
    grid = load_node_grid(out, "boss")
    assert len(grid) == 8 and grid.medium == "vacuum"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fixed_labels"] == {"v_micro": 2.0, "v_sini": 0.0}
    assert manifest["provenance"]["source_medium"] == "air"
    # the line lands at its vacuum wavelength, broadened by the R = 6000 Gaussian
    centre = air_to_vacuum(np.array([LINE_AIR]))[0]
    sigma_r = centre / 6000.0 / (2 * np.sqrt(2 * np.log(2)))
    total = np.hypot(SIGMA, sigma_r)
    for labels, flux in zip(grid.labels, grid.flux, strict=True):
        profile = np.exp(-0.5 * ((grid.wavelength - centre) / total) ** 2)
        expected = 1 - _depth(*labels) * SIGMA / total * profile
        np.testing.assert_allclose(flux, expected, atol=3e-4)  # ASCII rounding + resampling
    # interpolation works on it (the trainer's generator)
    mid = grid.interpolate(np.array([[10000.0, 4.0, 0.0]]))[0]
    np.testing.assert_allclose(mid, 1 - _depth(10000.0, 4.0, 0.0) * SIGMA / total * profile, atol=3e-4)


def test_import_errors(tmp_path):
    grid = read_gssp_grid(_gssp_folder(tmp_path))
    with pytest.raises(GridError, match="v_sini"):
        write_imported_grid(grid, tmp_path / "a", "boss")
    with pytest.raises(GridError, match="does not overlap"):
        write_imported_grid(grid, tmp_path / "b", "apogee", {"v_sini": 0.0})
    with pytest.raises(GridError, match="not above the model resolution"):
        write_imported_grid(grid, tmp_path / "c", "boss", {"v_sini": 0.0}, source_resolution=3000)
    assert not any(p.name in "abc" for p in tmp_path.iterdir())


def test_imported_grid_trains_a_bundle(tmp_path, capsys):
    table = _gssp_folder(tmp_path, v_sini_values=(0.0,))
    grid_path = tmp_path / "imported"
    args = ["grid", "import", "--gssp", str(table), "--instrument", "boss", "--out", str(grid_path)]
    assert main(args) == 0
    out = tmp_path / "bundle"
    status = main(["train", "--grid", str(grid_path), "--instrument", "boss", "--out", str(out),
                   "--n-sobol", "150", "--n-gauss", "50", "--hidden", "16", "--iterations", "20",
                   "--validate-every", "5", "--batch-size", "100", "--threads", "1"])
    assert status == 0
    assert main(["bundle", "verify", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    lo, hi = manifest["fit_defaults"]["wavelength_range"]
    assert 4790 < lo < hi < 4950  # the bundle knows it covers the imported range only
