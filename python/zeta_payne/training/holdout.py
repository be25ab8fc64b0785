"""A trained bundle against held-out syntheses, after training (``zeta-payne bundle holdout``).

Training reports the network and its training generator against one held-out set, if one is
on disk when it runs. Sets synthesized later (the v3 synthesis truth, the lattice's midpoint
probes) are scored here against the same generator — the training grid, lattice and stencil
the bundle's provenance records — and can be written into the bundle's
``emulator_accuracy.md`` as a new bundle version.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from zeta_payne.exceptions import BundleError

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle

__all__ = ["bundle_holdout", "replace_holdout_sections"]

log = logging.getLogger(__name__)

#: Header that starts a held-out section of an accuracy report (``holdout_markdown``).
HOLDOUT_HEADER = "## Against real syntheses at "


def _training_grid(bundle, grid_path: str | Path | None):
    """The bundle's training lattice with its stencil, and warnings about its provenance."""
    from zeta_payne.grids.nodes import complete_lattice, load_node_grid
    from zeta_payne.grids.stencil import parse_points

    prov = bundle.manifest.provenance or {}
    training = prov.get("training") or {}
    recorded = (prov.get("grid") or {}).get("path") or prov.get("grid_path")
    path = Path(grid_path or recorded or "")
    if not (path / "manifest.json").is_file():
        raise BundleError(f"{bundle.name}@{bundle.version}: its training grid {str(path)!r} is not on "
                          "disk (give --grid)")
    warnings = []
    sha = hashlib.sha256((path / "manifest.json").read_bytes()).hexdigest()
    if sha != (prov.get("grid") or {}).get("manifest_sha256", sha):
        warnings.append(f"{path}: its manifest changed since the bundle was trained")
    on_disk = load_node_grid(path, bundle.instrument)
    n_trained = (prov.get("grid") or {}).get("n_nodes")
    on_disk.points = parse_points(training.get("stencil") or (2, 2, 2))
    grid = complete_lattice(on_disk) if training.get("lattice", "complete") == "complete" else on_disk
    if n_trained is not None and len(grid) != n_trained:
        warnings.append(f"{path}: {len(grid)} nodes on disk, the bundle was trained on {n_trained}")
    continuum = None
    if training.get("continuum_grid"):
        from zeta_payne.training.inputs import load_continuum_grid

        continuum = load_continuum_grid(training["continuum_grid"], bundle.instrument, on_disk.points, grid)
    return grid, continuum, warnings


def _pixels(bundle, wavelength: np.ndarray) -> slice:
    """The grid pixels the bundle keeps."""
    lam = np.asarray(bundle.grid.wavelength, dtype=float)
    i0 = int(np.argmin(np.abs(wavelength - lam[0])))
    sl = slice(i0, i0 + lam.size)
    if sl.stop > wavelength.size or not np.allclose(wavelength[sl], lam, rtol=1e-7):
        raise BundleError(f"{bundle.name}@{bundle.version}: its pixels are not the training grid's")
    return sl


def bundle_holdout(
    bundle: Bundle,
    holdout_paths: Sequence[str | Path],
    grid_path: str | Path | None = None,
) -> tuple[list[dict], list[str]]:
    """Interpolation and emulator error of ``bundle`` at the nodes of held-out synthesis sets.

    Parameters
    ----------
    bundle : zeta_payne.bundles.bundle.Bundle
        A trained bundle (its provenance names the training grid, lattice and stencil).
    holdout_paths : sequence of path-like
        Node-grid folders of syntheses off the lattice (any resolution at or above the
        grid's; they are degraded to it).
    grid_path : path-like, optional
        The training grid, if not where the provenance says.

    Returns
    -------
    results : list of dict
        Per set: ``grid`` (its path) and :func:`~zeta_payne.training.pipeline.holdout_errors`.
    warnings : list of str
        Differences between the grid on disk and the one the bundle was trained on.
    """
    from zeta_payne.training.accuracy import holdout_errors, holdout_on_grid

    grid, continuum, warnings = _training_grid(bundle, grid_path)
    pixels = _pixels(bundle, grid.wavelength)
    names = list(bundle.manifest.label_names)
    vmic = (bundle.manifest.provenance or {}).get("vmicro_response") or {}
    fixed = {"v_micro": float(vmic.get("reference", 2.0))} if "v_micro" in names else None
    reference = ((grid.manifest or {}).get("fixed_labels") or {}).get("v_micro")
    results = []
    for path in holdout_paths:
        held_grid = holdout_on_grid(path, bundle.instrument, grid)
        v = ((held_grid.manifest or {}).get("fixed_labels") or {}).get("v_micro")
        if v is not None and reference is not None and float(v) != float(reference):
            raise BundleError(f"{path}: synthesized at v_micro {v:g} km/s, the training lattice at "
                              f"{reference:g}: not a held-out set of it")
        held = holdout_errors(grid, bundle.weights, held_grid, pixels, names, fixed, continuum=continuum)
        results.append({"grid": str(path), **held})
    return results, warnings


def replace_holdout_sections(report: str, sections: Sequence[str]) -> str:
    """An accuracy report with its held-out sections replaced by ``sections``.

    The new sections go where the first old one was, else before the validation set's
    region table, else at the end.

    Parameters
    ----------
    report : str
        ``emulator_accuracy.md``.
    sections : sequence of str
        Markdown sections, each starting with :data:`HOLDOUT_HEADER`.
    """
    blocks: list[str] = []
    current: list[str] = []
    for line in report.splitlines():
        if line.startswith("## ") and current:
            blocks.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    at = next((i for i, b in enumerate(blocks) if b.startswith(HOLDOUT_HEADER)), None)
    kept = [b for b in blocks if not b.startswith(HOLDOUT_HEADER)]
    if at is None:
        at = next((i for i, b in enumerate(kept) if b.startswith("## Median")), len(kept))
    out = kept[:at] + list(sections) + kept[at:]
    return "\n\n".join(b.strip("\n") for b in out) + "\n"
