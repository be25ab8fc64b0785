"""Join two node grids that cover adjacent wavelength ranges into one.

A grid's wavelength range can be extended without resynthesizing what exists: synthesize
the new range as its own grid, starting at the pixel after the old grid's last (same log-λ
step, same nodes, same synthesis settings), then join the two. The flux is copied as stored
(uint16), so the joined grid is bit-identical to one synthesized over the whole range in
one go, apart from the synthesis segment boundaries.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from ..exceptions import GridError
from .format import write_chunk, write_json_atomic
from .nodes import label_keys, read_node_chunks

__all__ = ["concatenate_grids", "next_wave_start"]

log = logging.getLogger(__name__)

#: Provenance entries that must agree for two grids to be joined.
_SAME_PROVENANCE = ("linelist_sha256", "atmosphere_source_sha256", "synthesis_dlnlambda",
                    "abundances", "synthesis")


def next_wave_start(grid: str | Path, instrument: str) -> float:
    """The wavelength [Å, vacuum] of the pixel after a grid's last one.

    Synthesize an extension from here (``zeta-payne grid synthesize --model-range
    INSTRUMENT START STOP``) so that it joins the grid without resampling.
    """
    spec = _manifest(Path(grid))["instruments"][instrument]
    return float(spec["wave_start"] * 10.0 ** (spec["log10_step"] * spec["npix"]))


def _manifest(path: Path) -> dict:
    try:
        return json.loads((path / "manifest.json").read_text())
    except FileNotFoundError:
        raise GridError(f"no manifest.json in {path}") from None


def concatenate_grids(
    blue: str | Path, red: str | Path, out: str | Path, instrument: str, chunk_size: int = 10
) -> dict:
    """Write the grid ``out`` = ``blue`` followed in wavelength by ``red``.

    Parameters
    ----------
    blue, red : str or pathlib.Path
        Node grid folders. ``red`` must start at the pixel after ``blue``'s last
        (:func:`next_wave_start`), with the same log-λ step, model resolution, flux
        encoding, labels and synthesis settings.
    out : str or pathlib.Path
        New grid folder (must not exist, or be empty).
    instrument : str
        The instrument whose model grids are joined (the output holds only this one).
    chunk_size : int
        Nodes per output chunk file.

    Returns
    -------
    dict
        ``nodes`` (joined), ``only_blue`` and ``only_red`` (node labels present in one grid
        only, left out), ``npix``.

    Raises
    ------
    GridError
        If the grids do not join: different settings, a gap or overlap in wavelength, or no
        node in common.
    """
    blue, red, out = Path(blue), Path(red), Path(out)
    mb, mr = _manifest(blue), _manifest(red)
    for m, p in ((mb, blue), (mr, red)):
        if instrument not in m["instruments"]:
            raise GridError(f"{p}: no {instrument} model grid")
    gb, gr = mb["instruments"][instrument], mr["instruments"][instrument]
    for key in ("R_model", "medium", "flux_scale", "dtype"):
        if gb.get(key) != gr.get(key):
            raise GridError(f"cannot join: {key} differs ({gb.get(key)} vs {gr.get(key)})")
    if abs(gb["log10_step"] - gr["log10_step"]) > 1e-9 * gb["log10_step"]:
        raise GridError("cannot join: the log-λ steps differ")
    gap = (np.log10(gr["wave_start"]) - np.log10(gb["wave_start"])) / gb["log10_step"] - gb["npix"]
    if abs(gap) > 0.01:
        raise GridError(
            f"cannot join: {red} starts {gap:+.2f} pixels from the pixel after {blue}'s last "
            f"(synthesize it from {next_wave_start(blue, instrument)!r} Å)"
        )
    for key in ("label_names", "fixed_labels"):
        if mb[key] != mr[key]:
            raise GridError(f"cannot join: {key} differs")
    pb, pr = mb.get("provenance", {}), mr.get("provenance", {})
    for key in _SAME_PROVENANCE:
        if json.dumps(pb.get(key), sort_keys=True) != json.dumps(pr.get(key), sort_keys=True):
            raise GridError(f"cannot join: made with other synthesis settings ({key})")

    lab_b, flux_b, sec_b = read_node_chunks(blue, instrument, gb["npix"])
    lab_r, flux_r, sec_r = read_node_chunks(red, instrument, gr["npix"])
    keys_b = {tuple(k): i for i, k in enumerate(label_keys(lab_b))}
    keys_r = {tuple(k): i for i, k in enumerate(label_keys(lab_r))}
    common = [k for k in keys_b if k in keys_r]
    if not common:
        raise GridError("cannot join: no node in common")
    ib = np.array([keys_b[k] for k in common])
    ir = np.array([keys_r[k] for k in common])

    if out.exists() and any(out.iterdir()):
        raise GridError(f"{out} exists and is not empty")
    tmp = out.with_name(f".tmp_{out.name}")
    if tmp.exists():
        shutil.rmtree(tmp)
    joined = dict(gb, npix=int(gb["npix"] + gr["npix"]))
    manifest = dict(mb, name=out.name, instruments={instrument: joined})
    prov = dict(pb)
    segments_b = (pb.get("synthesis_segments_air") or {}).get(instrument, [])
    segments_r = (pr.get("synthesis_segments_air") or {}).get(instrument, [])
    prov["synthesis_segments_air"] = {instrument: list(segments_b) + list(segments_r)}
    prov["joined_from"] = [
        {"name": m.get("name"), "wave_start": g["wave_start"], "npix": g["npix"],
         "created": m.get("provenance", {}).get("created")}
        for m, g in ((mb, gb), (mr, gr))
    ]
    manifest["provenance"] = prov
    for start in range(0, len(common), chunk_size):
        sl = slice(start, start + chunk_size)
        write_chunk(tmp / instrument / f"chunk_{start // chunk_size:04d}.npz", lab_b[ib[sl]],
                    np.concatenate([flux_b[ib[sl]], flux_r[ir[sl]]], axis=1), sec_b[ib[sl]] + sec_r[ir[sl]])
    write_json_atomic(tmp / "manifest.json", manifest)
    if out.exists():
        out.rmdir()
    tmp.rename(out)
    only_b = [k for k in keys_b if k not in keys_r]
    only_r = [k for k in keys_r if k not in keys_b]
    if only_b or only_r:
        log.warning("%d nodes only in %s, %d only in %s: left out", len(only_b), blue, len(only_r), red)
    return {"nodes": len(common), "only_blue": only_b, "only_red": only_r, "npix": joined["npix"]}
