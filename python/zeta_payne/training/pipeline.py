"""From a node grid to a bundle: training set, training, accuracy report, bundle.

:func:`train_bundle` runs the steps, each in its own module: the inputs
(:mod:`~zeta_payne.training.inputs`: lattice, generator, pixels, box), the training
(:mod:`~zeta_payne.training.trainer`), the accuracy measurements
(:mod:`~zeta_payne.training.accuracy`), the bundle's record (:mod:`~zeta_payne.training.record`:
provenance, manifest, fit defaults from :mod:`~zeta_payne.training.fit_defaults`) and its report
(:mod:`~zeta_payne.training.report`). The names long imported from here still are.

The labels are teff, logg, v_sini, m_h (:data:`LABELS`), and v_micro after them when the
grid's v_micro response grids are given (:mod:`zeta_payne.grids.vmicro`); the box is the
paper's within the lattice on disk (the shipped bundles) or the grid's node axes
(:func:`training_box`).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from zeta_payne.bundles.bundle import Bundle, save_bundle
from zeta_payne.grids.nodes import complete_lattice
from zeta_payne.model.emulator import Emulator, EmulatorWeights
from zeta_payne.training.accuracy import (
    HOLDOUT_TEFF_REGIONS,
    emulator_errors,
    holdout_errors,
    holdout_markdown,
    holdout_on_grid,
    node_interpolation_errors,
)
from zeta_payne.training.fit_defaults import (
    HOT_BLUE_LIMIT,
    HOT_TEFF,
    INTERSTELLAR_BANDS,
    NO_JUMP_BLUE_LIMIT,
    PASCHEN_EDGE,
    UNCONSTRAINED_ERROR,
    default_fit_range,
    hot_fit_range,
    hot_interstellar_mask,
    jump_segments,
)
from zeta_payne.training.inputs import TrainingInputs, build_training_set, prepare_inputs
from zeta_payne.training.labels import LABELS, UNITS
from zeta_payne.training.record import Measured, bundle_manifest, bundle_provenance
from zeta_payne.training.report import accuracy_report
from zeta_payne.training.sampling import split_indices, training_labels
from zeta_payne.training.spec import TrainingSpec, training_box
from zeta_payne.training.trainer import TrainConfig, train_emulator

__all__ = [
    "HOLDOUT_TEFF_REGIONS",
    "HOT_BLUE_LIMIT",
    "HOT_TEFF",
    "INTERSTELLAR_BANDS",
    "LABELS",
    "NO_JUMP_BLUE_LIMIT",
    "PASCHEN_EDGE",
    "UNCONSTRAINED_ERROR",
    "UNITS",
    "TrainingSpec",
    "build_training_set",
    "complete_lattice",
    "default_fit_range",
    "emulator_errors",
    "holdout_errors",
    "holdout_markdown",
    "holdout_on_grid",
    "hot_fit_range",
    "hot_interstellar_mask",
    "jump_segments",
    "node_interpolation_errors",
    "train_bundle",
    "training_box",
]

log = logging.getLogger(__name__)


def train_bundle(
    grid_path: str | Path,
    spec: TrainingSpec,
    config: TrainConfig,
    out: str | Path,
    checkpoint: str | Path | None = None,
    progress: Callable[[int, float, float], None] | None = None,
    initial: Bundle | None = None,
) -> Bundle:
    """Train a bundle for ``spec.instrument`` from the node grid at ``grid_path``.

    Parameters
    ----------
    grid_path : str or pathlib.Path
        The node grid's folder.
    spec, config : TrainingSpec, TrainConfig
        What to train (training set, box, lattice, v_micro, jump factors, held-out grid) and
        how (network size, iterations, learning rate, plateau stop, device).
    out : str or pathlib.Path
        The bundle's folder (replaced).
    checkpoint : str or pathlib.Path, optional
        Where the training keeps its state; a run stopped by its time budget resumes there.
    progress : callable, optional
        Called with (iteration, train loss, validation MAE) at each validation.
    initial : Bundle, optional
        A bundle of the same shape to warm-start from (its name and version are recorded in
        the provenance).

    Returns
    -------
    Bundle
        The saved bundle.

    Raises
    ------
    ValueError
        Fewer than 20 training spectra could be made, or the inputs are inconsistent
        (:func:`~zeta_payne.training.inputs.prepare_inputs`).
    """
    inputs = prepare_inputs(grid_path, spec)
    labels, flux, n_dropped = _training_set(inputs, spec)
    train, valid = split_indices(len(labels), spec.validation_fraction, spec.seed)
    log.info("training %s on %d spectra × %d pixels", spec.name, len(train), flux.shape[1])
    outcome = train_emulator(
        labels[train],
        flux[train],
        labels[valid],
        flux[valid],
        np.array([inputs.box[n][0] for n in inputs.label_names]),
        np.array([inputs.box[n][1] for n in inputs.label_names]),
        config,
        checkpoint=checkpoint,
        progress=progress,
        initial=None if initial is None else initial.weights,
    )
    weights, rounding = outcome.weights, None
    if spec.output_layer_dtype == "float16":
        rounded = _round_output_layer(weights)
        rounding = {"max_abs_difference": _max_difference(weights, rounded, labels[valid])}
        weights = rounded
    measured = _measure(inputs, spec, weights, labels[valid], flux[valid], rounding)
    counts = {"n_train": len(train), "n_valid": len(valid), "n_dropped": n_dropped}
    provenance = bundle_provenance(inputs, spec, config, outcome, counts, measured, initial)
    manifest = bundle_manifest(inputs, spec, config, provenance)
    extra = accuracy_report(spec, outcome, measured.errors, measured.interp, inputs.wavelength,
                            provenance, measured.held)
    extra["training_labels.npy"] = _npy(labels[train])
    extra["training_history.json"] = json.dumps(outcome.history).encode()
    return save_bundle(out, manifest, weights, overwrite=True, extra_files=extra,
                       storage_dtype=spec.output_layer_dtype)


def _training_set(inputs: TrainingInputs, spec: TrainingSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """The training labels (Sobol + Gaussian, seeded) and their spectra; the count dropped."""
    labels = training_labels(inputs.label_names, inputs.box, spec.n_sobol, spec.n_gauss, seed=spec.seed)
    n_requested = len(labels)
    labels, flux = build_training_set(inputs.generator, labels, inputs.pixels)
    if len(labels) < n_requested:
        log.warning("%d of %d training labels lie in cells the grid cannot interpolate: dropped",
                    n_requested - len(labels), n_requested)
    if len(labels) < 20:
        raise ValueError(f"only {len(labels)} training spectra could be made from {inputs.grid_path}")
    return labels, flux, n_requested - len(labels)


def _measure(
    inputs: TrainingInputs,
    spec: TrainingSpec,
    weights: EmulatorWeights,
    labels: np.ndarray,
    flux: np.ndarray,
    rounding: dict | None,
) -> Measured:
    """The trained network's errors on the validation set (``labels``, ``flux``), the lattice's
    node interpolation, and both against the held-out grid when the spec names one."""
    errors = emulator_errors(weights, labels, flux, inputs.label_names, inputs.box)
    interp = node_interpolation_errors(inputs.grid, inputs.pixels)
    held = None
    if spec.holdout_grid:
        response = inputs.response
        held = holdout_errors(inputs.grid, weights,
                              holdout_on_grid(spec.holdout_grid, spec.instrument, inputs.grid),
                              inputs.pixels, inputs.label_names,
                              None if response is None else {"v_micro": response.reference},
                              continuum=inputs.continuum)
        if held["emulator"]:
            log.info("held-out nodes: interpolation median %.5f, emulator median %.5f",
                     held["interpolation"]["median"], held["emulator"]["median"])
    return Measured(errors=errors, interp=interp, held=held, rounding=rounding)


def _round_output_layer(weights: EmulatorWeights) -> EmulatorWeights:
    """The network with its output layer rounded to float16 (as a float16 bundle stores it)."""
    ws = list(weights.weights)
    ws[-1] = np.asarray(ws[-1], dtype=np.float16).astype(np.float32)
    return EmulatorWeights(weights=tuple(ws), biases=weights.biases, x_min=weights.x_min,
                           x_max=weights.x_max)


def _max_difference(a: EmulatorWeights, b: EmulatorWeights, x: np.ndarray) -> float:
    """max |flux_a − flux_b| over the spectra at labels ``x``."""
    with torch.no_grad():
        xa = torch.as_tensor(x, dtype=torch.float32)
        fa = Emulator.from_weights(a).requires_grad_(False)(xa)
        fb = Emulator.from_weights(b).requires_grad_(False)(xa)
    return float((fa - fb).abs().max())


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.asarray(array, dtype=np.float64), allow_pickle=False)
    return buf.getvalue()
