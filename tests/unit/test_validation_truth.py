"""Synthesis truth as the generator of a simulation study (validation/truth.py)."""

from types import SimpleNamespace

import numpy as np
import pytest

from zeta_payne.grids.nodes import NodeGrid
from zeta_payne.validation.truth import (
    SynthesisGenerator,
    default_points_file,
    point_kinds,
    read_truth_points,
    synthesis_cases,
)


def _bundle():
    def spec(name, lower, upper, free=True, value=None):
        return SimpleNamespace(name=name, lower=lower, upper=upper, free=free, value=value)

    return SimpleNamespace(labels=[spec("teff", 6000, 25000), spec("logg", 3, 5), spec("v_sini", 0, 400),
                                   spec("v_micro", 2, 2, False, 2.0), spec("m_h", -0.8, 0.8)])


def test_points_file_and_kinds(tmp_path):
    (tmp_path / "synth-truth-v9").mkdir()
    path = tmp_path / "truth-points-v9.txt"
    path.write_text("# teff logg m_h kind\n17963.4 3.7404 -0.3039  # in\n"
                    "17525.7 3.1885 -1.1890  # out:metal-poor\n9000 4.0 0.0\n")
    assert default_points_file(tmp_path / "synth-truth-v9") == path
    labels, kinds = read_truth_points(path)
    assert labels.shape == (3, 3) and kinds == ["in", "out:metal-poor", "in"]
    stored = np.array([[17525.7, 3.1885, -1.189], [17963.4, 3.7404, -0.3039], [5000.0, 4.0, 0.0]])
    box = [(6000, 25000), (3, 5), (-0.8, 0.8)]
    # from the file where listed; a point outside the box is out even when unlisted
    assert point_kinds(stored, (labels, kinds), box) == ["out:metal-poor", "in", "out:box"]


def test_cases_cycle_points_with_own_draws():
    stored = np.array([[10000.0, 4.0, 0.1], [20000.0, 3.5, -0.2]])
    labels, rv, point = synthesis_cases(stored, _bundle(), 5, seed=1)
    assert labels.shape == (5, 5) and point.tolist() == [0, 1, 0, 1, 0]
    assert np.all(labels[:, 0] == stored[point, 0]) and np.all(labels[:, 4] == stored[point, 2])
    assert np.all(labels[:, 3] == 2.0)  # fixed v_micro
    assert len(set(labels[:, 2])) == 5 and np.all((labels[:, 2] >= 0) & (labels[:, 2] <= 400))
    assert np.all(np.abs(rv) <= 50) and len(set(rv)) == 5


def test_cases_v_sini_range_restricts_the_draws():
    stored = np.array([[6500.0, 4.2, 0.0]])
    labels, _, _ = synthesis_cases(stored, _bundle(), 64, seed=3, v_sini_range=(0.0, 20.0))
    assert np.all((labels[:, 2] >= 0) & (labels[:, 2] <= 20)) and labels[:, 2].max() > 15
    with pytest.raises(ValueError, match="not inside"):
        synthesis_cases(stored, _bundle(), 4, seed=3, v_sini_range=(100.0, 500.0))


def test_generator_looks_up_and_rotates():
    lam = np.exp(np.linspace(np.log(5000.0), np.log(5100.0), 3000))
    flux = np.ones((2, lam.size), np.float32)
    flux[:, 1500] = 0.2
    grid = NodeGrid(labels=[[10000.0, 4.0, 0.1], [20000.0, 3.5, -0.2]], wavelength=lam, flux=flux,
                    manifest={"instruments": {"boss": {"npix": lam.size, "R_model": 20000.0}}})
    gen = SynthesisGenerator(grid, ("teff", "logg", "v_sini", "m_h"))
    assert gen.resolution == 20000.0
    still = gen(np.array([[20000.0, 3.5, 0.0, -0.2]]))[0]
    assert np.allclose(still, flux[1])  # as synthesized: no interpolation
    spun = gen(np.array([[20000.0, 3.5, 100.0, -0.2]]))[0]
    assert spun.min() > 0.5 and np.sum(1 - spun) == pytest.approx(np.sum(1 - flux[1]), rel=1e-3)
    with pytest.raises(KeyError):
        gen(np.array([[15000.0, 3.5, 0.0, -0.2]]))  # never interpolated


def test_generator_multiplies_the_truths_own_jump_factor():
    lam = np.exp(np.linspace(np.log(3600.0), np.log(3700.0), 2000))
    flux = np.ones((2, lam.size), np.float32)
    labels = [[9500.0, 4.0, 0.0], [20000.0, 3.5, -0.2]]
    grid = NodeGrid(labels=labels, wavelength=lam, flux=flux)
    jump = np.where(lam < 3648.0, 0.3, 1.0)[None, :] * np.array([[1.0], [2.0]])
    cont = NodeGrid(labels=labels[::-1], wavelength=lam, flux=jump[::-1].astype(np.float32))
    gen = SynthesisGenerator(grid, ("teff", "logg", "v_sini", "m_h"), resolution=20000.0, continuum=cont)
    out = gen(np.array([[9500.0, 4.0, 50.0, 0.0], [20000.0, 3.5, 0.0, -0.2]]))
    assert np.allclose(out, jump, atol=1e-6)  # found by label, not by row order; J not rotated
    with pytest.raises(ValueError, match="other wavelengths"):
        SynthesisGenerator(grid, ("teff", "logg", "m_h"), continuum=NodeGrid(
            labels=labels, wavelength=lam * 1.01, flux=jump.astype(np.float32)))
    short = NodeGrid(labels=labels[:1], wavelength=lam, flux=jump[:1].astype(np.float32))
    with pytest.raises(KeyError, match="no continuum"):
        SynthesisGenerator(grid, ("teff", "logg", "m_h"), continuum=short)(np.array([labels[1]]))


def test_pin_truth_labels_sets_v_micro_to_the_truths():
    from zeta_payne.validation.runner import pin_truth_labels

    names = ("teff", "logg", "v_sini", "m_h", "v_micro")
    labels = np.array([[7000.0, 4.0, 50.0, 0.0, 3.3], [9000.0, 3.5, 120.0, -0.5, 1.2]])
    pinned = pin_truth_labels(labels, names, {"v_micro": 2.0, "v_sini": 0.0})
    assert np.all(pinned[:, 4] == 2.0) and np.array_equal(pinned[:, :4], labels[:, :4])
    assert labels[0, 4] == 3.3  # the input is not changed
    assert np.array_equal(pin_truth_labels(labels[:, :4], names[:4], {"v_micro": 2.0}), labels[:, :4])


def test_kinds_of_a_wider_box_follow_the_bundles_box():
    labels = np.array([[17424.3, 3.3072, -0.8361], [15328.0, 2.9579, -0.2768], [9000.0, 4.0, 0.0]])
    kinds = ["in:v3-metal-poor", "in:v3-low-gravity", "out:metal-poor"]
    v2_box = [(6000, 25000), (3, 5), (-0.8, 0.8)]
    v3_box = [(6000, 30000), (2.5, 5), (-2.0, 0.8)]
    # the points file's verdict for the wider box does not survive a narrower bundle's box,
    # and a point it calls out stays out whatever the box
    assert point_kinds(labels, (labels, kinds), v2_box) == ["out:metal-poor", "out:low-gravity",
                                                           "out:metal-poor"]
    assert point_kinds(labels, (labels, kinds), v3_box) == ["in", "in", "out:metal-poor"]
    assert point_kinds(labels, (labels, kinds)) == ["in", "in", "out:metal-poor"]
