"""From a node grid to a bundle: training set, training, accuracy report, bundle.

The accuracy measurements are :mod:`~zeta_payne.training.accuracy`, the new bundle's fit
defaults :mod:`~zeta_payne.training.fit_defaults` (their names are importable from here too).

The labels are teff, logg, v_sini, m_h (:data:`LABELS`), and v_micro after them when the
grid's v_micro response grids are given (:mod:`zeta_payne.grids.vmicro`); the box is the
paper's within the lattice on disk (the shipped bundles) or the grid's node axes
(:func:`training_box`).
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import logging
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from zeta_payne import __version__
from zeta_payne.bundles.bundle import Bundle, save_bundle
from zeta_payne.bundles.manifest import INSTRUMENT_COVERAGE, INSTRUMENT_DEFAULTS, LabelSpec, Manifest
from zeta_payne.grids.coverage import logg_floor
from zeta_payne.grids.generator import GridGenerator
from zeta_payne.grids.nodes import NodeGrid, complete_lattice
from zeta_payne.grids.stencil import parse_points
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
from zeta_payne.training.labels import LABELS, UNITS
from zeta_payne.training.sampling import PAPER_BOX, split_indices, training_labels
from zeta_payne.training.trainer import TrainConfig, TrainOutcome, train_emulator

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

@dataclass(frozen=True)
class TrainingSpec:
    """What to train: sizes of the training set and the bundle's identity.

    Attributes
    ----------
    name, version : str
        Bundle identification.
    instrument : str
        "boss" or "apogee".
    n_sobol, n_gauss : int
        Training points (paper: 5000 + 5000).
    validation_fraction : float
        Held-out fraction (paper: 0.1).
    wavelength_range : (float, float) or None
        Model wavelengths kept [Å]; default all of the grid within the instrument's coverage
        (:data:`~zeta_payne.bundles.manifest.INSTRUMENT_COVERAGE`) widened by 0.5 %.
    seed : int
        Seed of the training labels and split.
    holdout_grid : str or None
        Node grid of held-out test nodes (off the training lattice, same synthesis settings):
        node-interpolation and emulator errors are measured against these real syntheses.
    output_layer_dtype : {"float32", "float16"}
        Storage of the output layer (float16 halves the bundle; the rounding error is
        measured on the validation set and reported).
    box : {"paper", "grid"}
        The training box of teff, logg and m_h: the paper's Table 1 box (the shipped
        bundles) or the grid's node axes (v3: teff 6–30 kK, logg 2.5–5, [M/H] −2…+0.8),
        either within the complete lattice on disk; v_sini 0–400 km/s in both.
    label_ranges : tuple of (str, float, float)
        Explicit ``(label, min, max)`` ranges that replace the box's (teff, logg and m_h
        still within the lattice on disk).
    vmicro_grids : tuple of str
        Folders of v_micro response grids (the same node grid synthesized at other v_micro
        values, :mod:`zeta_payne.grids.vmicro`): v_micro becomes the network's fifth label,
        its box the range of the grids' values, and the bundle's fit defaults hold it fixed
        outside the teff range the response covers.
    vmicro_taper : float or None
        Width [K] over which the response falls to 0 above that teff range (default: to the
        grid's next teff value).
    lattice : {"complete", "nodes"}
        ``"complete"``: train on the largest complete rectilinear sub-lattice on disk (a
        partial campaign; the shipped bundles). ``"nodes"``: on every node, interpolated
        through the grid's levels; training labels in cells without all their nodes are
        dropped (counted in the provenance). For a finished grid with holes where no model
        atmosphere exists (v3: log g 2.5 above 20 kK, log g 3 above 27.5 kK, one node at
        8,000 K), whose complete sub-lattice would lose whole axis values.
    stencil : tuple of int
        Interpolation stencil per axis (teff, logg, m_h) of the training generator: 2 linear
        (the shipped bundles: multilinear), 4 cubic Lagrange
        (:class:`~zeta_payne.grids.nodes.NodeGrid`, ``points``). Cubic in log g and [M/H]
        cuts the interpolation error where the spectrum varies smoothly along them
        (``data/grids/v3/measure_lattice_error.py --points 2,4,4``).
    continuum_grid : str or None
        The jump-factor grid of the training grid (``zeta-payne grid continuum``,
        :mod:`zeta_payne.grids.continuum`): the training spectra are the normalised spectra
        times J, so the network emits the Balmer and Paschen jumps a flux-calibrated
        spectrum shows and the fitter's smooth response cannot make. It must hold every node
        of the training lattice.
    """

    name: str
    version: str
    instrument: str
    n_sobol: int = 5000
    n_gauss: int = 5000
    validation_fraction: float = 0.1
    wavelength_range: tuple[float, float] | None = None
    seed: int = 0
    holdout_grid: str | None = None
    output_layer_dtype: str = "float32"
    box: str = "paper"
    label_ranges: tuple[tuple[str, float, float], ...] = ()
    vmicro_grids: tuple[str, ...] = ()
    vmicro_taper: float | None = None
    lattice: str = "complete"
    stencil: tuple[int, int, int] = (2, 2, 2)
    continuum_grid: str | None = None


def training_box(
    lattice: NodeGrid,
    source: str = "paper",
    label_ranges: Sequence[tuple[str, float, float]] = (),
    v_micro: tuple[float, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """The box the training labels are drawn from.

    Parameters
    ----------
    lattice : zeta_payne.grids.nodes.NodeGrid
        The nodes trained on (the complete lattice on disk,
        :func:`~zeta_payne.grids.nodes.complete_lattice`, or every node); its manifest's
        ``node_axes`` are the grid's planned axes.
    source : {"paper", "grid"}
        ``"paper"``: :data:`~zeta_payne.training.sampling.PAPER_BOX`; ``"grid"``: the
        manifest's ``node_axes`` (else the nodes' range). Either is cut to the lattice's
        range in teff, logg and m_h (a partial grid: a warning for "grid"); v_sini 0–400.
    label_ranges : sequence of (str, float, float)
        ``(label, min, max)`` replacing the box of that label (teff, logg and m_h cut to the
        lattice).
    v_micro : (float, float), optional
        The v_micro range [km/s] (with a response); adds the label.

    Returns
    -------
    dict
        ``{label: (min, max)}`` in units K, dex, km/s, dex (and km/s).
    """
    if source not in ("paper", "grid"):
        raise ValueError(f"box must be 'paper' or 'grid', not {source!r}")
    node_axes = (lattice.manifest or {}).get("node_axes") or {}
    box = dict(PAPER_BOX)
    on_disk = {}
    for j, name in enumerate(("teff", "logg", "m_h")):
        on_disk[name] = (float(lattice.labels[:, j].min()), float(lattice.labels[:, j].max()))
        if source == "grid":
            axis = node_axes.get(name)
            box[name] = (float(min(axis)), float(max(axis))) if axis else on_disk[name]
    if v_micro is not None:
        box["v_micro"] = (float(v_micro[0]), float(v_micro[1]))
    for name, lo, hi in label_ranges:
        if name not in box:
            raise ValueError(f"no label {name!r} to set a range for; labels: {sorted(box)}")
        box[name] = (float(lo), float(hi))
    for name, (lo, hi) in on_disk.items():
        cut = (max(box[name][0], lo), min(box[name][1], hi))
        if source == "grid" and cut != box[name]:
            log.warning("%s: the lattice on disk covers %g–%g of %g–%g", name, lo, hi, *box[name])
        if not cut[1] > cut[0]:
            raise ValueError(f"{name}: the box {box[name]} and the lattice {lo}–{hi} do not overlap")
        box[name] = cut
    return box


def build_training_set(
    generator: GridGenerator, labels: np.ndarray, pixels: slice, batch: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Spectra for ``labels`` from the generator; rows the grid cannot serve are dropped.

    Returns
    -------
    labels : numpy.ndarray, shape (M, L)
    flux : numpy.ndarray, shape (M, P), float32
    """
    keep, out = [], []
    for start in range(0, len(labels), batch):
        lab = labels[start : start + batch]
        try:
            flux = generator(lab)[:, pixels].astype(np.float32)
        except Exception:  # partial grids: fall back to one by one
            rows = []
            for row in lab:
                try:
                    rows.append(generator(row[None, :])[0, pixels].astype(np.float32))
                except Exception:
                    rows.append(np.full(pixels.stop - pixels.start, np.nan, np.float32))
            flux = np.stack(rows)
        good = np.all(np.isfinite(flux), axis=1)
        keep.append(lab[good])
        out.append(flux[good])
    return np.concatenate(keep), np.concatenate(out)


