"""Result tables as files: CSV, FITS binary tables and ECSV, with units and flag definitions.

One writer for ``zeta-payne fit`` and ``zeta-payne db export``. The format follows the file
name (``.csv``; ``.fits``, ``.fit``, ``.fits.gz``; ``.ecsv``); anything else is refused.
FITS tables carry ``TUNITn`` (FITS unit strings, read back by
:meth:`astropy.table.Table.read`), ``TDISPn``, a description per column (``TCOMMn``, the
convention TOPCAT reads, and the ``TTYPEn`` comment), one boolean ``flag_<name>`` column per
result-flag bit with ``flag_bad``/``flag_warn``, and the bit definitions in the header
(``FLAGnn`` = name, ``BADMASK``, ``WARNMASK``).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zeta_payne.exceptions import ZetaPayneError

__all__ = [
    "LABEL_UNITS",
    "check_output",
    "column_disp",
    "column_unit",
    "flag_columns",
    "table_format",
    "write_table",
]

#: Units of the labels (and of their errors and initial values).
LABEL_UNITS: dict[str, str] = {
    "teff": "K",
    "logg": "dex",
    "v_sini": "km/s",
    "m_h": "dex",
    "v_micro": "km/s",
    "v_rad": "km/s",
}
_PREFIXES = ("e_", "raw_e_", "cov_e_", "initial_", "")
_DISP = {"teff": "F9.1", "logg": "F7.3", "v_sini": "F8.2", "m_h": "F7.3", "v_micro": "F7.3", "v_rad": "F8.2"}
_FORMATS = {".csv": "csv", ".fits": "fits", ".fit": "fits", ".fits.gz": "fits", ".ecsv": "ecsv"}


def table_format(path: str | os.PathLike) -> str:
    """``"csv"``, ``"fits"`` or ``"ecsv"`` from the file name.

    Raises
    ------
    ZetaPayneError
        Any other extension.
    """
    name = os.fspath(path).lower()
    for ext, kind in sorted(_FORMATS.items(), key=lambda item: -len(item[0])):
        if name.endswith(ext):
            return kind
    raise ZetaPayneError(
        f"{os.fspath(path)}: unknown table format; name the file .csv, .fits (or .fits.gz) or .ecsv"
    )


def check_output(path: str | os.PathLike, overwrite: bool = False) -> str:
    """The table format of ``path``, after checking that it can be written (nothing is created).

    Raises
    ------
    ZetaPayneError
        Unknown extension, the file exists (without ``overwrite``), a folder of that name,
        or its folder missing.
    """
    path = os.fspath(path)
    kind = table_format(path)
    if os.path.isdir(path):
        raise ZetaPayneError(f"{path} is a folder: give a file name")
    if os.path.exists(path) and not overwrite:
        raise ZetaPayneError(f"{path} exists: choose another name or pass --overwrite")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ZetaPayneError(f"{path}: the folder {folder} does not exist")
    return kind


def column_unit(name: str) -> str | None:
    """The unit of a result column (``teff``, ``e_teff``, ``raw_e_v_rad`` ...), else ``None``."""
    for prefix in _PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in LABEL_UNITS:
            return LABEL_UNITS[name[len(prefix) :]]
    if name in ("t_elapsed", "t_overhead"):
        return "s"
    return None


def column_disp(name: str) -> str | None:
    """A FITS ``TDISPn`` for a result column, else ``None``."""
    for prefix in _PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in _DISP:
            return _DISP[name[len(prefix) :]]
    if name in ("chi2", "rchi2", "snr") or name.startswith("rho_"):
        return {"chi2": "G12.5", "rchi2": "F9.3", "snr": "F8.1"}.get(name, "F7.3")
    return None


def flag_columns(flags: Sequence[int]) -> dict[str, np.ndarray]:
    """``flag_bad``, ``flag_warn`` and one ``flag_<name>`` per bit, as boolean arrays."""
    from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, ResultFlags

    values = np.array([int(f or 0) for f in flags], dtype=np.int64)
    out = {
        "flag_bad": (values & int(BAD_MASK)) != 0,
        "flag_warn": (values & int(WARN_MASK)) != 0,
    }
    for bit in ResultFlags:
        out[f"flag_{bit.name.lower()}"] = (values & int(bit)) != 0
    return out


def _flag_cards(descriptions: Mapping[str, str] | None) -> list[tuple[str, Any, str]]:
    from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, ResultFlags

    cards: list[tuple[str, Any, str]] = [
        ("BADMASK", int(BAD_MASK), "result_flags bits of flag_bad (labels unusable)"),
        ("WARNMASK", int(WARN_MASK), "result_flags bits of flag_warn (use with care)"),
    ]
    for bit in ResultFlags:
        index = int(bit).bit_length() - 1
        text = (descriptions or {}).get(bit.name.lower(), "")
        cards.append((f"FLAG{index:02d}", bit.name.lower(), f"bit {index}: {text}"[:46]))
    return cards


def _column_values(values: Sequence[Any]) -> tuple[str, np.ndarray]:
    """The kind (``float``, ``int``, ``bool``, ``str``, ``array``) and values of one column."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, np.ndarray | list | tuple) for v in present):
        width = max(len(v) for v in present) or 1
        array = np.full((len(values), width), np.nan)
        for i, v in enumerate(values):
            if v is not None:
                array[i, : len(v)] = np.asarray(v, dtype=float)
        return "array", array
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        return "bool", np.array([bool(v) for v in values])
    if present and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in present):
        return "int", np.array([-1 if v is None else int(v) for v in values], dtype=np.int64)
    if present and all(isinstance(v, int | float | np.number) for v in present):
        return "float", np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return "str", np.array(["" if v is None else str(v) for v in values], dtype=str)


