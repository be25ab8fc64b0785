"""Node lattice, coarse-to-fine ordering and multilinear interpolation."""

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.nodes import (
    NodeGrid,
    default_levels,
    lattice_levels,
    ordered_nodes,
    refine_axis,
)


def _linear_flux(labels, npix=7):
    """Flux that is linear in each label (multilinear interpolation must be exact)."""
    t, g, m = labels.T
    base = 0.2 + 0.5 * (t - 6000) / 19000 + 0.05 * g - 0.1 * m
    return base[:, None] * np.linspace(0.9, 1.1, npix)[None, :]


def _grid(levels, drop=()):
    nodes = lattice_levels(levels)[-1]
    keep = [i for i, r in enumerate(nodes) if tuple(r) not in drop]
    nodes = nodes[keep]
    return NodeGrid(labels=nodes, wavelength=np.arange(7) + 5000.0,
                    flux=_linear_flux(nodes), levels=[tuple(l.values()) for l in levels])


def test_refine_axis_piecewise_steps():
    t = refine_axis([6000, 7000, 10000, 14000], [(10000, 250), (1e9, 1000)])
    assert t.tolist() == [6000, 6500, 7000, 8500, 10000, 12000, 14000]
    assert refine_axis([3, 4, 5], 0.5).tolist() == [3, 3.5, 4, 4.5, 5]
    assert refine_axis([3, 3.5], 0.5).tolist() == [3, 3.5]


def test_default_levels_nest_and_cover_the_box():
    levels = default_levels()
    for coarse, fine in zip(levels[:-1], levels[1:], strict=True):
        for name in ("teff", "logg", "m_h"):
            assert set(coarse[name]) <= set(fine[name])
    last = levels[-1]
    assert last["teff"][0] == 6000 and last["teff"][-1] == 25000
    assert last["logg"][0] == 3.0 and last["logg"][-1] == 5.0
    assert last["m_h"][0] == -0.8 and last["m_h"][-1] == 0.8
    assert np.diff(last["teff"][last["teff"] <= 10000]).max() == 250


def test_ordered_nodes_coarse_first_without_duplicates():
    levels = default_levels()
    order = ordered_nodes(levels)
    ks = [k for k, _ in order]
    assert ks == sorted(ks)
    rows = np.array([r for _, r in order])
    assert len(np.unique(rows, axis=0)) == len(rows) == len(lattice_levels(levels)[-1])
    n0 = len(lattice_levels(levels)[0])
    assert {tuple(r) for r in rows[:n0]} == {tuple(r) for r in lattice_levels(levels)[0]}


def test_interpolation_reproduces_nodes_and_is_exact_for_linear_flux():
    levels = default_levels()[:3]
    grid = _grid(levels)
    rng = np.random.default_rng(0)
    q = np.column_stack([rng.uniform(6000, 25000, 50), rng.uniform(3, 5, 50),
                         rng.uniform(-0.8, 0.8, 50)])
    assert np.allclose(grid.interpolate(q), _linear_flux(q), atol=1e-5)
    assert np.allclose(grid.interpolate(grid.labels[:5]), grid.flux[:5])
    assert grid.interpolate(q[0]).shape == (1, 7)


def test_missing_nodes_fall_back_to_a_coarser_level():
    levels = default_levels()[:3]
    grid = _grid(levels, drop={(6500.0, 3.5, -0.4)})
    q = np.array([[6600.0, 3.6, -0.3]])
    assert np.allclose(grid.interpolate(q), _linear_flux(q), atol=1e-5)


def test_outside_or_incomplete_raises_or_nan():
    levels = default_levels()[:1]
    grid = _grid(levels, drop={(6000.0, 3.0, -0.8)})
    with pytest.raises(GridError):
        grid.interpolate([[5000.0, 4.0, 0.0]])
    with pytest.raises(GridError):
        grid.interpolate([[6500.0, 3.5, -0.5]])
    out = grid.interpolate([[6500.0, 3.5, -0.5], [6500.0, 4.5, 0.5]], missing="nan")
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


def test_covers_says_which_queries_interpolate_answers():
    levels = default_levels()[:1]
    grid = _grid(levels, drop={(6000.0, 3.0, -0.8)})
    rng = np.random.default_rng(1)
    q = np.column_stack([rng.uniform(5500, 25000, 400), rng.uniform(3, 5, 400), rng.uniform(-0.8, 0.8, 400)])
    ok = grid.covers(q)
    answered = np.isfinite(grid.interpolate(q, missing="nan")).all(axis=1)
    np.testing.assert_array_equal(ok, answered)
    assert (~ok).sum() > 0 and ok.sum() > 300  # the hole's cells and the teff < 6000 K points
    assert grid.covers([6500.0, 4.5, 0.5]).tolist() == [True]
