"""Retire the nodes of a grid that were made by a synthesis since changed.

When the way some nodes are computed changes (the supersolar atmospheres: the atmosnet
[M/H] change taken at fixed column mass before, at fixed log τ_Ross now), the nodes made the
old way must leave the grid before the campaign makes them again — a grid never mixes two
syntheses. :func:`retire_nodes` removes every node with a label above a bound from every
chunk of every instrument folder (each chunk rewritten atomically; a chunk left empty is
deleted), then records the change in the manifest: the new ``atmospheres`` provenance (which
the campaign checks, so it refuses a grid whose retirement is unfinished) and an entry under
``provenance.retired``. Interrupted, it is simply run again: the chunk rewrites are
idempotent and the manifest is written last.

A grid whose manifest already records the target atmospheres is left alone: every node in it
was made with them (the campaign refuses to add to a grid made otherwise), so the nodes above
the bound there are the ones made again, not the ones to retire. That keeps the retirement a
no-op once done — it runs at the start of every campaign — unless ``force`` is given.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from ..exceptions import GridError
from .format import LABEL_NAMES, read_chunk, write_chunk, write_json_atomic

__all__ = ["records_atmospheres", "retire_nodes"]


def records_atmospheres(root: str | Path, atmospheres: str) -> bool:
    """Whether a grid's manifest records ``atmospheres`` (so its nodes were made with them)."""
    manifest_path = Path(root) / "manifest.json"
    if not manifest_path.is_file():
        return False
    return json.loads(manifest_path.read_text()).get("provenance", {}).get(
        "atmospheres") == atmospheres


def retire_nodes(
    root: str | Path,
    label: str,
    above: float,
    *,
    atmospheres: str,
    reason: str,
    force: bool = False,
) -> dict[str, int]:
    """Remove the nodes whose ``label`` exceeds ``above`` from a grid and record it.

    Parameters
    ----------
    root : str or pathlib.Path
        Grid folder (``manifest.json`` and one sub-folder of chunks per instrument).
    label : {"teff", "logg", "m_h"}
        The label bounded.
    above : float
        Nodes with ``label > above`` (by more than 1e-9) are removed.
    atmospheres : str
        The ``provenance.atmospheres`` the grid's remaining and future nodes are made with.
    reason : str
        Why; stored with the count in ``provenance.retired``.
    force : bool, optional
        Remove the nodes even when the manifest already records ``atmospheres`` (by default
        such a grid is left untouched: its nodes above the bound were made with them).

    Returns
    -------
    dict
        Nodes removed now per instrument folder (0 everywhere on a rerun, and for a grid
        already made with ``atmospheres``).
    """
    root = Path(root)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise GridError(f"{root}: no manifest.json (not a node grid)")
    if label not in LABEL_NAMES:
        raise GridError(f"label must be one of {', '.join(LABEL_NAMES)}, not {label!r}")
    column = LABEL_NAMES.index(label)
    manifest = json.loads(manifest_path.read_text())
    removed: dict[str, int] = {name: 0 for name in sorted(manifest.get("instruments", {}))}
    if manifest.get("provenance", {}).get("atmospheres") == atmospheres and not force:
        return removed
    for name in removed:
        for chunk in sorted((root / name).glob("chunk_*.npz")):
            labels, flux, seconds = read_chunk(chunk)
            keep = ~(labels[:, column] > above + 1e-9)
            if keep.all():
                continue
            removed[name] += int((~keep).sum())
            if keep.any():
                write_chunk(chunk, labels[keep], flux[keep], seconds[keep])
            else:
                chunk.unlink()
    provenance = manifest.setdefault("provenance", {})
    if any(removed.values()) or provenance.get("atmospheres") != atmospheres:
        provenance.setdefault("retired", []).append({
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "nodes": f"{label} > {above:g}",
            "removed": removed,
            "reason": reason,
            "atmospheres_before": provenance.get("atmospheres"),
        })
        provenance["atmospheres"] = atmospheres
        write_json_atomic(manifest_path, manifest)
    return removed


def removed_summary(removed: dict[str, int]) -> str:
    """One line: nodes removed per instrument."""
    return ", ".join(f"{name} {n}" for name, n in removed.items()) or "no instrument folders"

