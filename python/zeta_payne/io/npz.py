"""The documented ``.npz`` spectrum format of ``zeta-payne fit``.

Arrays (all of one length N, or with a leading axis of length M for M spectra):

* ``wavelength`` — vacuum wavelength [Å], increasing (shape (N,) shared, or (M, N));
* ``flux`` — flux, any units;
* ``ivar`` — inverse variance of ``flux``;
* ``wresl`` (optional) — LSF FWHM [Å] per pixel;
* ``pixel_flags`` (optional) — integer flags, non-zero pixels are excluded;
* ``name`` (optional) — identifier(s);
* ``frame`` (optional) — ``"rest"`` (the radial velocity removed) or ``"observed"``; a
  scalar string for every spectrum of the file. It sets the RV search range of ``fit``.

Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import os

import numpy as np

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.registry import register_reader
from zeta_payne.spectrum import FRAMES, Spectrum

__all__ = ["read_npz", "write_npz"]


def _identify(path: str) -> bool:
    # By name: an .npz without the arrays is this format gone wrong, and read_npz says what
    # is missing (rather than "not a recognised spectrum file").
    return path.lower().endswith(".npz")


def read_npz(path: str | os.PathLike) -> list[Spectrum]:
    """Read one or more spectra from a ``.npz`` file (see the module docstring)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:
        raise SpectrumError(f"{path}: not a readable npz file ({exc})") from exc
    missing = {"wavelength", "flux", "ivar"} - set(data)
    if missing:
        raise SpectrumError(f"{path}: missing arrays {sorted(missing)}")
    flux = np.atleast_2d(data["flux"])
    m = flux.shape[0]
    frame = None
    if "frame" in data:
        frame = str(np.asarray(data["frame"]).ravel()[0]).strip().lower()
        if frame not in FRAMES:
            raise SpectrumError(f"{path}: frame must be one of {FRAMES}, not {frame!r}")

    out = []
    for i in range(m):
        wave = data["wavelength"] if np.ndim(data["wavelength"]) == 1 else data["wavelength"][i]
        ivar = np.atleast_2d(data["ivar"])[i]
        wresl = None
        if "wresl" in data:
            w = np.asarray(data["wresl"])
            wresl = w if w.ndim == 1 else w[i]
        mask = None
        if "pixel_flags" in data:
            pf = np.asarray(data["pixel_flags"])
            mask = (pf if pf.ndim == 1 else pf[i]) != 0
        name = None
        if "name" in data:
            names = np.atleast_1d(data["name"])
            name = str(names[i]) if names.size == m else str(names[0])
        meta = {
            "file": os.fspath(path),
            "index": i,
            "name": name or f"{os.path.basename(os.fspath(path))}[{i}]",
        }
        out.append(Spectrum(wave, flux[i], ivar, lsf_fwhm=wresl, pixel_mask=mask, meta=meta, frame=frame))
    return out


def write_npz(
    path: str | os.PathLike,
    wavelength: np.ndarray,
    flux: np.ndarray,
    ivar: np.ndarray,
    wresl: np.ndarray | None = None,
    pixel_flags: np.ndarray | None = None,
    name: str | list[str] | None = None,
    frame: str | None = None,
    **extra: np.ndarray,
) -> None:
    """Write spectra in the format read by :func:`read_npz` (extra arrays are kept)."""
    arrays = {"wavelength": wavelength, "flux": flux, "ivar": ivar, **extra}
    if frame is not None:
        arrays["frame"] = np.asarray(frame, dtype=str)
    if wresl is not None:
        arrays["wresl"] = wresl
    if pixel_flags is not None:
        arrays["pixel_flags"] = pixel_flags
    if name is not None:
        arrays["name"] = np.asarray(name, dtype=str)
    np.savez(path, **arrays)


register_reader("npz", _identify, read_npz, "zeta-payne .npz spectrum (wavelength, flux, ivar, ...)")
