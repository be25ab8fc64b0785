"""``zeta-payne grid continuum``: the jump factor of every node of a grid, as a node grid of its own.

For each node of a source grid (every label triple on disk, all refinement levels), SME's
continuum (:func:`~zeta_payne.grids.continuum.synthesize_continuum`) is turned into the jump
factor J = C / E on the source's BOSS model grid
(:func:`~zeta_payne.grids.continuum.jump_factor_on_grid`) and stored in the node-grid format
(``flux_scale`` 25,000: J reaches 1.34 in metal-poor A giants, above the normalised format's
1.31) in ``<source>-continuum/``, with the source's lattice and levels — so
:func:`~zeta_payne.grids.nodes.load_node_grid` and its stencils interpolate J exactly as they
interpolate the spectra. Resumable (finished nodes are never recomputed; chunks are written
atomically), ≈ 3 CPU s per node; run it again after the source grid has grown.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import multiprocessing
import time
from pathlib import Path

import numpy as np

from ..exceptions import GridError
from ..threads import exit_with_parent, pin_threads
from .campaign import ATMOSPHERES_FIXED_RHOX, _done_keys
from .format import (
    SCHEMA,
    ModelWavelengthGrid,
    encode_flux,
    read_chunk,
    write_chunk,
    write_json_atomic,
)
from .nodes import label_keys

__all__ = ["CONTINUUM_FLUX_SCALE", "continuum_manifest", "run_continuum"]

log = logging.getLogger(__name__)

#: uint16 scale of the stored jump factor (0 ≤ J ≤ 2.62, resolution 4e-5).
CONTINUUM_FLUX_SCALE = 25000.0
#: Air range [Å] of the continuum samples: the BOSS model grid (3,600–10,400 Å vacuum) plus the
#: smoothing margin.
_RANGE_AIR = (3540.0, 10500.0)
_STATE: dict = {}


def continuum_manifest(source: dict, instrument: str = "boss") -> dict:
    """The manifest of the jump-factor grid of a source grid's manifest.

    Parameters
    ----------
    source : dict
        The source grid's ``manifest.json``.
    instrument : str
        The instrument whose model grid J is put on.

    Returns
    -------
    dict
        Same schema, labels, lattice, levels and the instrument's patches; one instrument
        with ``flux_scale`` :data:`CONTINUUM_FLUX_SCALE`; ``provenance.kind`` =
        ``"continuum-jump-factor"``.
    """
    from .continuum import COARSE_STEP, DENSE_STEP, DENSE_WINDOWS_AIR, ENVELOPE_DEGREE

    if instrument not in source.get("instruments", {}):
        raise GridError(f"source grid {source.get('name')} has no {instrument} model grid")
    spec = dict(source["instruments"][instrument])
    spec["flux_scale"] = CONTINUUM_FLUX_SCALE
    patches = [p for p in source.get("patches", []) if instrument in p["instruments"]]
    return {
        "schema": SCHEMA,
        "name": f"{source['name']}-continuum",
        "label_names": source["label_names"],
        "label_units": source["label_units"],
        "fixed_labels": source.get("fixed_labels", {}),
        "instruments": {instrument: spec},
        "node_axes": source["node_axes"],
        "levels": source["levels"],
        **({"patches": patches} if patches else {}),
        "provenance": {
            "kind": "continuum-jump-factor",
            "quantity": "J = C / E: SME's continuum flux over its envelope E = exp(P(ln lambda)), P of "
            f"degree {ENVELOPE_DEGREE} fitted to ln C over {_RANGE_AIR[0]:g}-{_RANGE_AIR[1]:g} A (air); "
            "Gaussian to R_model, air to vacuum, on the model grid",
            "source_grid": source["name"],
            "atmospheres": source.get("provenance", {}).get("atmospheres"),
            "sampling": {
                "coarse_dlnlambda": COARSE_STEP,
                "dense_windows_air": [list(w) for w in DENSE_WINDOWS_AIR],
                "dense_step_angstrom": DENSE_STEP,
            },
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    }


def _source_labels(root: Path, instrument: str) -> np.ndarray:
    rows = [read_chunk(c)[0] for c in sorted((root / instrument).glob("chunk_*.npz"))]
    if not rows:
        raise GridError(f"{root}: no {instrument} chunks")
    labels = np.concatenate(rows)
    _, first = np.unique(label_keys(labels), axis=0, return_index=True)
    return labels[np.sort(first)]


def _init_worker(grid_spec: dict, linelist: str, v_micro: float) -> None:
    pin_threads(1, torch=False)
    exit_with_parent()
    logging.getLogger("pysme").setLevel(logging.WARNING)
    from .atmospheres import load_kurucz_grid
    from .sme import load_linelist

    lines = load_linelist(linelist)
    _STATE.update(
        grid=ModelWavelengthGrid.from_dict(grid_spec),
        lines=lines,
        atmospheres=load_kurucz_grid(),
        v_micro=v_micro,
    )


def _one(labels: np.ndarray) -> dict:
    from .atmospheres import get_atmosphere
    from .continuum import continuum_wavelengths, jump_factor_on_grid, synthesize_continuum
    from .sme import _sme_atmosphere

    cpu0 = time.process_time()
    teff, logg, m_h = (float(x) for x in labels)
    out: dict = {"labels": np.asarray(labels, float)}
    try:
        wave = continuum_wavelengths(*_RANGE_AIR)
        atmo = _sme_atmosphere(get_atmosphere(_STATE["atmospheres"], teff, logg, m_h))
        cont = synthesize_continuum(teff, logg, m_h, wave, _STATE["lines"], atmo, _STATE["v_micro"])
        out["flux"] = encode_flux(jump_factor_on_grid(_STATE["grid"], wave, cont), CONTINUUM_FLUX_SCALE)
    except Exception as err:  # one bad node must not stop the run
        out["error"] = f"{type(err).__name__}: {err}"
    out["seconds"] = time.process_time() - cpu0
    return out


def run_continuum(
    source: str | Path,
    out: str | Path | None = None,
    instrument: str = "boss",
    processes: int = 1,
    chunk_size: int = 16,
    linelist: str | Path = "data/linelists/obaf_merged.csv.gz",
) -> dict:
    """Compute the jump factor of every node of ``source`` not yet in ``out``.

    Parameters
    ----------
    source : path-like
        A node grid folder (with ``manifest.json`` and ``<instrument>/chunk_*.npz``).
    out : path-like, optional
        The jump-factor grid folder (default ``<source>-continuum`` beside it).
    instrument : str
        The model grid J is put on.
    processes : int
        Worker processes.
    chunk_size : int
        Nodes per chunk file.
    linelist : path-like
        Any line list of the backend's format (one of its hydrogen lines is passed to SME).

    Returns
    -------
    dict
        ``done`` (nodes now on disk), ``computed`` (this call), ``failed`` (labels and errors),
        ``cpu_seconds`` (this call).
    """
    source = Path(source)
    out = Path(out) if out is not None else source.with_name(source.name + "-continuum")
    manifest = json.loads((source / "manifest.json").read_text())
    new = continuum_manifest(manifest, instrument)
    if new["provenance"]["atmospheres"] == ATMOSPHERES_FIXED_RHOX:
        raise GridError(f"{source}: its [M/H] > +0.5 nodes were made with the atmospheres at fixed "
                        f"column mass; retire them first (`zeta-payne grid retire {source} --above m_h=0.5`)")
    if (out / "manifest.json").exists():
        old = json.loads((out / "manifest.json").read_text())
        if old["instruments"] != new["instruments"] or old["provenance"]["source_grid"] != manifest["name"]:
            raise GridError(f"{out} holds the jump factor of another grid or model grid")
        if old["provenance"].get("atmospheres") != new["provenance"]["atmospheres"]:
            raise GridError(f"{out}: made with other atmospheres than {source}'s; retire its nodes "
                            f"as the source's were (`zeta-payne grid retire {out} --above m_h=0.5`)")
        new["provenance"]["created"] = old["provenance"]["created"]
        if "retired" in old["provenance"]:  # the grid's history (grids.retire) stays with it
            new["provenance"]["retired"] = old["provenance"]["retired"]
    write_json_atomic(out / "manifest.json", new)  # the source's levels as they are now
    labels = _source_labels(source, instrument)
    done, index = _done_keys(out, [instrument])
    todo = [row for row, key in zip(labels, label_keys(labels), strict=True) if tuple(key) not in done]
    log.info("%s: %d nodes, %d on disk, %d to compute", out.name, len(labels), len(done), len(todo))
    result: dict = {"computed": 0, "failed": [], "cpu_seconds": 0.0}
    buf: list[dict] = []

    def flush() -> None:
        nonlocal index
        if buf:
            write_chunk(
                out / instrument / f"chunk_{index:04d}.npz",
                np.array([b["labels"] for b in buf]),
                np.array([b["flux"] for b in buf]),
                np.array([b["seconds"] for b in buf]),
            )
            index += 1
            buf.clear()

    init = (
        new["instruments"][instrument],
        str(linelist),
        float(manifest.get("fixed_labels", {}).get("v_micro", 2.0)),
    )
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(max(1, processes), initializer=_init_worker, initargs=init) as pool:
            for res in pool.imap_unordered(_one, todo):
                result["cpu_seconds"] += res["seconds"]
                if "error" in res:
                    result["failed"].append((res["labels"].tolist(), res["error"]))
                    log.warning("node %s failed: %s", res["labels"].tolist(), res["error"])
                    continue
                buf.append(res)
                result["computed"] += 1
                if len(buf) >= chunk_size:
                    flush()
        flush()
    result["done"] = len(done) + result["computed"]
    return result
