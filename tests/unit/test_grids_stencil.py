"""Lagrange stencils and the stencil interpolation of a node lattice."""

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.nodes import NodeGrid
from zeta_payne.grids.stencil import lagrange_stencils, parse_points, stencil_shifts

AXES = (np.array([6000.0, 7000, 8000, 10000, 12500, 16000]), np.array([2.5, 3.0, 3.5, 4.0, 4.5]),
        np.array([-2.0, -1.5, -1.0, -0.5, 0.0, 0.4, 0.8]))


def _lattice(flux_of, drop=(), points=(2, 4, 4)):
    nodes = np.stack(np.meshgrid(*AXES, indexing="ij"), axis=-1).reshape(-1, 3)
    keep = [i for i, r in enumerate(nodes) if tuple(r) not in drop]
    nodes = nodes[keep]
    return NodeGrid(labels=nodes, wavelength=np.arange(5) + 5000.0, flux=flux_of(nodes),
                    levels=[AXES], points=points)


def _cubic_in_logg_mh(labels):
    """Linear in teff, cubic in logg and [M/H]: a (2, 4, 4) stencil must be exact."""
    t, g, m = labels.T
    base = 0.3 + 1e-5 * t + 0.02 * g**3 - 0.05 * g**2 + 0.01 * m**3 + 0.03 * m**2 - 0.02 * g * m
    return base[:, None] * np.linspace(0.95, 1.05, 5)[None, :]


@pytest.mark.parametrize("points", [2, 3, 4])
def test_stencil_reproduces_polynomials_up_to_its_degree(points):
    axis = np.array([0.0, 0.7, 1.5, 2.0, 3.2, 4.0])
    x = np.array([0.1, 0.9, 1.9, 3.9, 2.6])
    idx, w = lagrange_stencils(axis, x, points)
    assert idx.shape == w.shape == (x.size, points) and np.allclose(w.sum(axis=1), 1.0)
    assert np.all((axis[idx].min(axis=1) <= x) & (x <= axis[idx].max(axis=1)))
    for degree in range(points):
        assert np.allclose(np.sum(w * axis[idx] ** degree, axis=1), x**degree)
    # a cubic is not reproduced by a linear stencil: the test above can fail
    idx, w = lagrange_stencils(axis, np.array([2.6]), 2)
    assert not np.isclose(np.sum(w * axis[idx] ** 3), 2.6**3)


def test_stencil_on_a_node_is_that_node_and_short_axes_shrink_it():
    idx, w = lagrange_stencils(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 3.0 + 1e-12]), 4)
    for row in range(2):  # on a node (or within atol of it): that node alone
        assert w[row].tolist() == [0.0, 0.0, 1.0, 0.0] or (
            w[row, idx[row].tolist().index(2)] == 1.0 and np.count_nonzero(w[row]) == 1)
    idx, w = lagrange_stencils(np.array([1.0, 2.0]), np.array([1.25]), 4)
    assert idx.tolist() == [[0, 1]] and np.allclose(w, [[0.75, 0.25]])
    with pytest.raises(ValueError):
        lagrange_stencils(np.array([1.0, 2.0]), np.array([1.5]), 1)


def test_parse_points():
    assert parse_points("2,4,4") == (2, 4, 4)
    assert parse_points(None) == (2, 2, 2)
    for bad in ("2,4", "1,2,2", "a,b,c"):
        with pytest.raises(ValueError):
            parse_points(bad)


def test_cubic_stencils_are_exact_where_multilinear_is_not():
    rng = np.random.default_rng(3)
    q = np.column_stack([rng.uniform(6000, 16000, 40), rng.uniform(2.5, 4.5, 40),
                         rng.uniform(-2.0, 0.8, 40)])
    truth = _cubic_in_logg_mh(q)
    cubic = _lattice(_cubic_in_logg_mh).interpolate(q)
    linear = _lattice(_cubic_in_logg_mh, points=(2, 2, 2)).interpolate(q)
    assert np.abs(cubic - truth).max() < 2e-6  # float32 storage
    assert np.abs(linear - truth).max() > 1e-3
    nodes = _lattice(_cubic_in_logg_mh)
    assert np.array_equal(nodes.interpolate(nodes.labels[:9]), nodes.flux[:9])


