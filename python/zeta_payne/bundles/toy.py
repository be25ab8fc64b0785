"""A synthetic bundle with line-like spectra, for tests and benchmarks.

Its network has random hidden layers and an output layer made of Gaussian absorption
profiles, so its spectra look like a continuum with lines whose depths depend non-linearly
on the labels. It is *not* physics: use it to exercise the machinery, never for science.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from zeta_payne.bundles.bundle import Bundle, save_bundle
from zeta_payne.bundles.manifest import INSTRUMENT_DEFAULTS, LabelSpec, Manifest
from zeta_payne.model.emulator import EmulatorWeights

__all__ = ["make_toy_bundle", "toy_weights", "TOY_LABELS"]

#: Labels of the toy bundle (the paper's box, v_micro fixed at 2 km/s).
TOY_LABELS: tuple[LabelSpec, ...] = (
    LabelSpec("teff", "K", 6000.0, 25000.0, 6000.0, 25000.0),
    LabelSpec("logg", "dex", 3.0, 5.0, 3.0, 5.0),
    LabelSpec("v_sini", "km/s", 0.0, 400.0, 0.0, 400.0),
    LabelSpec("v_micro", "km/s", 0.0, 4.0, 0.0, 4.0, free=False, value=2.0),
    LabelSpec("m_h", "dex", -0.8, 0.8, -0.8, 0.8),
)


def toy_weights(
    wavelength: np.ndarray,
    n_hidden: int,
    n_lines: int,
    n_labels: int,
    seed: int,
    x_min: npt.ArrayLike,
    x_max: npt.ArrayLike,
) -> EmulatorWeights:
    """Random emulator weights whose outputs are sums of Gaussian lines.

    Parameters
    ----------
    wavelength : numpy.ndarray, shape (P,)
        Model wavelengths [Å].
    n_hidden : int
        Hidden width H.
    n_lines : int
        Number of absorption lines.
    n_labels : int
        Number of input labels L.
    seed : int
        Random seed.
    x_min, x_max : array_like, shape (L,)
        Scaling box.
    """
    rng = np.random.default_rng(seed)
    lam = np.asarray(wavelength, dtype=float)
    w0 = rng.normal(0, 2.0, (n_hidden, n_labels))
    b0 = rng.normal(0, 0.5, n_hidden)
    w1 = rng.normal(0, 1.0 / np.sqrt(n_hidden), (n_hidden, n_hidden))
    b1 = rng.normal(0, 0.2, n_hidden)
    centres = rng.uniform(lam[0], lam[-1], n_lines)
    widths = centres / rng.uniform(3000, 30000, n_lines)  # σ in Å
    profiles = np.exp(-0.5 * ((lam[:, None] - centres[None, :]) / widths[None, :]) ** 2)  # (P, K)
    mix = rng.normal(0, 1.0, (n_lines, n_hidden)) / np.sqrt(n_hidden)
    w2 = -0.15 * profiles @ mix  # (P, H)
    b2 = 1.0 - 0.2 * profiles @ rng.uniform(0.1, 1.0, n_lines)
    return EmulatorWeights(
        weights=(w0, w1, w2),
        biases=(b0, b1, b2),
        x_min=np.asarray(x_min, dtype=float),
        x_max=np.asarray(x_max, dtype=float),
    )


def make_toy_bundle(
    path: str | os.PathLike,
    instrument: str = "boss",
    n_pixels: int | None = None,
    n_hidden: int = 64,
    resolution: float | None = None,
    n_lines: int | None = None,
    seed: int = 1,
) -> Bundle:
    """Write a toy bundle for ``instrument`` ("boss" or "apogee") and return it loaded.

    The model grid spans the instrument's default fitted range (plus 1 %), uniform in
    ln λ; ``resolution`` defaults to 3× (BOSS) or 2.7× (APOGEE) the instrument's.
    """
    defaults = INSTRUMENT_DEFAULTS[instrument]
    lo, hi = defaults["wavelength_range"]
    r_inst = defaults["resolution"]
    if resolution is None:
        resolution = 3.0 * r_inst if instrument == "boss" else 60000.0
    if n_pixels is None:
        n_pixels = int(np.ceil(np.log(hi * 1.01 / (lo * 0.99)) * resolution * 3.0))
    loglam = np.linspace(np.log(lo * 0.99), np.log(hi * 1.01), n_pixels)
    lam = np.exp(loglam)
    if n_lines is None:
        n_lines = max(20, n_pixels // 40)
    x_min = [s.x_min for s in TOY_LABELS]
    x_max = [s.x_max for s in TOY_LABELS]
    weights = toy_weights(lam, n_hidden, n_lines, len(TOY_LABELS), seed, x_min, x_max)
    manifest = Manifest(
        name=f"toy-{instrument}",
        version="0.0.1",
        instrument=instrument,
        labels=TOY_LABELS,
        wavelength={
            "medium": "vacuum",
            "loglam0": float(loglam[0]),
            "delta": float(loglam[1] - loglam[0]),
            "n_pixels": int(n_pixels),
            "resolution": float(resolution),
        },
        network={},
        fit_defaults={**defaults, "n_chebyshev": 15, "presearch_points": 4000, "rv_range": [-50.0, 50.0]},
        provenance={"kind": "toy", "note": "random line-like weights; not physics", "seed": seed},
    )
    return save_bundle(path, manifest, weights, overwrite=True)
