"""Write a user-brought grid (GSSP output, the authors' NPZ) in the on-disk node-grid format.

The readers in :mod:`.importers` give an in-memory :class:`~.importers.ImportedGrid` in the
source's own medium and sampling. Training (``zeta-payne train --grid``), validation and
the demo read node grids from disk, so this module puts an imported grid on an
instrument's model wavelength grid — the same operation a synthesis campaign applies to
each SME spectrum: Gaussian to the model resolution, air → vacuum, resample — and writes
``manifest.json`` + ``<instrument>/chunk_XXXX.npz``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import GridError
from .format import (
    FWHM_TO_SIGMA,
    LABEL_NAMES,
    LABEL_UNITS,
    MODEL_GRIDS,
    SCHEMA,
    ModelWavelengthGrid,
    encode_flux,
    to_model_grid,
    write_chunk,
    write_json_atomic,
)
from .sme import vacuum_to_air

if TYPE_CHECKING:
    from .importers import ImportedGrid
    from .nodes import NodeGrid

__all__ = ["degrade_node_grid", "model_grid_within", "write_imported_grid"]

log = logging.getLogger(__name__)


def model_grid_within(
    instrument: str, wave_vacuum: np.ndarray, resolution: float | None = None
) -> ModelWavelengthGrid:
    """An instrument's model wavelength grid cut to what a source spectrum covers.

    Parameters
    ----------
    instrument : str
        ``"boss"`` or ``"apogee"`` (step and model resolution from :data:`MODEL_GRIDS`).
    wave_vacuum : numpy.ndarray, shape (n,)
        Source wavelengths [Å, vacuum].
    resolution : float, optional
        Model resolution R_model (default: the instrument's).

    Returns
    -------
    ModelWavelengthGrid
        Pixels on the instrument's log-λ step, inside the source coverage less the
        convolution margin (5σ of the R_model Gaussian).
    """
    if instrument not in MODEL_GRIDS:
        raise GridError(f"unknown instrument {instrument!r} (known: {sorted(MODEL_GRIDS)})")
    base = MODEL_GRIDS[instrument]
    r_model = float(resolution or base.R_model)
    margin = np.exp(5.0 * FWHM_TO_SIGMA / r_model) * 1.0001
    lo = max(float(np.min(wave_vacuum)) * margin, base.wavelength[0])
    hi = min(float(np.max(wave_vacuum)) / margin, base.wavelength[-1])
    if hi <= lo:
        raise GridError(
            f"the source ({np.min(wave_vacuum):.1f}-{np.max(wave_vacuum):.1f} Å) does not overlap "
            f"the {instrument} model range ({base.wavelength[0]:.1f}-{base.wavelength[-1]:.1f} Å)"
        )
    dlnlambda = base.log10_step * np.log(10.0)
    return ModelWavelengthGrid.from_range(instrument, lo, hi, dlnlambda, r_model)


def write_imported_grid(
    grid: ImportedGrid,
    out: str | Path,
    instrument: str,
    fixed: dict[str, float] | None = None,
    source_resolution: float | None = None,
    chunk_size: int = 10,
) -> dict:
    """Write an :class:`~.importers.ImportedGrid` as a node grid for one instrument.

    Parameters
    ----------
    grid : ImportedGrid
        Continuum-normalised spectra with labels including teff, logg and m_h.
    out : str or pathlib.Path
        New grid folder (must not exist or be empty); written atomically (a temporary
        folder renamed at the end).
    instrument : str
        Model wavelength grid to put the spectra on.
    fixed : dict, optional
        Values of the other labels to select (e.g. ``{"v_sini": 0, "v_micro": 2}``); the
        node grids hold non-rotating spectra, so a grid with a v sin i axis must select 0.
    source_resolution : float, optional
        Resolving power of the source spectra. ``None`` treats them as unbroadened (a
        synthesis); otherwise the Gaussian that takes them to R_model is applied.
    chunk_size : int
        Nodes per chunk file.

    Returns
    -------
    dict
        ``nodes``, ``npix``, ``wave_range`` [Å, vacuum], ``dropped`` (rows not selected).
    """
    out = Path(out)
    fixed = dict(fixed or {})
    names = tuple(grid.label_names)
    if "v_sini" in names and "v_sini" not in fixed and np.ptp(grid.labels[:, names.index("v_sini")]) > 0:
        raise GridError("the grid has a v_sini axis: select the non-rotating spectra with v_sini=0")
    nodes = grid.to_node_grid(fixed)
    if len(nodes) == 0:
        raise GridError(f"no spectra left after selecting {fixed}")
    keys = np.round(nodes.labels, 6)
    if len(np.unique(keys, axis=0)) != len(keys):
        raise GridError("two spectra share the same (teff, logg, m_h): select the other labels with `fixed`")
    wave = np.asarray(nodes.wavelength, dtype=float)
    order = np.argsort(wave)
    wave = wave[order]
    flux = np.asarray(nodes.flux, dtype=float)[:, order]
    if grid.medium == "vacuum":
        wave_vac, wave_air = wave, vacuum_to_air(wave)
    else:
        from .sme import air_to_vacuum

        wave_vac, wave_air = air_to_vacuum(wave), wave
    model = model_grid_within(instrument, wave_vac)
    smoothing = model
    if source_resolution is not None:
        if source_resolution <= model.R_model:
            raise GridError(
                f"source resolution {source_resolution:g} is not above the model resolution "
                f"{model.R_model:g}: the spectra cannot be put on this instrument's model grid"
            )
        r_eff = 1.0 / np.sqrt(1.0 / model.R_model**2 - 1.0 / source_resolution**2)
        smoothing = replace(model, R_model=float(r_eff))
    bad = ~np.all(np.isfinite(flux), axis=1)
    if bad.any():
        raise GridError(f"{int(bad.sum())} spectra have non-finite flux (e.g. labels {nodes.labels[bad][0]})")

    if out.exists() and any(out.iterdir()):
        raise GridError(f"{out} exists and is not empty")
    tmp = out.with_name(f".tmp_{out.name}")
    if tmp.exists():
        shutil.rmtree(tmp)
    for start in range(0, len(nodes), chunk_size):
        rows = range(start, min(start + chunk_size, len(nodes)))
        on_grid = np.array([to_model_grid(smoothing, wave_air, flux[i]) for i in rows])
        write_chunk(tmp / instrument / f"chunk_{start // chunk_size:04d}.npz", nodes.labels[list(rows)],
                    encode_flux(on_grid), np.zeros(len(rows)))
    other = {n: float(grid.labels[0, i]) for i, n in enumerate(names) if n not in LABEL_NAMES}
    other.update(fixed)
    axes = {n: sorted({float(v) for v in nodes.labels[:, j]}) for j, n in enumerate(LABEL_NAMES)}
    manifest = {
        "schema": SCHEMA,
        "name": out.name,
        "label_names": list(LABEL_NAMES),
        "label_units": LABEL_UNITS,
        "fixed_labels": {"v_micro": other.get("v_micro", 2.0), "v_sini": 0.0},
        "instruments": {instrument: model.to_dict()},
        "node_axes": axes,
        "levels": [axes],
        "provenance": {
            "synthesis": f"imported from {grid.meta.get('source', 'a user grid')}",
            "source_medium": grid.medium,
            "source_resolution": source_resolution,
            "selected": fixed,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    }
    write_json_atomic(tmp / "manifest.json", manifest)
    if out.exists():
        out.rmdir()
    tmp.rename(out)
    wave_range = (float(model.wavelength[0]), float(model.wavelength[-1]))
    dropped = len(grid) - len(nodes)
    return {"nodes": len(nodes), "npix": model.npix, "wave_range": wave_range, "dropped": dropped}


def degrade_node_grid(source: NodeGrid, source_resolution: float, wavelength: np.ndarray,
                      resolution: float) -> NodeGrid:
    """A node grid stored at a higher resolution, seen at a model grid's resolution and pixels.

    What a held-out synthesis set (the synthesis-truth sets are stored at BOSS R 20,000 and
    APOGEE R 80,000) looks like on a training grid's wavelengths (R 6,000 / 60,000): each
    spectrum is convolved with the Gaussian that takes ``source_resolution`` to
    ``resolution`` and interpolated linearly onto ``wavelength`` (both vacuum, uniform in
    ln λ).

    Parameters
    ----------
    source : NodeGrid
        Spectra on a uniform ln λ grid.
    source_resolution : float
        Resolving power they are stored at.
    wavelength : numpy.ndarray, shape (npix,)
        Target wavelengths [Å, vacuum]; pixels outside the source's range are NaN (the grids'
        ends differ by a fraction of a pixel).
    resolution : float
        Target resolving power (< ``source_resolution``).

    Returns
    -------
    NodeGrid
        Same labels, levels and manifest; flux of shape (N, npix).

    Raises
    ------
    GridError
        If the target resolution is not below the source's or the ranges do not overlap.
    """
    from .format import gaussian_smooth_loglam
    from .nodes import NodeGrid

    if not resolution < source_resolution:
        raise GridError(f"cannot degrade R {source_resolution:g} to R {resolution:g}")
    wavelength = np.asarray(wavelength, dtype=float)
    if wavelength[-1] <= source.wavelength[0] or wavelength[0] >= source.wavelength[-1]:
        raise GridError(
            f"target {wavelength[0]:.1f}–{wavelength[-1]:.1f} Å does not overlap the source's "
            f"{source.wavelength[0]:.1f}–{source.wavelength[-1]:.1f} Å")
    step = float(np.median(np.diff(np.log(source.wavelength))))
    kernel_resolution = 1.0 / np.sqrt(1.0 / resolution**2 - 1.0 / source_resolution**2)
    flux = np.empty((len(source), wavelength.size), dtype=np.float32)
    for i in range(len(source)):
        smooth = gaussian_smooth_loglam(source.flux[i], step, kernel_resolution)
        flux[i] = np.interp(np.log(wavelength), np.log(source.wavelength), smooth,
                            left=np.nan, right=np.nan)
    return NodeGrid(labels=source.labels, wavelength=wavelength, flux=flux,
                    manifest=source.manifest, medium=source.medium, levels=source.levels,
                    seconds=source.seconds)
