"""The v_micro response: interpolation in (teff, logg, m_h) and v_micro, taper, check nodes."""

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.generator import GridGenerator
from zeta_payne.grids.nodes import NodeGrid
from zeta_payne.grids.vmicro import (
    build_vmicro_response,
    check_node_errors,
    summarize_check_errors,
)

WAVE = 5000.0 * np.exp(np.arange(40) / 18000.0)
MAIN_TEFF = [6000.0, 7000, 8000, 9000, 10000, 11000, 12500]
LOGG = [3.0, 4.0, 5.0]
M_H = [-1.0, 0.0]
COARSE_TEFF = [6000.0, 8000, 10000]
CHECKS = [(7000.0, 4.0, 0.0), (9000.0, 4.0, -1.0)]


def _lattice(teff, logg, m_h):
    return np.stack(np.meshgrid(teff, logg, m_h, indexing="ij"), axis=-1).reshape(-1, 3)


def _response(labels, v, curve=0.0, vcurve=0.0):
    """A response linear in logg and m_h, with ``curve`` × a parabola in teff and ``vcurve`` ×
    (v − 2)² on top of the linear (v − 2) term; shape (n, P)."""
    t, g, m = labels.T
    x = (t - 8000.0) / 2000.0
    amp = 0.01 * (1.0 + 0.2 * x + 0.1 * (g - 4.0) - 0.3 * m + curve * (1.0 - x**2))
    shape = np.exp(-0.5 * ((np.arange(WAVE.size) - 20.0) / 3.0) ** 2)
    return ((v - 2.0) + vcurve * (v - 2.0) ** 2) * amp[:, None] * shape[None, :]


def _base(labels):
    t, g, m = labels.T
    return (0.9 - 0.01 * (t - 6000.0) / 1000.0 + 0.01 * g + 0.02 * m)[:, None] * np.ones(WAVE.size)


def _grid(labels, v, **kw):
    flux = _base(labels) + (_response(labels, v, **kw) if v != 2.0 else 0.0)
    return NodeGrid(labels=labels, wavelength=WAVE, flux=flux,
                    manifest={"name": f"toy-vmic{v:g}", "fixed_labels": {"v_micro": v}})


@pytest.fixture
def main():
    return _grid(_lattice(MAIN_TEFF, LOGG, M_H), 2.0)


def _vgrid(v, extra=CHECKS, **kw):
    labels = np.concatenate([_lattice(COARSE_TEFF, LOGG, M_H), np.array(extra).reshape(-1, 3)])
    return _grid(labels, v, **kw)


def test_generator_adds_the_response_and_reproduces_the_nodes(main):
    response = build_vmicro_response(main, [_vgrid(1.0), _vgrid(4.0)])
    assert response.values == (1.0, 2.0, 4.0) and response.v_micro_range == (1.0, 4.0)
    assert response.teff_range == (6000.0, 10000.0)
    assert response.taper == 1000.0  # to the main grid's next teff value, 11 kK
    assert response.check_labels(1.0).tolist() == [list(c) for c in CHECKS]
    gen = GridGenerator(main, ("teff", "logg", "v_sini", "m_h", "v_micro"), resolution=6000.0,
                        response=response)
    node = np.array([[8000.0, 3.0, 0.0]])
    for v in (1.0, 2.0, 4.0):  # on a lattice node and a knot: the synthesized spectrum
        got = gen(np.array([[8000.0, 3.0, 0.0, 0.0, v]]))
        want = _base(node) + (_response(node, v) if v != 2 else 0)
        assert np.allclose(got, want, atol=2e-6)
    # between the knots: linear in v_micro; 1.5 km/s is halfway between 1 and 2
    half = gen(np.array([[8000.0, 3.0, 0.0, 0.0, 1.5]]))
    assert np.allclose(half - _base(node), 0.5 * _response(node, 1.0), atol=2e-6)
    # the response is multilinear in logg and m_h here, so a query between nodes is exact too
    q = np.array([[8000.0, 3.5, -0.5]])
    assert np.allclose(response(np.array([[8000.0, 3.5, -0.5, 4.0]])), _response(q, 4.0), atol=2e-6)


def test_a_6_kms_grid_widens_the_v_micro_range(main):
    """A third response grid above 4 km/s (campaign step 9) widens the box to 1–6 km/s; at 5
    km/s the response lies halfway between the 4- and 6-km/s grids' (piecewise linear)."""
    response = build_vmicro_response(main, [_vgrid(1.0), _vgrid(4.0), _vgrid(6.0, vcurve=0.2)])
    assert response.values == (1.0, 2.0, 4.0, 6.0) and response.v_micro_range == (1.0, 6.0)
    node = np.array([[8000.0, 3.0, 0.0]])
    got = response(np.array([[8000.0, 3.0, 0.0, 5.0]]))
    want = 0.5 * (_response(node, 4.0) + _response(node, 6.0, vcurve=0.2))
    assert np.allclose(got, want, atol=2e-6)
    assert np.allclose(response(np.array([[8000.0, 3.0, 0.0, 6.0]])),
                       _response(node, 6.0, vcurve=0.2), atol=2e-6)


