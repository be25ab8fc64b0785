"""What a trained bundle records of its making: provenance, label specs and fit defaults.

:func:`bundle_provenance` is the JSON-ready account of the grid, the training, the box, the
v_micro response, the jump factors and the measured accuracy; :func:`bundle_manifest` is the
bundle's manifest — its labels, pixels, network size and the fit defaults a bundle trained on
these inputs starts with (:mod:`~zeta_payne.training.fit_defaults`).
"""

from __future__ import annotations

import datetime
import platform
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from zeta_payne import __version__
from zeta_payne.bundles.manifest import INSTRUMENT_DEFAULTS, LabelSpec, Manifest
from zeta_payne.training.fit_defaults import (
    UNCONSTRAINED_ERROR,
    default_fit_range,
    hot_fit_range,
    hot_interstellar_mask,
    jump_segments,
)
from zeta_payne.training.inputs import TrainingInputs
from zeta_payne.training.labels import UNITS
from zeta_payne.training.spec import TrainingSpec
from zeta_payne.training.trainer import TrainConfig, TrainOutcome

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle
    from zeta_payne.grids.vmicro import VMicroResponse

__all__ = ["Measured", "bundle_manifest", "bundle_provenance"]


@dataclass(frozen=True)
class Measured:
    """The accuracy measured after training.

    Attributes
    ----------
    errors : dict
        The emulator on the validation set (:func:`~zeta_payne.training.accuracy.emulator_errors`).
    interp : dict
        The lattice's node interpolation (:func:`~zeta_payne.training.accuracy.node_interpolation_errors`).
    held : dict or None
        Against the held-out grid (:func:`~zeta_payne.training.accuracy.holdout_errors`).
    rounding : dict or None
        ``max_abs_difference`` of the float16 output layer [flux, continuum = 1].
    """

    errors: dict
    interp: dict
    held: dict | None
    rounding: dict | None


