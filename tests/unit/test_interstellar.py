"""Interstellar lines and bands in the realistic observations."""

import numpy as np
import pytest

from zeta_payne.validation.interstellar import (
    INTERSTELLAR_FEATURES,
    interstellar_absorption,
    interstellar_equivalent_widths,
)
from zeta_payne.validation.observe import ObservationModel, observe_realistic

from .test_validation_observe import _model

# BOSS-like pixels: log-λ step 1e-4 dex, R = 2000
LAM = 10 ** np.arange(np.log10(3600.0), np.log10(10400.0), 1e-4)
FWHM = LAM / 2000.0


@pytest.mark.parametrize("ebv", [0.1, 0.5, 1.0, 2.0])
def test_the_absorbed_area_is_the_sum_of_the_equivalent_widths(ebv):
    absorbed = np.sum((1.0 - interstellar_absorption(LAM, FWHM, ebv)) * np.gradient(LAM))
    widths = interstellar_equivalent_widths(ebv)
    assert absorbed == pytest.approx(sum(widths.values()), rel=2e-3)
    assert set(widths) == {name for name, _, _ in INTERSTELLAR_FEATURES}


def test_strengths_grow_with_reddening_and_vanish_without_it():
    assert np.all(interstellar_absorption(LAM, FWHM, 0.0) == 1.0)
    weak, strong = interstellar_equivalent_widths(0.2), interstellar_equivalent_widths(0.8)
    assert all(strong[name] > weak[name] > 0 for name in weak)
    # the DIBs scale linearly; Na D saturates (Poznanski et al. 2012 flattens above ≈ 1 Å)
    assert strong["DIB 5780"] == pytest.approx(4 * weak["DIB 5780"])
    assert strong["Na I D2"] < 2 * weak["Na I D2"]
    assert interstellar_equivalent_widths(3.0)["Na I D2"] == interstellar_equivalent_widths(1.5)["Na I D2"]


def test_absorption_sits_at_the_features_only():
    t = interstellar_absorption(LAM, FWHM, 1.0)
    assert t.min() > 0.7  # shallow at R ≈ 2000
    far = np.ones(LAM.size, bool)
    for _, centre, intrinsic in INTERSTELLAR_FEATURES:
        far &= np.abs(LAM - centre) > 6 * np.hypot(intrinsic, centre / 2000.0)
    assert np.all(t[far] == 1.0) and np.all(t[~far] < 1.0 + 1e-12)
    nad = np.abs(LAM - 5891.58) < 1.0
    assert t[nad].min() < 0.9


def test_the_observation_option_changes_only_the_features_and_no_random_draw():
    """Off by default (the stored studies stay reproducible); on, the same draws give the
    same spectrum except near the features."""
    lam, flux, r_model = _model("boss")
    args = (lam, flux, r_model, "boss", 20000.0, 0.0, None)
    off, truth = observe_realistic(*args, np.random.default_rng(9))
    on, _ = observe_realistic(*args, np.random.default_rng(9), ObservationModel(interstellar=True))
    assert ObservationModel().interstellar is False
    w = off["wavelength"]
    near = np.zeros(w.size, bool)
    for _, centre, intrinsic in INTERSTELLAR_FEATURES:
        near |= np.abs(w - centre) < 6 * np.hypot(intrinsic, centre / 1500.0)
    ok = truth["usable"]
    # noiseless: away from the features the flux is the same (up to the exposure's scale;
    # the sky-subtraction residual scales with it, 1e-4 of the flux at the red end)
    scale = np.median(on["flux"][ok & ~near] / off["flux"][ok & ~near])
    top = np.max(np.abs(off["flux"][ok]))
    assert np.allclose(on["flux"][ok & ~near], scale * off["flux"][ok & ~near], rtol=1e-5, atol=3e-4 * top)
    dip = on["flux"][ok & near] / (scale * off["flux"][ok & near])
    if truth["ebv"] > 0.05:
        assert dip.min() < 0.99
