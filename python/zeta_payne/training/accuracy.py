"""How good a trained network and its training generator are: node interpolation at
nodes left out of the lattice, the emulator on held-out spectra, and both against
held-out syntheses, per teff region (each bundle's ``emulator_accuracy.md``).

Issue 14's criterion — interpolation at most half the emulator's error, in median and 95th
percentile, per region — is read off :func:`holdout_errors`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from zeta_payne.grids.stencil import parse_points
from zeta_payne.model.emulator import Emulator, EmulatorWeights
from zeta_payne.training.labels import LABELS

if TYPE_CHECKING:
    from zeta_payne.grids.nodes import NodeGrid

__all__ = [
    "HOLDOUT_TEFF_REGIONS",
    "emulator_errors",
    "holdout_errors",
    "holdout_markdown",
    "holdout_on_grid",
    "node_interpolation_errors",
    "stencil_text",
]

log = logging.getLogger(__name__)


def stencil_text(stencil: str | Sequence[int] | None) -> str:
    """How the training generator interpolates the lattice (``stencil``: see
    :func:`~zeta_payne.grids.stencil.parse_points`), in words: ``"multilinear"``,
    ``"cubic in teff, quadratic in log g, linear in [M/H]"``."""
    points = parse_points(stencil)
    if points == (2, 2, 2):
        return "multilinear"
    kind = {2: "linear", 3: "quadratic", 4: "cubic"}
    return ", ".join(f"{kind.get(p, f'{p}-point')} in {n}"
                     for p, n in zip(points, ("teff", "log g", "[M/H]"), strict=True))


def node_interpolation_errors(grid: NodeGrid, pixels: slice, max_nodes: int = 200) -> dict[str, float]:
    """|Δflux| of nodes left out of the lattice and interpolated from their coarser level.

    For each refinement level after the first, the nodes that level adds are predicted by
    multilinear interpolation of the previous level's nodes only.
    """
    from zeta_payne.grids.nodes import NodeGrid

    errors = []
    levels = grid.levels
    for k in range(1, len(levels)):
        coarse = levels[k - 1]
        in_coarse = np.all(
            [np.isin(np.round(grid.labels[:, i], 6), np.round(coarse[i], 6)) for i in range(3)], axis=0
        )
        new = np.flatnonzero(~in_coarse)
        if not in_coarse.any() or not new.size:
            continue
        sub = NodeGrid(
            labels=grid.labels[in_coarse],
            wavelength=grid.wavelength,
            flux=grid.flux[in_coarse],
            manifest=grid.manifest,
            medium=grid.medium,
            levels=[coarse],
            points=grid.points,  # the training generator's interpolant
        )
        rng = np.random.default_rng(k)
        pick = rng.permutation(new)[:max_nodes]
        pred = sub.interpolate(grid.labels[pick], missing="nan")
        ok = np.all(np.isfinite(pred), axis=1)
        if ok.any():
            errors.append(np.abs(pred[ok][:, pixels] - grid.flux[pick[ok]][:, pixels]).ravel())
    if not errors:
        return {"median": float("nan"), "p95": float("nan"), "n_nodes": 0}
    e = np.concatenate(errors)
    return {
        "median": float(np.median(e)),
        "p95": float(np.percentile(e, 95)),
        "n_nodes": int(e.size // (pixels.stop - pixels.start)),
    }


#: teff regions [K] of the held-out report (the issue-14 criterion is per region)
HOLDOUT_TEFF_REGIONS = ((0.0, 8000.0), (8000.0, 10000.0), (10000.0, 15000.0), (15000.0, 20000.0),
                        (20000.0, 1e9))


def holdout_on_grid(path: str | Path, instrument: str, grid: NodeGrid) -> NodeGrid:
    """The held-out syntheses at ``path`` on the training grid's pixels and resolution.

    A held-out set stored at a higher resolution (the synthesis-truth sets) is degraded to
    the grid's (:func:`~zeta_payne.grids.convert.degrade_node_grid`); one already on the
    grid's wavelengths is used as it is.
    """
    from zeta_payne.grids.convert import degrade_node_grid
    from zeta_payne.grids.nodes import load_node_grid

    held = load_node_grid(path, instrument)
    if held.wavelength.shape == grid.wavelength.shape and np.allclose(
            held.wavelength, grid.wavelength, rtol=1e-9):
        return held

    def resolution(g) -> float:
        info = ((g.manifest or {}).get("instruments") or {}).get(instrument) or {}
        if "R_model" not in info:
            raise ValueError(f"{path}: no R_model for {instrument} in the manifest")
        return float(info["R_model"])

    log.info("held-out grid %s: degraded from R %g to the training grid's R %g", path,
             resolution(held), resolution(grid))
    return degrade_node_grid(held, resolution(held), grid.wavelength, resolution(grid))


def holdout_errors(
    grid: NodeGrid,
    weights: EmulatorWeights,
    holdout: NodeGrid,
    pixels: slice,
    label_names: Sequence[str] = LABELS,
    fixed: Mapping[str, float] | None = None,
    continuum: NodeGrid | None = None,
) -> dict:
    """|Δflux| at held-out synthesized nodes: node interpolation and emulator (v sin i = 0).

    Parameters
    ----------
    grid : NodeGrid
        The training lattice.
    weights : EmulatorWeights
        The trained network (inputs ``label_names``).
    holdout : NodeGrid
        Real syntheses at nodes off the lattice, on the same wavelength grid.
    pixels : slice
        Model pixels the bundle keeps.
    label_names : sequence of str
        The network's inputs.
    fixed : mapping, optional
        Values of the inputs other than teff, logg and m_h at which the held-out nodes were
        synthesized (v_micro: the grid's; default 0, right for v_sini).
    continuum : NodeGrid, optional
        The jump factor the network was trained with (``TrainingSpec.continuum_grid``): the
        network's spectra are divided by it, interpolated at the held-out labels, so the
        errors stay those of the normalised spectrum against the normalised syntheses.

    Returns
    -------
    dict
        ``interpolation`` and ``emulator`` summaries (median, p95, max of |Δflux| over all
        pixels of the nodes inside the lattice) and ``nodes``: per-node rows.
    """
    if holdout.wavelength.shape != grid.wavelength.shape or not np.allclose(
        holdout.wavelength, grid.wavelength, rtol=1e-9
    ):
        raise ValueError("held-out grid is on another wavelength grid than the training grid")
    lo, hi = grid.labels.min(axis=0), grid.labels.max(axis=0)
    inside = np.all((holdout.labels >= lo - 1e-9) & (holdout.labels <= hi + 1e-9), axis=1)
    if not inside.any():
        return {"interpolation": None, "emulator": None, "nodes": [], "regions": []}
    lab = holdout.labels[inside]
    truth = holdout.flux[inside][:, pixels].astype(np.float64)
    interp = grid.interpolate(lab, missing="nan")[:, pixels]
    x = np.zeros((len(lab), len(label_names)))
    for name, value in (fixed or {}).items():
        x[:, list(label_names).index(name)] = value
    for j, name in enumerate(("teff", "logg", "m_h")):
        x[:, list(label_names).index(name)] = lab[:, j]
    emu = Emulator.from_weights(weights).requires_grad_(False)
    with torch.no_grad():
        pred = emu(torch.as_tensor(x, dtype=torch.float32)).numpy().astype(np.float64)
    if continuum is not None:
        pred = pred / continuum.interpolate(lab, missing="nan")[:, pixels]
    # like for like: the pixels every held-out spectrum covers (a degraded truth set ends a
    # fraction of a pixel short of the grid) and the nodes the lattice can interpolate
    cols = np.all(np.isfinite(truth), axis=0)
    rows = np.all(np.isfinite(interp[:, cols]), axis=1)
    if not rows.any() or not cols.any():
        return {"interpolation": None, "emulator": None, "nodes": [], "regions": []}
    lab, truth = lab[rows], truth[rows][:, cols]
    e_int = np.abs(interp[rows][:, cols] - truth)
    e_emu = np.abs(pred[rows][:, cols] - truth)

    def summary(e: np.ndarray) -> dict:
        return {"median": float(np.median(e)), "p95": float(np.percentile(e, 95)),
                "max": float(e.max()), "n_nodes": int(len(e))}

    regions = []
    for lo_t, hi_t in HOLDOUT_TEFF_REGIONS:
        sel = (lab[:, 0] >= lo_t) & (lab[:, 0] < hi_t)
        if sel.any():
            regions.append({"teff_lo": lo_t, "teff_hi": hi_t, "interpolation": summary(e_int[sel]),
                            "emulator": summary(e_emu[sel])})

    nodes = [
        {"teff": float(t), "logg": float(g), "m_h": float(m),
         "interpolation_median": float(np.median(a)), "interpolation_p95": float(np.percentile(a, 95)),
         "emulator_median": float(np.median(b)), "emulator_p95": float(np.percentile(b, 95))}
        for (t, g, m), a, b in zip(lab, e_int, e_emu, strict=True)
    ]
    return {"interpolation": summary(e_int), "emulator": summary(e_emu), "nodes": nodes,
            "regions": regions}


def emulator_errors(
    weights: EmulatorWeights,
    x: np.ndarray,
    y: np.ndarray,
    label_names: Sequence[str],
    box: Mapping[str, tuple[float, float]] | None = None,
) -> dict:
    """|Δflux| of the emulator on held-out spectra: overall, per pixel, per label region.

    The regions are ten equal bins of teff and v_sini (and six of v_micro) over ``box``
    (default the paper's 6–25 kK and 0–400 km/s).
    """
    emu = Emulator.from_weights(weights).requires_grad_(False)
    with torch.no_grad():
        pred = emu(torch.as_tensor(x, dtype=torch.float32)).numpy()
    err = np.abs(pred - y)
    per_spec = np.median(err, axis=1)
    out = {
        "median": float(np.median(err)),
        "p95": float(np.percentile(err, 95)),
        "max": float(err.max()),
        "n_spectra": int(len(y)),
        "per_pixel_median": np.median(err, axis=0),
        "per_pixel_p95": np.percentile(err, 95, axis=0),
        "regions": {},
    }
    box = {"teff": (6000.0, 25000.0), "v_sini": (0.0, 400.0), **dict(box or {})}
    for name, bins in (("teff", 10), ("v_sini", 10), ("v_micro", 6)):
        if name not in label_names or name not in box:
            continue
        edges = np.linspace(box[name][0], box[name][1], bins + 1)
        v = x[:, list(label_names).index(name)]
        idx = np.clip(np.digitize(v, edges) - 1, 0, len(edges) - 2)
        out["regions"][name] = [
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "n": int((idx == b).sum()),
                "median": float(np.median(per_spec[idx == b])) if (idx == b).any() else float("nan"),
            }
            for b in range(len(edges) - 1)
        ]
    return out


def holdout_markdown(holdout: dict, grid_label: str, stencil: str | Sequence[int] | None) -> list[str]:
    """The accuracy report's section on one held-out synthesis set (markdown lines).

    Parameters
    ----------
    holdout : dict
        :func:`holdout_errors` of the set (with at least one node inside the lattice).
    grid_label : str
        The set's folder, as named in the report.
    stencil : str or tuple of int or None
        The training generator's stencil (:func:`stencil_text`).
    """
    hi, he = holdout["interpolation"], holdout["emulator"]
    lines = [
        f"## Against real syntheses at {he['n_nodes']} held-out nodes (v sin i = 0)",
        "",
        f"Grid `{grid_label}`: nodes off the training lattice, "
        "synthesized with the same physics. *Interpolation* is the training generator "
        f"({stencil_text(stencil)} between lattice nodes) "
        "against the synthesis; *emulator* is the "
        "network against the synthesis (its total error with respect to the physics).",
        "",
        "| | median |Δflux| | 95th percentile | max |",
        "|---|---|---|---|",
        f"| node interpolation | {hi['median']:.5f} | {hi['p95']:.5f} | {hi['max']:.4f} |",
        f"| emulator | {he['median']:.5f} | {he['p95']:.5f} | {he['max']:.4f} |",
        "",
    ]
    if holdout.get("regions"):
        lines += [
            "By teff region (pixels of all held-out nodes in the region pooled; the target is "
            "interpolation ≤ ½ emulator in median and 95th percentile):",
            "",
            "| teff [K] | nodes | interp. median | interp. p95 | emulator median | emulator p95 "
            "| interp./emulator median, p95 |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in holdout["regions"]:
            ri, re_ = r["interpolation"], r["emulator"]
            top = "" if r["teff_hi"] >= 1e8 else f"{r['teff_hi']:.0f}"
            lines.append(
                f"| {r['teff_lo']:.0f}–{top} | {ri['n_nodes']} | {ri['median']:.5f} | "
                f"{ri['p95']:.5f} | {re_['median']:.5f} | {re_['p95']:.5f} | "
                f"{ri['median'] / re_['median']:.2f}, {ri['p95'] / re_['p95']:.2f} |")
        lines.append("")
    if holdout.get("nodes"):
        lines += [
            "| teff | logg | [M/H] | interp. median | interp. p95 | emulator median | emulator p95 |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {n['teff']:.0f} | {n['logg']:.2f} | {n['m_h']:+.2f} | {n['interpolation_median']:.5f} | "
            f"{n['interpolation_p95']:.5f} | {n['emulator_median']:.5f} | {n['emulator_p95']:.5f} |"
            for n in holdout["nodes"]
        ]
        lines.append("")
    return lines
