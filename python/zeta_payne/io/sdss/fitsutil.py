"""Small FITS helpers shared by the SDSS readers and writers."""

from __future__ import annotations

import datetime
import glob
import os
import socket
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError, VerifyWarning

from zeta_payne.exceptions import SpectrumError

__all__ = [
    "FITS_ERRORS",
    "atomic_write",
    "open_fits",
    "remove_temporary_files",
    "temporary_files",
    "primary_header",
    "read_column",
    "set_cards",
    "table_column",
    "utc_now",
]


#: What astropy raises on damaged files (bad cards, impossible sizes, truncation).
FITS_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    MemoryError,
    VerifyError,
)


@contextmanager
def open_fits(path: str | os.PathLike) -> Iterator[fits.HDUList]:
    """Open a FITS file read-only (truncation warnings silenced).

    Any error of a damaged file — on opening, or while the block reads it — becomes a
    :class:`SpectrumError` naming the file.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (VerifyWarning, UserWarning))
            hdul = fits.open(os.fspath(path), memmap=False, lazy_load_hdus=True)
    except FITS_ERRORS as exc:
        raise SpectrumError(f"{path}: not a readable FITS file ({_brief(exc)})") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (VerifyWarning, UserWarning))
            yield hdul
    except SpectrumError:
        raise
    except FITS_ERRORS as exc:
        raise SpectrumError(f"{path}: damaged FITS file ({_brief(exc)})") from exc
    finally:
        try:
            hdul.close()
        except FITS_ERRORS:  # closing a damaged file
            pass


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def primary_header(path: str | os.PathLike) -> fits.Header | None:
    """The primary header, or ``None`` when the file is not FITS (never raises)."""
    try:
        with open_fits(path) as hdul:
            return hdul[0].header.copy()
    except Exception:
        return None


def read_column(hdu: fits.BinTableHDU, name: str, row: int) -> np.ndarray | None:
    """One row of a table column as a float/int array, or ``None`` if the column is absent."""
    names = [n.lower() for n in hdu.columns.names]
    if name.lower() not in names:
        return None
    column = hdu.columns.names[names.index(name.lower())]
    return np.array(hdu.data[column][row]).ravel()


def table_column(name: str, values: Any, n_rows: int) -> fits.Column:
    """A binary-table column from scalars or equal-length vectors (one per row)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        arr = np.array(["" if v is None else str(v) for v in arr.ravel()])
    if arr.dtype.kind in "US":
        width = max(1, max((len(str(v)) for v in arr.ravel()), default=1))
        return fits.Column(name=name, format=f"{width}A", array=arr.astype(str))
    if arr.ndim == 1 and arr.shape[0] == n_rows:
        fmt = {"f": "E" if arr.dtype.itemsize <= 4 else "D", "i": "K", "u": "K", "b": "L"}[arr.dtype.kind]
        return fits.Column(name=name, format=fmt, array=arr)
    arr = arr.reshape(n_rows, -1)
    n = arr.shape[1]
    code = {"f": "E" if arr.dtype.itemsize <= 4 else "D", "i": "J" if arr.dtype.itemsize <= 4 else "K"}
    code["u"] = code["i"]
    return fits.Column(name=name, format=f"{n}{code[arr.dtype.kind]}", array=arr)


def set_cards(header: fits.Header, mapping: Mapping[str, str], values: Mapping[str, Any]) -> None:
    """Set ``header[mapping[name]] = values[name]`` for the values given (long keys as HIERARCH)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        for name, key in mapping.items():
            if values.get(name) is not None:
                header[key] = values[name]


def utc_now() -> str:
    """Current UTC time as ``YYYY-MM-DD HH:MM:SS``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def atomic_write(hdul: fits.HDUList, path: str | os.PathLike, overwrite: bool = True) -> str:
    """Write ``hdul`` to a temporary file in the destination folder, then rename it into place.

    Readers never see a half-written file. Returns the path written.
    """
    dest = os.fspath(path)
    if os.path.exists(dest) and not overwrite:
        raise FileExistsError(dest)
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(dest), suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            hdul.writeto(tmp, overwrite=True, checksum=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return dest


def _temporary_prefix(dest: str) -> str:
    """``.<name>.<host>.<pid>.``: temporary files say which process wrote them."""
    host = socket.gethostname().replace(os.sep, "_") or "localhost"
    return f".{os.path.basename(dest)}.{host}.{os.getpid()}."


def temporary_files(dest: str | os.PathLike) -> list[tuple[str, str, int]]:
    """Temporary files left next to ``dest`` by :func:`atomic_write`: ``(path, host, pid)``."""
    dest = os.fspath(dest)
    base = os.path.basename(dest)
    pattern = os.path.join(glob.escape(os.path.dirname(os.path.abspath(dest))), f".{glob.escape(base)}.*.tmp")
    out = []
    for path in glob.glob(pattern):
        parts = os.path.basename(path)[len(base) + 2 :].split(".")
        # <host (may hold dots)>.<pid>.<random>.tmp
        if len(parts) >= 4 and parts[-3].isdigit():
            out.append((path, ".".join(parts[:-3]), int(parts[-3])))
        else:
            out.append((path, "", -1))
    return out


def remove_temporary_files(dest: str | os.PathLike, keep_pid: int | None = None) -> int:
    """Remove the temporary files next to ``dest`` (a writer killed mid-write leaves one).

    Call it only when no live process can be writing ``dest`` (e.g. after taking over the
    claim of a dead worker). Files of this host's process ``keep_pid`` are kept. Returns how
    many were removed.
    """
    host = socket.gethostname().replace(os.sep, "_") or "localhost"
    removed = 0
    for path, owner, pid in temporary_files(dest):
        if keep_pid is not None and pid == keep_pid and owner == host:
            continue
        try:
            os.remove(path)
            removed += 1
        except FileNotFoundError:
            continue
    return removed
