"""The compact node-spectrum format: model wavelength grids, uint16 flux, chunk files.

A node grid lives in a folder ``<root>/<grid-name>/``::

    manifest.json                 # one per grid (schema below)
    boss/chunk_0000.npz           # labels (n, 3) float64; flux (n, npix) uint16; seconds (n,)
    apogee/chunk_0000.npz
    campaign.log

Flux is continuum-normalised, convolved with a Gaussian to the model resolution R_model,
sampled on a vacuum log-λ grid, and stored as ``round(flux × FLUX_SCALE)`` clipped to the
uint16 range (so 0 ≤ flux ≤ 1.31; resolution 2e-5).

Manifest keys (``"schema": "zeta-payne/node-grid/1"``): ``name``; ``label_names``
(``["teff", "logg", "m_h"]``); ``label_units``; ``fixed_labels`` (``{"v_micro": 2.0,
"v_sini": 0.0}``); ``instruments``: ``{name: {"wave_start", "log10_step", "npix",
"medium": "vacuum", "R_model", "flux_scale", "dtype": "uint16"}}``; ``node_axes``:
``{"teff": [...], ...}`` (the finest lattice); ``levels``: list of ``{"teff": [...],
"logg": [...], "m_h": [...]}`` from coarse to fine; optionally ``patches``: list of
``{"teff": [...], "logg": [...], "m_h": [...], "instruments": [...], "of_level": k}``, a level
refined over a sub-box for some instruments (:mod:`zeta_payne.grids.patch`); ``provenance``: package versions,
line-list file and sha256, atmosphere source, synthesis sampling, date.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from ..exceptions import GridError

__all__ = [
    "SCHEMA",
    "FLUX_SCALE",
    "LABEL_NAMES",
    "LABEL_UNITS",
    "ModelWavelengthGrid",
    "BOSS_MODEL_GRID",
    "APOGEE_MODEL_GRID",
    "MODEL_GRIDS",
    "encode_flux",
    "decode_flux",
    "gaussian_smooth_loglam",
    "to_model_grid",
    "write_chunk",
    "read_chunk",
    "write_json_atomic",
]

SCHEMA = "zeta-payne/node-grid/1"
FLUX_SCALE = 50000.0
LABEL_NAMES = ("teff", "logg", "m_h")
LABEL_UNITS = {"teff": "K", "logg": "dex (cgs)", "m_h": "dex"}
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass(frozen=True)
class ModelWavelengthGrid:
    """A vacuum log-λ model wavelength grid at resolution ``R_model``.

    Attributes
    ----------
    name : str
        Instrument name (``"boss"``, ``"apogee"``).
    wave_start : float
        First pixel [Å, vacuum].
    log10_step : float
        Pixel step in log10 λ.
    npix : int
        Number of pixels.
    R_model : float
        Resolving power λ/FWHM of the Gaussian the node spectra are convolved with.
    medium : str
        Always ``"vacuum"``.
    flux_scale : float
        uint16 encoding scale.
    """

    name: str
    wave_start: float
    log10_step: float
    npix: int
    R_model: float
    medium: str = "vacuum"
    flux_scale: float = FLUX_SCALE

    @classmethod
    def from_range(
        cls, name: str, start: float, stop: float, dlnlambda: float, r_model: float
    ) -> ModelWavelengthGrid:
        """Grid from ``start`` to at most ``stop`` [Å, vacuum] with step ``dlnlambda`` in ln λ."""
        npix = int(np.floor(np.log(stop / start) / dlnlambda)) + 1
        return cls(name, float(start), float(dlnlambda / np.log(10.0)), npix, float(r_model))

    @property
    def wavelength(self) -> np.ndarray:
        """Pixel wavelengths [Å, vacuum], shape (npix,)."""
        return self.wave_start * 10.0 ** (self.log10_step * np.arange(self.npix))

    def to_dict(self) -> dict:
        """JSON-serialisable form (with ``"dtype": "uint16"``)."""
        d = asdict(self)
        d["dtype"] = "uint16"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelWavelengthGrid:
        """Inverse of :meth:`to_dict`."""
        keys = ("name", "wave_start", "log10_step", "npix", "R_model", "medium", "flux_scale")
        return cls(**{k: d[k] for k in keys})


#: BOSS: vacuum 3600–10400 Å, R_model 6000, 3 pixels per FWHM (Δ ln λ = 1/18000).
BOSS_MODEL_GRID = ModelWavelengthGrid.from_range("boss", 3600.0, 10400.0, 1.0 / 18000.0, 6000.0)
#: APOGEE: vacuum 15050–17050 Å, R_model 60000, Δ ln λ = 1/180000.
APOGEE_MODEL_GRID = ModelWavelengthGrid.from_range(
    "apogee", 15050.0, 17050.0, 1.0 / 180000.0, 60000.0
)
MODEL_GRIDS = {"boss": BOSS_MODEL_GRID, "apogee": APOGEE_MODEL_GRID}


def encode_flux(flux: np.ndarray, scale: float = FLUX_SCALE) -> np.ndarray:
    """Normalised flux → uint16 (``round(flux × scale)``, clipped to 0…65535)."""
    return np.clip(np.rint(np.asarray(flux) * scale), 0, 65535).astype(np.uint16)


def decode_flux(flux: np.ndarray, scale: float = FLUX_SCALE) -> np.ndarray:
    """uint16 → float32 normalised flux."""
    return (np.asarray(flux, dtype=np.float32) / np.float32(scale)).astype(np.float32)


def gaussian_smooth_loglam(flux: np.ndarray, dlnlambda: float, resolution: float) -> np.ndarray:
    """Convolve a spectrum sampled uniformly in ln λ with a Gaussian of FWHM λ/R.

    Parameters
    ----------
    flux : numpy.ndarray, shape (..., n)
        Spectra on a uniform ln λ grid.
    dlnlambda : float
        Grid step in ln λ.
    resolution : float
        Resolving power R.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        Smoothed spectra. The line depth 1 − flux is convolved, so beyond the array ends the
        continuum (1) is assumed (pixels within 5σ of the ends are approximate and should be
        discarded). The kernel is normalised, so equivalent widths are kept.
    """
    sigma = FWHM_TO_SIGMA / resolution / dlnlambda  # pixels
    half = int(np.ceil(5.0 * sigma))
    x = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    shape = (1,) * (np.ndim(flux) - 1) + (kernel.size,)
    depth = 1.0 - np.asarray(flux, dtype=float)
    return 1.0 - fftconvolve(depth, kernel.reshape(shape), mode="same", axes=-1)


def to_model_grid(
    grid: ModelWavelengthGrid,
    wave_air: np.ndarray,
    flux: np.ndarray,
) -> np.ndarray:
    """Put a synthesized spectrum onto a model grid: Gaussian to R_model, air → vacuum, resample.

    Parameters
    ----------
    grid : ModelWavelengthGrid
    wave_air : numpy.ndarray, shape (n,)
        Synthesis wavelengths [Å, air], uniform in ln λ (as :func:`~.sme.synthesize_node`
        returns them; segments concatenated without gaps).
    flux : numpy.ndarray, shape (n,)
        Continuum-normalised flux.

    Returns
    -------
    numpy.ndarray, shape (grid.npix,)
        Flux on the model grid (float64).

    Raises
    ------
    GridError
        If the synthesized range does not cover the model grid plus the kernel margin.
    """
    from .sme import vacuum_to_air

    wave_air = np.asarray(wave_air, dtype=float)
    lnw = np.log(wave_air)
    steps = np.diff(lnw)
    step = float(np.median(steps))
    if np.max(np.abs(steps - step)) > 0.01 * step:
        # Segments may have tiny joins: resample onto one uniform ln λ grid first.
        n = int(np.floor((lnw[-1] - lnw[0]) / step)) + 1
        uniform = lnw[0] + step * np.arange(n)
        flux = np.interp(uniform, lnw, flux)
        lnw = uniform
    smooth = gaussian_smooth_loglam(flux, step, grid.R_model)
    target = np.log(vacuum_to_air(grid.wavelength))
    margin = 5.0 * FWHM_TO_SIGMA / grid.R_model
    if target[0] < lnw[0] + margin or target[-1] > lnw[-1] - margin:
        raise GridError(
            f"synthesis {np.exp(lnw[0]):.1f}-{np.exp(lnw[-1]):.1f} Å (air) does not cover the "
            f"{grid.name} model grid plus the convolution margin"
        )
    return np.interp(target, lnw, smooth)


def write_chunk(
    path: Path, labels: np.ndarray, flux_uint16: np.ndarray, seconds: np.ndarray
) -> None:
    """Write one chunk file atomically (compressed NPZ; temporary file + rename).

    Parameters
    ----------
    path : pathlib.Path
        Target ``chunk_XXXX.npz``.
    labels : numpy.ndarray, shape (n, 3)
        teff [K], logg, m_h.
    flux_uint16 : numpy.ndarray, shape (n, npix), uint16
    seconds : numpy.ndarray, shape (n,)
        Synthesis cost of each node [CPU s].
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 3)
    flux_uint16 = np.asarray(flux_uint16)
    if flux_uint16.dtype != np.uint16 or flux_uint16.shape[0] != labels.shape[0]:
        raise GridError("chunk flux must be uint16 with one row per label row")
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, labels=labels, flux=flux_uint16,
                                seconds=np.asarray(seconds, dtype=np.float64))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_chunk(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a chunk file: (labels (n, 3), flux uint16 (n, npix), seconds (n,))."""
    with np.load(path) as z:
        return z["labels"], z["flux"], z["seconds"]


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".json", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