def _fits_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    from astropy import units as u

    try:
        return u.Unit(unit).to_string("fits")
    except ValueError:  # dex: not a FITS-standard unit, written as astronomers write it
        return unit


def _fits_hdu(
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    descriptions: Mapping[str, str],
    header: Sequence[tuple[str, Any, str]],
    flag_descriptions: Mapping[str, str] | None,
    sections: Sequence[tuple[str, str]],
    extname: str,
) -> Any:
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    cols = []
    for name in columns:
        kind, array = _column_values([r.get(name) for r in rows])
        unit, disp = _fits_unit(column_unit(name)), column_disp(name)
        if kind == "array":
            fmt = f"{array.shape[1]}D"
        elif kind == "bool":
            fmt, disp = "L", None
        elif kind == "int":
            fmt, disp = "K", disp if disp and disp.startswith("I") else "I12"
        elif kind == "float":
            fmt = "D"
        else:
            width = max([len(t) for t in array] or [1]) or 1
            fmt, disp, array = f"{width}A", None, array.astype(f"S{width}") if width else array
        cols.append(fits.Column(name=name, format=fmt, unit=unit, disp=disp, array=array))
    hdu = fits.BinTableHDU.from_columns(cols, name=extname)
    with warnings.catch_warnings():  # long comments are cut to fit their card
        warnings.simplefilter("ignore", VerifyWarning)
        for i, name in enumerate(columns, start=1):
            text = re.sub(r"[^\x20-\x7e]", "?", descriptions.get(name, ""))
            if text:
                hdu.header.comments[f"TTYPE{i}"] = text[:47]
                hdu.header[f"TCOMM{i}"] = text[:68]
        for heading, first in sections:
            if first in columns:
                key = f"TTYPE{list(columns).index(first) + 1}"
                hdu.header.insert(key, ("", ""))
                hdu.header.insert(key, ("", heading))
                hdu.header.insert(key, ("", ""))
        for key, value, comment in [*header, *_flag_cards(flag_descriptions)]:
            hdu.header[key] = (value, comment)
    hdu.header.add_comment(
        "flag_bad = (result_flags & BADMASK) != 0; flag_warn = (result_flags & WARNMASK) != 0"
    )
    hdu.header.add_comment("FLAGnn: name of result_flags bit nn, also a boolean column flag_<name>")
    return hdu


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, np.ndarray | list | tuple):
        return json.dumps([None if not math.isfinite(float(v)) else float(v) for v in value])
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def write_table(
    path: str | os.PathLike,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    descriptions: Mapping[str, str] | None = None,
    header: Sequence[tuple[str, Any, str]] = (),
    flag_descriptions: Mapping[str, str] | None = None,
    sections: Sequence[tuple[str, str]] = (),
    extname: str = "ZETA_PAYNE",
) -> str:
    """Write ``rows`` (dicts) as the table ``path`` (format from its name), atomically.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.fits`` (``.fit``, ``.fits.gz``) or ``.ecsv``.
    columns : sequence of str
        Column names, in order (values missing from a row are empty/NaN).
    rows : sequence of mapping
    descriptions : mapping, optional
        ``{column: description}`` (FITS ``TCOMMn``, ECSV ``description``).
    header : sequence of (key, value, comment)
        Extra FITS header cards / ECSV meta (bundle provenance ...).
    flag_descriptions : mapping, optional
        ``{flag name: description}`` for the ``FLAGnn`` cards.
    sections : sequence of (heading, first column)
        FITS header section titles.
    extname : str
        Name of the FITS table extension.

    Returns
    -------
    str
        ``path``.
    """
    path = os.fspath(path)
    kind = table_format(path)
    descriptions = descriptions or {}
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        if kind == "csv":
            with open(tmp, "w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_csv_value(row.get(c)) for c in columns])
        elif kind == "fits":
            from astropy.io import fits

            hdu = _fits_hdu(columns, rows, descriptions, header, flag_descriptions, sections, extname)
            hdul = fits.HDUList([fits.PrimaryHDU(), hdu])
            if path.lower().endswith(".gz"):
                _write_gz(hdul, tmp)
            else:
                hdul.writeto(tmp, overwrite=True, output_verify="silentfix")
        else:
            _write_ecsv(tmp, columns, rows, descriptions, header)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _write_gz(hdul: Any, tmp: str) -> None:
    import gzip

    with gzip.open(tmp, "wb") as fh:
        hdul.writeto(fh, output_verify="silentfix")


def _write_ecsv(
    path: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    descriptions: Mapping[str, str],
    header: Sequence[tuple[str, Any, str]],
) -> None:
    from astropy.table import Table

    table = Table()
    for name in columns:
        kind, array = _column_values([r.get(name) for r in rows])
        table[name] = array
        if column_unit(name):
            table[name].unit = column_unit(name)
        if descriptions.get(name):
            table[name].description = descriptions[name]
    for key, value, _comment in header:
        table.meta[key] = value
    table.write(path, format="ascii.ecsv", overwrite=True)