def bundle_provenance(
    inputs: TrainingInputs,
    spec: TrainingSpec,
    config: TrainConfig,
    outcome: TrainOutcome,
    counts: dict[str, int],
    measured: Measured,
    initial: Bundle | None = None,
) -> dict:
    """The provenance a trained bundle's manifest carries (JSON-ready).

    Parameters
    ----------
    inputs : TrainingInputs
        What was trained on.
    spec, config : TrainingSpec, TrainConfig
        What was asked for (recorded in full under ``training``).
    outcome : TrainOutcome
        How the training went: seconds, device, best score and iteration, stop reason.
    counts : dict
        ``n_train``, ``n_valid`` and ``n_dropped`` (labels in cells the grid cannot serve).
    measured : Measured
        The accuracy measured after training.
    initial : Bundle, optional
        The bundle it was warm-started from.
    """
    response, continuum, grid = inputs.response, inputs.continuum, inputs.grid
    errors, interp, held, rounding = measured.errors, measured.interp, measured.held, measured.rounding
    return {
        "kind": "trained",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "software": {
            "zeta_payne": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "grid": {
            "name": inputs.grid_path.name,
            "path": str(inputs.grid_path),
            "manifest_sha256": inputs.grid_sha256,
            "n_nodes": int(len(grid)),
            "R_model": inputs.generator.resolution,
            "synthesis": (grid.manifest or {}).get("provenance", {}),
            "holdout_grid": str(spec.holdout_grid) if spec.holdout_grid else None,
        },
        "grid_path": str(inputs.grid_path),
        "warm_start": None if initial is None else {
            "name": initial.name, "version": initial.version, "sha256": initial.sha256,
            # a box other than this one's: the first layer was rescaled exactly to it
            "x_min": np.asarray(initial.weights.x_min, dtype=float).tolist(),
            "x_max": np.asarray(initial.weights.x_max, dtype=float).tolist(),
        },
        "training": {
            **asdict(spec),
            **{f"config_{k}": v for k, v in asdict(config).items()},
            "n_train": int(counts["n_train"]),
            "n_valid": int(counts["n_valid"]),
            "n_dropped": int(counts["n_dropped"]),
            "seconds": outcome.seconds,
            "device": outcome.device,
            "best_validation_mae": outcome.best_score,
            "best_iteration": outcome.best_iteration,
            "stop_reason": outcome.stop_reason,
            "stopped_at_iteration": outcome.iterations_done,
        },
        "box": {name: list(inputs.box[name]) for name in inputs.label_names},
        "vmicro_response": None if response is None else _vmicro_summary(response, inputs.pixels, spec),
        "continuum": None if continuum is None else {
            "grid": str(spec.continuum_grid),
            "n_nodes": int(len(continuum)),
            "quantity": (continuum.manifest or {}).get("provenance", {}).get("quantity"),
        },
        "accuracy": {
            "emulator_median": errors["median"],
            "emulator_p95": errors["p95"],
            # null, not NaN, when not measured: NaN is not JSON
            "node_interpolation_median": interp["median"] if interp["n_nodes"] else None,
            "node_interpolation_p95": interp["p95"] if interp["n_nodes"] else None,
            "node_interpolation_nodes": interp["n_nodes"],
            "holdout": None if held is None else {
                k: held[k] for k in ("interpolation", "emulator", "regions")},
            "output_layer_dtype": spec.output_layer_dtype,
            "float16_max_abs_difference": None if rounding is None else rounding["max_abs_difference"],
        },
    }


def bundle_manifest(
    inputs: TrainingInputs, spec: TrainingSpec, config: TrainConfig, provenance: dict
) -> Manifest:
    """The trained bundle's manifest: labels and box, pixels, network size, fit defaults."""
    response, box, wl = inputs.response, inputs.box, inputs.wavelength
    specs = tuple(
        LabelSpec(n, UNITS[n], box[n][0], box[n][1], box[n][0], box[n][1],
                  value=response.reference if n == "v_micro" else None)
        for n in inputs.label_names
    )
    jumps = inputs.continuum is not None
    fit_range, n_chebyshev = default_fit_range(spec.instrument, float(wl[0]), float(wl[-1]), jumps=jumps)
    return Manifest(
        name=spec.name,
        version=spec.version,
        instrument=spec.instrument,
        labels=specs,
        wavelength={
            "medium": "vacuum",
            "loglam0": float(np.log(wl[0])),
            "delta": float(np.log(wl[-1] / wl[0]) / (wl.size - 1)),
            "n_pixels": int(wl.size),
            "resolution": inputs.generator.resolution,
        },
        network={"n_hidden": config.n_hidden},
        fit_defaults={
            **INSTRUMENT_DEFAULTS[spec.instrument],
            "wavelength_range": fit_range,
            "n_chebyshev": n_chebyshev,
            "presearch_points": 4000,
            "rv_range": [-50.0, 50.0],
            **({} if response is None else {"hold_outside": {"v_micro": {
                "label": "teff", "range": list(response.teff_range), "value": response.reference}}}),
            **({"logg_floor": [list(cell) for cell in inputs.floor]} if inputs.floor else {}),
            **hot_fit_range(spec.instrument, fit_range),
            **hot_interstellar_mask(spec.instrument),
            **jump_segments(spec.instrument, fit_range, jumps=jumps),
            "unconstrained_error": dict(UNCONSTRAINED_ERROR),
        },
        provenance=provenance,
    )


def _vmicro_summary(response: VMicroResponse, pixels: slice, spec: TrainingSpec) -> dict:
    """What the bundle's provenance records of the v_micro response (JSON-ready)."""
    from zeta_payne.grids.vmicro import check_node_errors, summarize_check_errors

    rows = check_node_errors(response, pixels)
    lo, hi = response.teff_range
    return {
        "reference": response.reference,
        "values": list(response.values),
        "grids": {f"{v:g}": name for v, name in sorted(response.grid_names.items())},
        "paths": [str(p) for p in spec.vmicro_grids],
        "lattices": {f"{v:g}": response.lattice_axes(v) for v in sorted(response.lattices)},
        "point_values": sorted(response.points),
        "teff_range": [lo, hi],
        "taper": response.taper,
        "note": f"v_micro changes the training spectra only for teff {lo:.0f}-{hi:.0f} K (tapered "
                f"to no change at {hi + response.taper:.0f} K); the fit defaults hold it at "
                f"{response.reference:g} km/s outside that range",
        "check_nodes": rows,
        "check_summary": summarize_check_errors(rows),
    }
