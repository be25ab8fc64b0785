"""Out-of-box detection (zeta_payne.fitting.outofbox) on constructed cases with the shipped BOSS bundle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import BOSS_WAVELENGTH, simulate
from zeta_payne.fitting.flags import BAD_MASK, ResultFlags
from zeta_payne.fitting.outofbox import OutOfBoxDiagnostics, diagnose, out_of_box_flags

REPO = Path(__file__).resolve().parents[2]
needs_boss = pytest.mark.skipif(
    not (REPO / "data" / "bundles" / "zeta-payne-boss").is_dir(), reason="no shipped BOSS bundle"
)
HALPHA = 6564.6


@pytest.fixture(scope="module")
def boss():
    from zeta_payne.bundles.registry import find_bundle

    return find_bundle("boss")


@pytest.fixture(scope="module")
def fitter(boss):
    from zeta_payne.fitting.fitter import Fitter

    return Fitter(boss)


def _labels(bundle, **values):
    values = {"v_micro": 2.0, **values}
    return np.array([values[s.name] for s in bundle.labels])


def _spectrum(lam, flux, ivar):
    from zeta_payne.spectrum import Spectrum

    return Spectrum(lam, flux, ivar)


def test_out_of_box_is_bad_and_reason_bits_are_warnings():
    assert ResultFlags.OUT_OF_BOX & BAD_MASK
    assert not ResultFlags.EMISSION & BAD_MASK
    assert not ResultFlags.LINE_MISMATCH & BAD_MASK
    assert out_of_box_flags(OutOfBoxDiagnostics(rchi2_rest=1.0)) == 0


def test_diagnose_on_pure_noise_around_a_line_free_model():
    lam = np.linspace(4500, 7400, 3000)
    rng = np.random.default_rng(1)
    model = np.full(lam.size, 10.0)
    flux = model + rng.normal(size=lam.size)
    d = diagnose(lam, flux, np.ones(lam.size), model, np.ones(lam.size, bool))
    assert 0.8 < d.rchi2_rest < 1.2
    assert all(0.5 < r < 2.0 for r in d.ratio.values())
    assert all(abs(b) < 0.5 for b in d.bias.values())
    assert out_of_box_flags(d, teff=9000.0) == 0
    # the ratios do not depend on the noise level being known: ivar × 9 changes nothing
    d9 = diagnose(lam, flux, np.full(lam.size, 9.0), model, np.ones(lam.size, bool))
    assert d9.ratio == pytest.approx(d.ratio) and d9.emission == pytest.approx(d.emission)


@needs_boss
def test_emulator_spectrum_not_flagged_and_emission_flagged(boss, fitter):
    spec = simulate(
        boss, BOSS_WAVELENGTH, _labels(boss, teff=9000.0, logg=4.0, v_sini=60.0, m_h=0.0), 0.0, snr=100
    )
    fit = fitter.fit(spec)
    assert not fit.flags & ResultFlags.OUT_OF_BOX, fit.flag_names
    # Hα emission (60 % above the local flux, σ = 2.5 Å) in the same spectrum
    bump = 1.0 + 0.6 * np.exp(-0.5 * ((BOSS_WAVELENGTH - HALPHA) / 2.5) ** 2)
    used = np.isfinite(fit.model_flux)
    d = diagnose(BOSS_WAVELENGTH, spec.flux * bump, spec.ivar, fit.model_flux, used, fit.v_rad)
    assert out_of_box_flags(d, teff=fit.labels[0]) & ResultFlags.EMISSION
    emission = fitter.fit(_spectrum(BOSS_WAVELENGTH, spec.flux * bump, spec.ivar))
    assert emission.flags & ResultFlags.EMISSION and emission.flags & ResultFlags.OUT_OF_BOX
    assert emission.flag_bad


@needs_boss
def test_composite_of_two_teff_flagged(boss, fitter):
    cool = simulate(
        boss, BOSS_WAVELENGTH, _labels(boss, teff=6500.0, logg=4.2, v_sini=20.0, m_h=0.0), 0.0, seed=5
    )
    hot = simulate(
        boss, BOSS_WAVELENGTH, _labels(boss, teff=20000.0, logg=4.0, v_sini=100.0, m_h=0.0), 0.0, seed=5
    )
    flux = cool.flux / np.median(cool.flux) + hot.flux / np.median(hot.flux)
    sigma = flux / 100.0
    noisy = flux + np.random.default_rng(0).normal(size=flux.size) * sigma
    fit = fitter.fit(_spectrum(BOSS_WAVELENGTH, noisy, 1.0 / sigma**2))
    assert fit.flags & ResultFlags.OUT_OF_BOX and fit.flags & ResultFlags.LINE_MISMATCH, fit.flag_names
