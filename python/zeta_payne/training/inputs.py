"""What a training run is made from: the lattice, its generator, the pixels and the box.

:func:`prepare_inputs` reads the node grid a :class:`~zeta_payne.training.spec.TrainingSpec`
names — with its v_micro response grids and jump-factor grid when the spec gives them — and
fixes everything the training set, the accuracy measurements and the bundle's record are
made from (:class:`TrainingInputs`); :func:`build_training_set` makes the spectra.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zeta_payne.bundles.manifest import INSTRUMENT_COVERAGE
from zeta_payne.grids.coverage import logg_floor
from zeta_payne.grids.generator import GridGenerator
from zeta_payne.grids.nodes import NodeGrid, complete_lattice
from zeta_payne.grids.stencil import parse_points
from zeta_payne.training.labels import LABELS
from zeta_payne.training.spec import TrainingSpec, training_box

if TYPE_CHECKING:
    from zeta_payne.grids.vmicro import VMicroResponse

__all__ = ["TrainingInputs", "build_training_set", "load_continuum_grid", "prepare_inputs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingInputs:
    """The fixed inputs of one training run (:func:`prepare_inputs`).

    Attributes
    ----------
    grid_path : pathlib.Path
        The node grid's folder.
    grid_sha256 : str
        SHA-256 of its ``manifest.json`` ("" without one).
    grid : zeta_payne.grids.nodes.NodeGrid
        The nodes trained on: the complete sub-lattice on disk or every node (``spec.lattice``).
    generator : zeta_payne.grids.generator.GridGenerator
        Spectra at any labels of the box, on the grid's model wavelengths.
    label_names : tuple of str
        :data:`~zeta_payne.training.labels.LABELS`, and "v_micro" with a response.
    response : zeta_payne.grids.vmicro.VMicroResponse or None
        The v_micro response, when ``spec.vmicro_grids`` are given.
    continuum : zeta_payne.grids.nodes.NodeGrid or None
        The jump-factor grid, when ``spec.continuum_grid`` is given.
    pixels : slice
        The model pixels kept (the spec's wavelength range or the instrument's coverage).
    box : dict
        ``{label: (min, max)}`` the training labels are drawn from (K, dex, km/s, dex[, km/s]).
    floor : list of (float, float, float)
        Cells below whose log g the lattice has no atmospheres
        (:func:`~zeta_payne.grids.coverage.logg_floor`).
    """

    grid_path: Path
    grid_sha256: str
    grid: NodeGrid
    generator: GridGenerator
    label_names: tuple[str, ...]
    response: VMicroResponse | None
    continuum: NodeGrid | None
    pixels: slice
    box: dict[str, tuple[float, float]]
    floor: list[tuple[float, float, float]]

    @property
    def wavelength(self) -> np.ndarray:
        """The kept model wavelengths [Å, vacuum], shape (P,)."""
        return self.generator.wavelength[self.pixels]


def prepare_inputs(grid_path: str | Path, spec: TrainingSpec) -> TrainingInputs:
    """Read the grid ``spec`` trains on and fix the lattice, generator, pixels and box.

    Raises
    ------
    ValueError
        An unknown ``spec.lattice``, a box that misses the lattice, or a jump-factor grid that
        is not one or lacks training nodes.
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
    continuum = (load_continuum_grid(spec.continuum_grid, spec.instrument, spec.stencil, grid)
                 if spec.continuum_grid else None)
    generator = GridGenerator(grid, label_names, instrument=spec.instrument, response=response,
                              missing="nan", continuum=continuum)
    box = training_box(grid, spec.box, spec.label_ranges,
                       None if response is None else response.v_micro_range)
    floor = logg_floor(grid, box["logg"])
    if floor:
        log.info("no training spectra below the log g floor (atmosphere holes): %s", floor)
    return TrainingInputs(
        grid_path=grid_path, grid_sha256=grid_sha, grid=grid, generator=generator,
        label_names=tuple(label_names), response=response, continuum=continuum,
        pixels=_kept_pixels(generator.wavelength, spec), box=box, floor=floor,
    )


def _kept_pixels(lam: np.ndarray, spec: TrainingSpec) -> slice:
    """The model pixels within the spec's wavelength range (default: the coverage + 0.5 %)."""
    lo, hi = spec.wavelength_range or (
        INSTRUMENT_COVERAGE[spec.instrument][0] * 0.995,
        INSTRUMENT_COVERAGE[spec.instrument][1] * 1.005,
    )
    i0 = int(np.searchsorted(lam, lo))
    i1 = int(np.searchsorted(lam, hi, side="right"))
    return slice(max(i0, 0), min(i1, lam.size))


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


def load_continuum_grid(
    path: str | Path, instrument: str, stencil: Sequence[int], grid: NodeGrid
) -> NodeGrid:
    """The jump-factor grid at ``path``, checked to hold every node of the training lattice.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``zeta-payne grid continuum`` grid (provenance kind ``continuum-jump-factor``).
    instrument : str
        Whose pixels to load.
    stencil : sequence of int
        The training generator's interpolation stencil (teff, logg, m_h), given to it too.
    grid : zeta_payne.grids.nodes.NodeGrid
        The training lattice; every one of its nodes must be in the jump-factor grid.

    Raises
    ------
    ValueError
        Not a jump-factor grid, or nodes of the training lattice are missing from it.
    """
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