def test_a_missing_stencil_node_falls_back_to_multilinear_there():
    """A hole that every (shifted) cubic stencil of the query holds, but not its linear cell."""
    hole = (8000.0, 3.0, -1.0)
    grid = _lattice(_cubic_in_logg_mh, drop=[hole])
    full = _lattice(_cubic_in_logg_mh)
    near = np.array([[8000.0, 3.7, -0.7]])  # every cubic stencil includes logg 3.0, [M/H] -1.0
    far = np.array([[12000.0, 3.7, -0.7]])
    linear = _lattice(_cubic_in_logg_mh, points=(2, 2, 2)).interpolate(near)
    assert np.allclose(grid.interpolate(near), linear, atol=1e-6)
    assert grid.stencil_on_disk(near).tolist() == [False]
    assert np.allclose(grid.interpolate(far), full.interpolate(far), atol=1e-6)
    inside_hole = np.array([[7500.0, 2.9, -1.4]])  # its linear cell needs the hole as well
    assert np.isnan(grid.interpolate(inside_hole, missing="nan")).all()
    with pytest.raises(GridError):
        grid.interpolate(inside_hole)


def test_stencil_shifts_keep_the_query_interval():
    assert stencil_shifts(2) == (0,)
    assert stencil_shifts(3) == (0, -1)
    assert stencil_shifts(4) == (0, 1, -1)
    axis = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    x = np.array([0.5, 1.5, 2.5, 4.5])
    for shift in (-1, 0, 1):
        idx, w = lagrange_stencils(axis, x, 4, shift=shift)
        lo, hi = axis[idx].min(axis=1), axis[idx].max(axis=1)
        assert np.all((lo <= np.floor(x)) & (hi >= np.ceil(x)))
        assert np.allclose(w @ np.ones(4), 1.0)
        assert np.allclose((w * axis[idx] ** 3).sum(axis=1), x**3)  # still cubic
    idx, _ = lagrange_stencils(axis, np.array([2.5]), 4, shift=1)
    assert axis[idx].tolist() == [[2.0, 3.0, 4.0, 5.0]]


def test_a_stencil_missing_a_node_at_a_log_g_floor_is_shifted_not_shrunk():
    """No atmosphere at log g 2.5 above 10 kK (a floor, as at hot teff in the v3 lattice): a
    query at log g 3.2 there takes the log g stencil 3.0-4.5 instead of 2.5-4.0 and stays
    cubic (exact for this function); before, it fell back to multilinear."""
    floor = [(t, 2.5, m) for t in AXES[0] if t >= 10000 for m in AXES[2]]
    grid = _lattice(_cubic_in_logg_mh, drop=floor, points=(4, 4, 4))
    q = np.array([[14000.0, 3.2, -0.7], [11000.0, 3.1, 0.2]])
    assert grid.stencil_on_disk(q).tolist() == [True, True]
    assert np.abs(grid.interpolate(q) - _cubic_in_logg_mh(q)).max() < 2e-6
    multilinear = _lattice(_cubic_in_logg_mh, points=(2, 2, 2)).interpolate(q)
    assert np.abs(multilinear - _cubic_in_logg_mh(q)).max() > 1e-3


def test_a_teff_stencil_missing_a_node_keeps_the_cubic_logg_and_mh_stencils():
    """A partial campaign: every 4-point teff stencil of a query (central and shifted) misses
    a node, so the query is answered linear in teff but still cubic in log g and [M/H]
    (exact for this function), not multilinearly; ``stencil_on_disk`` says which queries
    got their full stencil."""
    holes = [(7000.0, 3.5, -0.5), (12500.0, 3.5, -0.5)]
    grid = _lattice(_cubic_in_logg_mh, drop=holes, points=(4, 4, 4))
    q = np.array([[9000.0, 3.7, -0.7]])  # teff stencils 7-8-10-12.5, 8-10-12.5-16, 6-7-8-10 kK
    assert grid.stencil_on_disk(q).tolist() == [False]
    assert np.abs(grid.interpolate(q) - _cubic_in_logg_mh(q)).max() < 2e-6
    multilinear = _lattice(_cubic_in_logg_mh, points=(2, 2, 2)).interpolate(q)
    assert np.abs(multilinear - _cubic_in_logg_mh(q)).max() > 1e-3
    # with one of the holes filled, the shifted teff stencil 6-7-8-10 kK is complete
    one = _lattice(_cubic_in_logg_mh, drop=holes[1:], points=(4, 4, 4))
    assert one.stencil_on_disk(q).tolist() == [True]
    # outside every level: neither full nor answered
    assert grid.stencil_on_disk(np.array([[5000.0, 3.7, -0.7]])).tolist() == [False]
