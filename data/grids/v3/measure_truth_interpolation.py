#!/usr/bin/env python
"""Interpolation error of node lattices at the synthesis-truth points (held out, random).

The truth sets (``data/truth/synth-truth-v*``) are SME syntheses at random points of the box,
never lattice nodes. Seen at a grid's resolution and pixels (:func:`degrade_node_grid`), each
is compared with the grid's interpolation at its labels — the error a training generator
built on that grid carries into the network, and which the interpolant validation study
cannot see. Printed per teff region and grid: median and 95th percentile of |Δflux| over all
pixels of all points, and the mean *signed* Δflux (interpolation − truth) over the pixels
where the truth is below 0.9 (line cores): a systematic sign there means lines that are too
shallow (+) or too deep (−) and a label bias in the fits, not just scatter. A held-out set
already on the grid's pixels (the lattice's midpoint probes, ``data/grids/obaf-sme-v3-midpoints``)
is used as it is, not degraded again.

A grid is given as ``PATH[:STENCIL[:LEVEL]][+PATCH@OF]``: ``STENCIL`` as ``4,4,4`` (default
``2,2,2``, multilinear), ``LEVEL`` the finest refinement level to use, with the coarser ones
(default: all levels and patches on disk; ``0`` for the coarsest alone), and ``PATCH@OF`` a
probe grid whose nodes join as a patch of level ``OF`` (as ``--patch-of OF`` would take them
over; ``data/grids/obaf-sme-v3-boss-cool@3``). Compare grids only where they
share the truth's physics (same line list in that wavelength range).

    python data/grids/v3/measure_truth_interpolation.py --instrument apogee \
        --grid data/grids/obaf-sme-apogee-v2 --grid data/grids/obaf-sme-v3:2,2,2:0 \
        --grid data/grids/obaf-sme-v3:4,4,4:0 [--truth data/truth/synth-truth-v1] [-o OUT.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from zeta_payne.grids.format import LABEL_NAMES
from zeta_payne.grids.nodes import NodeGrid, load_node_grid
from zeta_payne.grids.patch import patch_axes
from zeta_payne.training.accuracy import holdout_on_grid

#: stored resolving power of the truth sets (data/truth/make_truth.sh)
REGIONS = [(6000, 7500), (7500, 10000), (10000, 15000), (15000, 20000), (20000, 30001)]


def _on_lattice(labels: np.ndarray, axes: tuple[np.ndarray, ...]) -> np.ndarray:
    """Whether each label row (shape (n, 3)) is a node of the lattice ``axes``."""
    return np.all([np.isin(np.round(labels[:, i], 6), np.round(a, 6))
                   for i, a in enumerate(axes)], axis=0)


def grid_view(spec: str, instrument: str) -> tuple[str, NodeGrid]:
    """The grid of ``PATH[:STENCIL[:LEVEL]][+PATCH@OF]`` restricted to the level (a level
    drops the grid's patches), with the stencil; ``+PATCH@OF`` adds the nodes of the grid
    ``PATCH`` as a patch of level ``OF`` (:func:`~zeta_payne.grids.patch.patch_axes` of the
    nodes ``PATCH`` was planned with): the lattice as it will interpolate once they are taken
    over with ``--patch-of OF``, also while ``PATCH`` is still being made."""
    spec_main, _, extra = spec.partition("+")
    path, *rest = spec_main.split(":")
    grid = load_node_grid(path, instrument)
    stencil = tuple(int(x) for x in rest[0].split(",")) if rest and rest[0] else (2, 2, 2)
    levels, patches = grid.levels, grid.patches
    if len(rest) > 1:
        levels, patches = levels[: int(rest[1]) + 1], []
    labels, flux = grid.labels, grid.flux
    if extra:
        patch_path, _, of = extra.partition("@")
        added = load_node_grid(patch_path, instrument)
        if not np.allclose(added.wavelength, grid.wavelength, rtol=1e-9):
            raise SystemExit(f"{patch_path} is not on {path}'s pixels")
        # the patch the campaign would make from the probe grid's plan (its manifest's
        # lattice), so that a probe grid still being synthesized gives the final patch's axes
        planned = np.stack(np.meshgrid(*added.levels[-1], indexing="ij"), axis=-1).reshape(-1, 3)
        axes = patch_axes(dict(zip(LABEL_NAMES, grid.levels[int(of)], strict=True)), planned)
        patches = [*patches, tuple(np.asarray(axes[n]) for n in LABEL_NAMES)]
        new = ~_on_lattice(added.labels, grid.levels[-1])
        labels = np.concatenate([labels, added.labels[new]])
        flux = np.concatenate([flux, added.flux[new]])
    keep = _on_lattice(labels, levels[-1])
    for axes in patches:
        keep |= _on_lattice(labels, axes)
    view = NodeGrid(labels=labels[keep], wavelength=grid.wavelength, flux=flux[keep],
                    manifest=grid.manifest, medium=grid.medium, levels=levels, points=stencil,
                    patches=patches)
    return spec, view


def lattice_and_probes(argv: list[str] | None, description: str, probes: str,
                       instrument: str = "boss") -> tuple[str, NodeGrid, NodeGrid]:
    """A probe script's command line (``--grid PATH[:STENCIL[:LEVEL]][+PATCH@OF]``; by default
    the finished lattice's levels 0-6 without patches, with the training generator's stencil —
    the lattice the probes were planned on: once BOSS's teff planes are patched in, their
    nodes are the lattice's), that lattice's view and the probe grid ``probes``, checked to be
    on the lattice's pixels."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--grid", default="data/grids/obaf-sme-v3:4,4,4:6",
                    help="PATH[:STENCIL[:LEVEL]][+PATCH@OF]")
    spec = ap.parse_args(argv).grid
    _, lattice = grid_view(spec, instrument)
    made = load_node_grid(probes, instrument)
    if not np.allclose(made.wavelength, lattice.wavelength, rtol=1e-9):
        raise SystemExit(f"{probes} is not on the lattice's pixels")
    return spec, lattice, made


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instrument", required=True, choices=("apogee", "boss"))
    ap.add_argument("--grid", action="append", required=True,
                    help="PATH[:STENCIL[:LEVEL]][+PATCH@OF]")
    ap.add_argument("--truth", default="data/truth/synth-truth-v1")
    ap.add_argument("--regions", help="teff region edges [K], e.g. 8000,8250,8500 (default: "
                    + ",".join(str(lo) for lo, _ in REGIONS) + f",{REGIONS[-1][1]})")
    ap.add_argument("--min-wave", type=float, help="only pixels from this wavelength [Å]")
    ap.add_argument("-o", "--out", type=Path)
    args = ap.parse_args(argv)
    regions = REGIONS
    if args.regions:
        edges = [float(x) for x in args.regions.split(",")]
        regions = list(zip(edges[:-1], edges[1:], strict=True))

    views = [grid_view(s, args.instrument) for s in args.grid]
    ref = views[0][1]
    r_model = float(ref.manifest["instruments"][args.instrument]["R_model"])
    truth = holdout_on_grid(args.truth, args.instrument, ref)  # degraded unless on its pixels
    preds = {}
    for name, view in views:
        if view.wavelength.size != ref.wavelength.size or not np.allclose(view.wavelength, ref.wavelength):
            raise SystemExit(f"{name}: another wavelength grid than {views[0][0]}")
        preds[name] = view.interpolate(truth.labels, missing="nan")
    pix = np.all(np.isfinite(truth.flux), axis=0)
    if args.min_wave is not None:
        pix &= truth.wavelength >= args.min_wave
    usable = np.all([np.all(np.isfinite(p[:, pix]), axis=1) for p in preds.values()], axis=0)
    lines = [f"# Interpolation error at synthesis-truth points ({args.instrument})", "",
             f"Truth `{args.truth}` seen at the grid's R {r_model:g}; "
             f"{int(usable.sum())} of {len(truth)} points "
             f"inside every grid's lattice; {int(pix.sum())} pixels"
             + (f" from {args.min_wave:g} Å" if args.min_wave is not None else "")
             + ". Cells: median |Δflux| / p95 |Δflux| / mean signed "
             "Δflux where the truth < 0.9.", "",
             "| teff [K] | n | " + " | ".join(f"`{n}`" for n in preds) + " |",
             "|---|---:|" + "---|" * len(preds)]
    for lo, hi in regions:
        sel = usable & (truth.labels[:, 0] >= lo) & (truth.labels[:, 0] < hi)
        if not sel.any():
            continue
        t = truth.flux[sel][:, pix]
        cells = []
        for p in preds.values():
            d = p[sel][:, pix] - t
            cells.append(f"{np.median(np.abs(d)):.5f} / {np.percentile(np.abs(d), 95):.5f} / "
                         f"{np.mean(d[t < 0.9]):+.4f}")
        lines.append(f"| {lo:g}–{hi:g} | {int(sel.sum())} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