def _continuum_grid(path: str | Path, instrument: str, stencil, grid):
    """The jump-factor grid at ``path``, checked to hold every node of the training lattice."""
    from zeta_payne.grids.nodes import label_keys, load_node_grid

    cont = load_node_grid(path, instrument)
    kind = ((cont.manifest or {}).get("provenance") or {}).get("kind")
    if kind != "continuum-jump-factor":
        raise ValueError(f"{path} is not a continuum jump-factor grid (kind {kind!r})")
    missing = {tuple(k) for k in label_keys(grid.labels)} - {tuple(k) for k in label_keys(cont.labels)}
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} nodes of the training grid "
                         f"(run `zeta-payne grid continuum` again), e.g. {sorted(missing)[0]}")
    cont.points = parse_points(stencil)
    return cont


_STOP_TEXT = {
    "iterations": "all iterations done",
    "plateau": "the validation score stopped falling",
    "time budget": "the time budget was spent (resumable)",
}


def _report(
    spec: TrainingSpec,
    outcome: TrainOutcome,
    errors: dict,
    interp: dict,
    wavelength: np.ndarray,
    provenance: dict,
    holdout: dict | None = None,
) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 8))
    axes[0].plot(wavelength, errors["per_pixel_median"], lw=0.5, label="median")
    axes[0].plot(wavelength, errors["per_pixel_p95"], lw=0.5, alpha=0.7, label="95th percentile")
    axes[0].set_ylabel("|Δflux| (held out)")
    axes[0].set_xlabel("wavelength [Å, vacuum]")
    axes[0].legend()
    for ax, key in zip(axes[1:], ("teff", "v_sini"), strict=True):
        reg = errors["regions"].get(key, [])
        ax.bar(
            [0.5 * (r["lo"] + r["hi"]) for r in reg],
            [r["median"] for r in reg],
            width=0.8 * (reg[0]["hi"] - reg[0]["lo"]) if reg else 1,
        )
        ax.set_xlabel(f"{key} [{UNITS[key]}]")
        ax.set_ylabel("median |Δflux| per spectrum")
    fig.suptitle(f"{spec.name} {spec.version}: emulator error on the validation set")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=80)
    plt.close(fig)
    hist = outcome.history
    acc = provenance["accuracy"]
    lines = [
        f"# Emulator accuracy: {spec.name} {spec.version} ({spec.instrument})",
        "",
        f"- training: {provenance['training']['n_train']} spectra, "
        f"validation {provenance['training']['n_valid']}"
        + (f" ({provenance['training']['n_dropped']} labels in cells the grid cannot interpolate "
           "dropped)" if provenance["training"].get("n_dropped") else "") + ", "
        f"{outcome.iterations_done} iterations in {outcome.seconds:.0f} s on {outcome.device}; "
        f"best validation MAE {outcome.best_score:.5f} at iteration {outcome.best_iteration}; "
        f"stopped at iteration {outcome.iterations_done}: {_STOP_TEXT[outcome.stop_reason]}",
        "- labels and box: " + ", ".join(f"{n} {lo:g}–{hi:g}" for n, (lo, hi) in provenance["box"].items()),
        f"- emulator |Δflux| on held-out spectra: median {errors['median']:.5f}, 95th percentile "
        f"{errors['p95']:.5f}, max {errors['max']:.4f} (continuum = 1)",
        (f"- node interpolation |Δflux| on the finer lattice levels' nodes (interpolated from the "
         f"coarser level): median {interp['median']:.5f}, 95th percentile {interp['p95']:.5f} "
         f"({interp['n_nodes']} nodes)" if interp["n_nodes"] else
         "- node interpolation within the lattice: not measured (one complete level; see the "
         "held-out nodes below, if given)"),
        f"- output layer stored as {acc['output_layer_dtype']}"
        + (f" (rounding changes the flux by at most {acc['float16_max_abs_difference']:.5f}"
           " on the validation set; the errors above include it)"
           if acc.get("float16_max_abs_difference") is not None else ""),
        f"- node grid: {provenance['grid']['name']} ({provenance['grid']['n_nodes']} nodes, manifest sha256 "
        f"{provenance['grid']['manifest_sha256'][:16]})",
        "",
    ]
    vmic = provenance.get("vmicro_response")
    if vmic:
        grids = ", ".join(f"{v} km/s: `{name}`" for v, name in vmic["grids"].items())
        lines += [
            "## v_micro response",
            "",
            f"v_micro {min(vmic['values']):g}–{max(vmic['values']):g} km/s from the response grids "
            f"({grids}) added to the "
            f"{vmic['reference']:g} km/s grid; {vmic['note']}.",
            "",
            "Response interpolation at nodes it does not use (|Δflux| against the synthesized "
            "response; *lattice*: check nodes between the lattice values; *v_micro*: a value "
            "between the knots, linear in v_micro):",
            "",
            "| check | v_micro | teff | logg | [M/H] | median | p95 | max | max response | max / response |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['kind']} | {r['v_micro']:g} | {r['teff']:.0f} | {r['logg']:.2f} | {r['m_h']:+.2f} | "
            f"{r['median']:.5f} | {r['p95']:.5f} | {r['max']:.4f} | {r['response_max']:.4f} | "
            f"{r['relative_max']:.2f} |"
            for r in vmic["check_nodes"]
        ]
        lines.append("")
    if holdout and holdout.get("emulator"):
        lines += holdout_markdown(holdout, provenance["grid"].get("holdout_grid") or "",
                                  provenance["training"].get("stencil"))
    lines += [
        "## Median |Δflux| per spectrum by region (validation set)",
        "",
        "| label | "
        + " | ".join(f"{r['lo']:.0f}–{r['hi']:.0f}" for r in errors["regions"].get("teff", []))
        + " |",
    ]
    for key in ("teff", "v_sini", "v_micro"):
        reg = errors["regions"].get(key, [])
        if not reg:
            continue
        if key != "teff":
            digits = 1 if key == "v_micro" else 0
            lines.append("")
            lines.append("| label | " + " | ".join(f"{r['lo']:.{digits}f}–{r['hi']:.{digits}f}" for r in reg)
                         + " |")
        lines.append("|---|" + "---|" * len(reg))
        lines.append(f"| {key} | " + " | ".join(f"{r['median']:.4f} (n={r['n']})" for r in reg) + " |")
    lines += ["", "## Validation history", "", "| iteration | train loss | validation MAE |", "|---|---|---|"]
    lines += [f"| {int(i)} | {tl:.5f} | {vs:.5f} |" for i, tl, vs in hist]
    lines += ["", "![errors](emulator_accuracy.png)", ""]
    return {"emulator_accuracy.md": "\n".join(lines).encode(), "emulator_accuracy.png": png.getvalue()}


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

    ``initial``: a bundle of the same shape to warm-start from (its name and version are
    recorded in the provenance).
    """
    from zeta_payne.grids.nodes import load_node_grid

    grid_path = Path(grid_path)
    on_disk = load_node_grid(grid_path, spec.instrument)
    if spec.lattice not in ("complete", "nodes"):
        raise ValueError(f"lattice must be 'complete' or 'nodes', not {spec.lattice!r}")
    on_disk.points = parse_points(spec.stencil)
    grid = complete_lattice(on_disk) if spec.lattice == "complete" else on_disk
    if len(grid) < len(on_disk):
        log.warning("partial grid: training on the complete sub-lattice of %d of %d nodes",
                    len(grid), len(on_disk))
    manifest_path = grid_path / "manifest.json"
    grid_sha = hashlib.sha256(manifest_path.read_bytes()).hexdigest() if manifest_path.is_file() else ""
    response = None
    label_names = LABELS
    if spec.vmicro_grids:
        from zeta_payne.grids.vmicro import load_vmicro_response

        response = load_vmicro_response(on_disk, spec.vmicro_grids, spec.instrument, spec.vmicro_taper)
        label_names = (*LABELS, "v_micro")
    continuum = (_continuum_grid(spec.continuum_grid, spec.instrument, spec.stencil, grid)
                 if spec.continuum_grid else None)
    generator = GridGenerator(grid, label_names, instrument=spec.instrument, response=response,
                              missing="nan", continuum=continuum)
    lam = generator.wavelength
    lo, hi = spec.wavelength_range or (
        INSTRUMENT_COVERAGE[spec.instrument][0] * 0.995,
        INSTRUMENT_COVERAGE[spec.instrument][1] * 1.005,
    )
    i0 = int(np.searchsorted(lam, lo))
    i1 = int(np.searchsorted(lam, hi, side="right"))
    pixels = slice(max(i0, 0), min(i1, lam.size))
    box = training_box(grid, spec.box, spec.label_ranges,
                       None if response is None else response.v_micro_range)
    floor = logg_floor(grid, box["logg"])
    if floor:
        log.info("no training spectra below the log g floor (atmosphere holes): %s", floor)
    labels = training_labels(label_names, box, spec.n_sobol, spec.n_gauss, seed=spec.seed)
    n_requested = len(labels)
    labels, flux = build_training_set(generator, labels, pixels)
    if len(labels) < n_requested:
        log.warning("%d of %d training labels lie in cells the grid cannot interpolate: dropped",
                    n_requested - len(labels), n_requested)
    if len(labels) < 20:
        raise ValueError(f"only {len(labels)} training spectra could be made from {grid_path}")
    train, valid = split_indices(len(labels), spec.validation_fraction, spec.seed)
    x_min = np.array([box[n][0] for n in label_names])
    x_max = np.array([box[n][1] for n in label_names])
    log.info("training %s on %d spectra × %d pixels", spec.name, len(train), flux.shape[1])
    outcome = train_emulator(
        labels[train],
        flux[train],
        labels[valid],
        flux[valid],
        x_min,
        x_max,
        config,
        checkpoint=checkpoint,
        progress=progress,
        initial=None if initial is None else initial.weights,
    )
    weights = outcome.weights
    rounding = None
    if spec.output_layer_dtype == "float16":
        rounded = _round_output_layer(weights)
        rounding = {"max_abs_difference": _max_difference(weights, rounded, labels[valid])}
        weights = rounded
    errors = emulator_errors(weights, labels[valid], flux[valid], label_names, box)
    interp = node_interpolation_errors(grid, pixels)
    vmicro = None if response is None else _vmicro_summary(response, pixels, spec)
    held = None
    if spec.holdout_grid:
        held = holdout_errors(grid, weights,
                              holdout_on_grid(spec.holdout_grid, spec.instrument, grid),
                              pixels, label_names,
                              None if response is None else {"v_micro": response.reference},
                              continuum=continuum)
        if held["emulator"]:
            log.info("held-out nodes: interpolation median %.5f, emulator median %.5f",
                     held["interpolation"]["median"], held["emulator"]["median"])
    wl = lam[pixels]
    provenance = {
        "kind": "trained",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "software": {
            "zeta_payne": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "grid": {
            "name": grid_path.name,
            "path": str(grid_path),
            "manifest_sha256": grid_sha,
            "n_nodes": int(len(grid)),
            "R_model": generator.resolution,
            "synthesis": (grid.manifest or {}).get("provenance", {}),
            "holdout_grid": str(spec.holdout_grid) if spec.holdout_grid else None,
        },
        "grid_path": str(grid_path),
        "warm_start": None if initial is None else {
            "name": initial.name, "version": initial.version, "sha256": initial.sha256,
            # a box other than this one's: the first layer was rescaled exactly to it
            "x_min": np.asarray(initial.weights.x_min, dtype=float).tolist(),
            "x_max": np.asarray(initial.weights.x_max, dtype=float).tolist(),
        },
        "training": {
            **asdict(spec),
            **{f"config_{k}": v for k, v in asdict(config).items()},
            "n_train": int(len(train)),
            "n_valid": int(len(valid)),
            "n_dropped": int(n_requested - len(labels)),
            "seconds": outcome.seconds,
            "device": outcome.device,
            "best_validation_mae": outcome.best_score,
            "best_iteration": outcome.best_iteration,
            "stop_reason": outcome.stop_reason,
            "stopped_at_iteration": outcome.iterations_done,
        },
        "box": {name: list(box[name]) for name in label_names},
        "vmicro_response": vmicro,
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
    specs = tuple(
        LabelSpec(n, UNITS[n], box[n][0], box[n][1], box[n][0], box[n][1],
                  value=response.reference if n == "v_micro" else None)
        for n in label_names
    )
    fit_range, n_chebyshev = default_fit_range(spec.instrument, float(wl[0]), float(wl[-1]),
                                               jumps=continuum is not None)
    manifest = Manifest(
        name=spec.name,
        version=spec.version,
        instrument=spec.instrument,
        labels=specs,
        wavelength={
            "medium": "vacuum",
            "loglam0": float(np.log(wl[0])),
            "delta": float(np.log(wl[-1] / wl[0]) / (wl.size - 1)),
            "n_pixels": int(wl.size),
            "resolution": generator.resolution,
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
            **({"logg_floor": [list(cell) for cell in floor]} if floor else {}),
            **hot_fit_range(spec.instrument, fit_range),
            **hot_interstellar_mask(spec.instrument),
            **jump_segments(spec.instrument, fit_range, jumps=continuum is not None),
            "unconstrained_error": dict(UNCONSTRAINED_ERROR),
        },
        provenance=provenance,
    )
    extra = _report(spec, outcome, errors, interp, wl, provenance, held)
    extra["training_labels.npy"] = _npy(labels[train])
    extra["training_history.json"] = json.dumps(outcome.history).encode()
    return save_bundle(out, manifest, weights, overwrite=True, extra_files=extra,
                       storage_dtype=spec.output_layer_dtype)


def _vmicro_summary(response, pixels: slice, spec: TrainingSpec) -> dict:
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
