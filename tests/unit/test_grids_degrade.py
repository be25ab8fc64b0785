"""Degrading a high-resolution node grid (the synthesis-truth sets) to a model grid's."""

import numpy as np
import pytest

from zeta_payne.exceptions import GridError
from zeta_payne.grids.convert import degrade_node_grid
from zeta_payne.grids.format import FWHM_TO_SIGMA
from zeta_payne.grids.nodes import NodeGrid


def _line(wave, centre, resolution, depth=0.5):
    """A line whose width is the Gaussian LSF of ``resolution`` (the line is unresolved)."""
    sigma = FWHM_TO_SIGMA / resolution  # in ln λ
    return 1.0 - depth * np.exp(-0.5 * (np.log(wave / centre) / sigma) ** 2)


def test_degraded_line_has_the_target_width_and_keeps_its_equivalent_width():
    fine = 5000.0 * np.exp(1e-5 * np.arange(20000))
    labels = np.array([[7000.0, 4.0, 0.0], [9000.0, 4.0, 0.0]])
    src = NodeGrid(labels=labels, wavelength=fine,
                   flux=np.stack([_line(fine, 5500.0, 20000), _line(fine, 5600.0, 20000, 0.3)]))
    coarse = 5100.0 * np.exp(4e-5 * np.arange(3000))
    out = degrade_node_grid(src, 20000.0, coarse, 6000.0)
    assert out.flux.shape == (2, coarse.size) and np.array_equal(out.labels, labels)
    # an unresolved line seen at R 6000: its depth falls as σ(20000)/σ(6000)
    expect = _line(coarse, 5500.0, 6000, 0.5 * 6000 / 20000)
    assert np.abs(out.flux[0] - expect).max() < 5e-4  # a kernel of R 6000 itself: 6e-3
    ew = lambda w, f: np.trapezoid(1 - f, w)  # noqa: E731
    assert ew(coarse, out.flux[1]) == pytest.approx(ew(fine, src.flux[1]), rel=2e-3)


def test_degrading_refuses_a_higher_resolution_or_a_range_outside():
    """Pixels beyond the source's ends are NaN; no overlap at all is an error."""
    fine = 5000.0 * np.exp(1e-5 * np.arange(2000))
    src = NodeGrid(labels=np.array([[7000.0, 4.0, 0.0]]), wavelength=fine,
                   flux=np.ones((1, fine.size)))
    with pytest.raises(GridError):
        degrade_node_grid(src, 6000.0, fine[100:200], 20000.0)
    edge = degrade_node_grid(src, 20000.0, np.linspace(4990.0, 5010.0, 50), 6000.0)
    assert np.isnan(edge.flux[0, 0]) and np.isfinite(edge.flux[0, -1])
    with pytest.raises(GridError):
        degrade_node_grid(src, 20000.0, np.linspace(4900.0, 4990.0, 50), 6000.0)