def test_response_tapers_to_zero_above_its_teff_range(main):
    response = build_vmicro_response(main, [_vgrid(1.0), _vgrid(4.0)])
    at_edge = response(np.array([[10000.0, 4.0, 0.0, 4.0]]))
    assert np.abs(at_edge).max() > 1e-3
    mid = response(np.array([[10500.0, 4.0, 0.0, 4.0]]))
    assert np.allclose(mid, 0.5 * at_edge, atol=1e-7)
    assert not response(np.array([[11000.0, 4.0, 0.0, 1.0], [12000.0, 3.0, -1.0, 4.0]])).any()
    # the generator's spectra above the range do not depend on v_micro
    gen = GridGenerator(main, ("teff", "logg", "v_sini", "m_h", "v_micro"), resolution=6000.0,
                        response=response)
    hot = gen(np.array([[11800.0, 4.2, 0.0, -0.3, 1.0], [11800.0, 4.2, 0.0, -0.3, 4.0]]))
    assert np.array_equal(hot[0], hot[1])
    no_taper = build_vmicro_response(main, [_vgrid(1.0), _vgrid(4.0)], taper=0.0)
    assert not no_taper(np.array([[10001.0, 4.0, 0.0, 4.0]])).any()


def test_check_nodes_measure_the_interpolation_error(main):
    exact = build_vmicro_response(main, [_vgrid(1.0), _vgrid(4.0)])
    rows = check_node_errors(exact)
    assert len(rows) == 4 and {r["kind"] for r in rows} == {"lattice"}
    assert max(r["max"] for r in rows) < 2e-6  # a multilinear response interpolates exactly
    # a response curved in teff: at the check node at 7000 K, halfway between the lattice's
    # 6000 and 8000 K, linear interpolation misses the parabola by a quarter of its height
    curved = build_vmicro_response(main, [_vgrid(1.0, curve=0.5), _vgrid(4.0, curve=0.5)])
    rows = check_node_errors(curved)
    row = next(r for r in rows if r["v_micro"] == 4.0 and r["teff"] == 7000.0)
    node = np.array([CHECKS[0]])
    ends = _response(np.array([[6000.0, 4.0, 0.0], [8000.0, 4.0, 0.0]]), 4.0, curve=0.5)
    expected = np.abs(_response(node, 4.0, curve=0.5)[0] - ends.mean(axis=0)).max()
    assert expected > 1e-3 and row["max"] == pytest.approx(expected, rel=1e-3)
    assert row["response_max"] == pytest.approx(np.abs(_response(node, 4.0, curve=0.5)).max(), rel=1e-3)
    summary = summarize_check_errors(rows)
    assert summary["lattice"]["n_nodes"] == 4 and summary["lattice"]["max"] >= row["max"]
    # pixels restrict the measurement
    assert check_node_errors(curved, slice(0, 2))[0]["max"] < 1e-6


def test_a_few_nodes_at_3_kms_serve_where_present_and_check_the_axis(main):
    curvature = [(6000.0, 4.0, 0.0), (8000.0, 4.0, 0.0), (7000.0, 4.0, 0.0)]
    grids = [_vgrid(v, vcurve=0.2) for v in (1.0, 4.0)]
    three = _grid(np.array(curvature), 3.0, vcurve=0.2)
    response = build_vmicro_response(main, [*grids, three])
    assert response.values == (1.0, 2.0, 3.0, 4.0) and 3.0 in response.points
    node = np.array([[8000.0, 4.0, 0.0]])
    # at its node the 3 km/s spectrum is served as synthesized, between 3 and 4 linearly
    assert np.allclose(response(np.array([[8000.0, 4.0, 0.0, 3.0]])), _response(node, 3.0, vcurve=0.2),
                       atol=2e-6)
    want = 0.5 * (_response(node, 3.0, vcurve=0.2) + _response(node, 4.0, vcurve=0.2))
    assert np.allclose(response(np.array([[8000.0, 4.0, 0.0, 3.5]])), want, atol=2e-6)
    # off its nodes (logg 3.5): linear between 2 and 4 km/s
    off = np.array([[8000.0, 3.5, 0.0]])
    assert np.allclose(response(np.array([[8000.0, 3.5, 0.0, 3.0]])), 0.5 * _response(off, 4.0, vcurve=0.2),
                       atol=2e-6)
    # the axis check: linear between 2 and 4 misses the (v − 2)² term by 0.2 × 2 = 0.4 × amp
    rows = [r for r in check_node_errors(response) if r["kind"] == "v_micro"]
    assert len(rows) == 3
    for r in rows:
        lab = np.array([[r["teff"], r["logg"], r["m_h"]]])
        miss = np.abs(0.5 * _response(lab, 4.0, vcurve=0.2) - _response(lab, 3.0, vcurve=0.2)).max()
        assert r["max"] == pytest.approx(miss, rel=1e-3) and miss > 1e-3


def test_inconsistent_grids_are_refused(main):
    with pytest.raises(GridError, match="reference"):
        build_vmicro_response(main, [_vgrid(2.0)])
    with pytest.raises(GridError, match="two grids"):
        build_vmicro_response(main, [_vgrid(1.0), _vgrid(1.0)])
    other = NodeGrid(labels=main.labels, wavelength=WAVE * 1.001, flux=main.flux,
                     manifest={"fixed_labels": {"v_micro": 1.0}})
    with pytest.raises(GridError, match="wavelength"):
        build_vmicro_response(main, [other])
    with pytest.raises(GridError, match="complete lattice"):
        build_vmicro_response(main, [_grid(np.array(CHECKS), 1.0)])
    with pytest.raises(GridError, match="v_micro"):
        build_vmicro_response(NodeGrid(labels=main.labels, wavelength=WAVE, flux=main.flux), [_vgrid(1.0)])
    with pytest.raises(ValueError, match="v_micro"):
        GridGenerator(main, ("teff", "logg", "v_sini", "m_h"), resolution=6000.0,
                      response=build_vmicro_response(main, [_vgrid(1.0)]))
