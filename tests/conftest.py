"""Shared fixtures: small toy bundles and synthetic spectra made by their forward model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

BOSS_WAVELENGTH = 10 ** (3.5523 + 1e-4 * np.arange(4648))
APOGEE_WAVELENGTH = 10 ** (4.179 + 6e-6 * np.arange(8575))


@pytest.fixture(scope="session")
def toy_boss(tmp_path_factory):
    """A small BOSS-like toy bundle (64 hidden units)."""
    from zeta_payne.bundles.toy import make_toy_bundle

    return make_toy_bundle(tmp_path_factory.mktemp("bundles") / "toy-boss", "boss", n_hidden=64)


@pytest.fixture(scope="session")
def toy_apogee(tmp_path_factory):
    """A small APOGEE-like toy bundle (64 hidden units)."""
    from zeta_payne.bundles.toy import make_toy_bundle

    return make_toy_bundle(tmp_path_factory.mktemp("bundles") / "toy-apogee", "apogee", n_hidden=64)


def simulate(bundle, wavelength, labels, v_rad, snr=None, seed=0, order=5, resolution=None):
    """A spectrum from the bundle's own forward model with a random Chebyshev response."""
    from zeta_payne.fitting.spectrum import Spectrum
    from zeta_payne.model.forward import ForwardModel
    from zeta_payne.model.response import random_response

    rng = np.random.default_rng(seed)
    r = resolution or bundle.manifest.fit_defaults["resolution"]
    lo, hi = bundle.manifest.fit_defaults["wavelength_range"]
    sel = (wavelength >= lo) & (wavelength <= hi)
    fm = ForwardModel(
        bundle.emulator(),
        bundle.grid,
        wavelength[sel],
        wavelength[sel] / r,
        np.ones((sel.sum(), 1)),
        rv_range=(-200, 200),
    )
    norm = np.ones(wavelength.size)
    norm[sel] = fm.normalized(labels, v_rad)
    flux = norm * random_response(wavelength, order, rng) * 100.0
    if snr is None:
        ivar = np.full(flux.size, 1e4 / 100.0**2)
        return Spectrum(wavelength, flux, ivar)
    sigma = flux / snr
    noisy = flux + rng.normal(size=flux.size) * sigma
    return Spectrum(wavelength, noisy, 1.0 / sigma**2)


@pytest.fixture(autouse=True)
def mwm_astra(tmp_path_factory, monkeypatch):
    """``$MWM_ASTRA`` of the test: where real ASTRA's models find mwm products (ingest links
    registered files there); never the user's own SAS tree."""
    root = tmp_path_factory.mktemp("mwm_astra")
    monkeypatch.setenv("MWM_ASTRA", str(root))
    return root
