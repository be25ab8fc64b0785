"""Registry of spectrum readers: a new file format is a new registered function.

A reader is registered with a name, an ``identify(path) -> bool`` function and a
``read(path, **kwargs) -> list[Spectrum]`` function. :func:`read_spectra` tries the
readers in registration order (or uses the one named by ``format``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from zeta_payne.exceptions import SpectrumError
from zeta_payne.spectrum import Spectrum

__all__ = ["Reader", "register_reader", "read_spectra", "readers"]


@dataclass(frozen=True)
class Reader:
    """A registered spectrum reader."""

    name: str
    identify: Callable[[str], bool]
    read: Callable[..., list[Spectrum]]
    description: str = ""
    priority: int = 0


_READERS: dict[str, Reader] = {}


def register_reader(
    name: str,
    identify: Callable[[str], bool],
    read: Callable[..., list[Spectrum]],
    description: str = "",
    priority: int = 0,
) -> None:
    """Register (or replace) a reader under ``name``.

    Readers are tried by decreasing ``priority``, then in registration order: a reader that
    recognises its files by a specific mark (LAMOST's ``TELESCOP``) goes before generic ones.
    """
    _READERS[name] = Reader(name, identify, read, description, priority)


def readers() -> dict[str, Reader]:
    """The registered readers by name (importing the built-in ones first)."""
    _load_builtin()
    order = sorted(_READERS.values(), key=lambda r: -r.priority)  # stable: registration order kept
    return {r.name: r for r in order}


def _load_builtin() -> None:
    # Importing the modules registers their readers.
    from zeta_payne.io import lamost, miles, npz, stelib  # noqa: F401

    try:
        from zeta_payne.io import sdss  # noqa: F401
    except ImportError:  # pragma: no cover - SDSS readers not available
        pass


def read_spectra(path: str | os.PathLike, format: str | None = None, **kwargs) -> list[Spectrum]:
    """Read every spectrum in a file.

    Parameters
    ----------
    path : path-like
        The file.
    format : str, optional
        Name of a registered reader; by default the first whose ``identify`` accepts the file.
    **kwargs
        Passed to the reader.

    Raises
    ------
    SpectrumError
        Unknown format, unreadable or malformed file.
    """
    path = os.fspath(path)
    available = readers()
    if not os.path.isfile(path):
        raise SpectrumError(f"{path}: no such file")
    if format is not None:
        if format not in available:
            raise SpectrumError(f"unknown format {format!r}; known: {', '.join(available)}")
        chosen = available[format]
    else:
        chosen = next((r for r in available.values() if _safe_identify(r, path)), None)
        if chosen is None:
            note = _truncation(path) or f"not a recognised spectrum file ({', '.join(available)})"
            raise SpectrumError(f"{path}: {note}")
    try:
        return chosen.read(path, **kwargs)
    except SpectrumError as exc:
        note = _truncation(path)
        if note:
            raise SpectrumError(f"{path}: {note} ({exc})") from exc
        raise
    except Exception as exc:
        note = _truncation(path) or f"cannot read as {chosen.name}"
        raise SpectrumError(f"{path}: {note}: {type(exc).__name__}: {exc}") from exc


def _truncation(path: str) -> str | None:
    """``"truncated FITS file ..."`` for an uncompressed FITS file cut short, else ``None``."""
    if not path.lower().endswith((".fits", ".fit", ".fts")):
        return None
    size = os.path.getsize(path)
    if size % 2880 == 0:
        return None
    return f"truncated FITS file ({size} bytes, not a whole number of 2880-byte blocks)"


def _safe_identify(reader: Reader, path: str) -> bool:
    try:
        return bool(reader.identify(path))
    except Exception:
        return False
