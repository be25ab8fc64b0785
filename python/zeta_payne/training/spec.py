"""What a training run is asked for: :class:`TrainingSpec`, and the label box it implies.

:func:`training_box` turns the spec's box choice (the paper's or the grid's), its explicit
ranges and the v_micro response into the ranges the training labels are drawn from, cut to
the lattice on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from zeta_payne.grids.nodes import NodeGrid
from zeta_payne.training.sampling import PAPER_BOX

__all__ = ["TrainingSpec", "training_box"]

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
