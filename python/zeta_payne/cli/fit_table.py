"""The table of ``zeta-payne fit``, written as it grows.

CSV rows are appended and flushed one by one; FITS and ECSV files are rewritten atomically
(temporary file + rename) at most every :data:`REWRITE_SECONDS` and when the table is
closed — so an interrupted fit keeps what it fitted. Without a file name the table is
printed when closed.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Mapping
from typing import Any

from zeta_payne.io.tables import column_unit, table_format, write_table

__all__ = ["FitTable", "REWRITE_SECONDS", "fit_columns"]

#: Longest time between two rewrites of a FITS or ECSV table [s].
REWRITE_SECONDS = 5.0

_ERRORS = ("", "e_", "raw_e_", "cov_e_")
_ORDER = ("teff", "logg", "v_sini", "m_h", "v_micro")
_DESCRIPTIONS = {
    "file": "Spectrum file",
    "hdu": "FITS extension of the spectrum (-1: none)",
    "instrument": "Instrument of the spectrum (boss, apogee, lamost)",
    "telescope": "Telescope",
    "identifier": "sdss_id, LAMOST obsid, or the name in the file",
    "frame": "Frame of the input wavelengths (rest or observed)",
    "bundle": "Model bundle (name@version)",
    "n_pixels": "Pixels used in the fit",
    "chi2": "Chi-squared of the fit",
    "rchi2": "Reduced chi-squared of the fit",
    "snr": "Median S/N of the fitted pixels",
    "lsf_source": "LSF used: spectrum, option (given R), bundle (nominal R)",
    "result_flags": "Result flags (bits: FLAGnn header cards)",
    "flag_bad": "Labels unusable (a bad result flag is set)",
    "flag_warn": "Labels need care (a warning result flag is set)",
    "flag_names": "Names of the set result flags",
}


def fit_columns(label_names: list[str]) -> list[str]:
    """Columns of the table for bundles with ``label_names`` (plus ``v_rad``)."""
    labels = [n for n in _ORDER if n in label_names] + [n for n in label_names if n not in _ORDER]
    return [
        "file",
        "hdu",
        "instrument",
        "telescope",
        "identifier",
        "frame",
        "bundle",
        *[f"{prefix}{label}" for label in (*labels, "v_rad") for prefix in _ERRORS],
        "n_pixels",
        "chi2",
        "rchi2",
        "snr",
        "lsf_source",
        "result_flags",
        "flag_bad",
        "flag_warn",
        "flag_names",
    ]


def _description(name: str) -> str:
    if name in _DESCRIPTIONS:
        return _DESCRIPTIONS[name]
    for prefix, text in (
        ("cov_e_", "Covariance error on {}"),
        ("raw_e_", "Formal (chi2 parabola) error on {}"),
        ("e_", "Error on {} (not calibrated: = raw_e_)"),
    ):
        if name.startswith(prefix):
            return text.format(name[len(prefix) :])
    return f"Fitted {name}" + (f" [{column_unit(name)}]" if column_unit(name) else "")


def _identifier(meta: Mapping[str, Any]) -> str:
    for key in ("sdss_id", "obsid", "apogee_id", "obj"):
        if meta.get(key) not in (None, ""):
            return str(meta[key])
    return str(meta.get("name") or "")


class FitTable:
    """Rows of fitted spectra, written to ``path`` as they come (``None``: printed at the end).

    Parameters
    ----------
    path : str or None
        ``.csv``, ``.fits`` or ``.ecsv`` (checked by the caller), or ``None``.
    bundles : mapping
        ``{instrument: Bundle}`` used (their labels make the columns, their names, versions
        and hashes the FITS header).
    """

    def __init__(self, path: str | None, bundles: Mapping[str, Any]) -> None:
        self.path = path
        names: list[str] = []
        for bundle in bundles.values():
            names.extend(s.name for s in bundle.labels if s.name not in names)
        self.columns = fit_columns(names)
        self.rows: list[dict[str, Any]] = []
        self.kind = table_format(path) if path else None
        self.header = [("NBUNDLE", len(bundles), "model bundles in this table")]
        for i, bundle in enumerate(bundles.values(), start=1):
            self.header.append(
                (f"BUNDLE{i}", f"{bundle.name}@{bundle.version}", f"{bundle.instrument} bundle")
            )
            self.header.append((f"BSHA{i}", bundle.sha256, "sha256"))
        self._written = time.monotonic()
        self._csv: Any = None
        self._fh: Any = None
        if self.kind == "csv":
            self._fh = open(path, "w", newline="")  # noqa: SIM115 - kept open while rows come
            self._csv = csv.writer(self._fh)
            self._csv.writerow(self.columns)
            self._fh.flush()

    @property
    def n_rows(self) -> int:
        """Rows added so far."""
        return len(self.rows)

    def add(self, spectrum: Any, frame: str, bundle: Any, result: Any) -> None:
        """Add (and write) the row of one fitted spectrum."""
        meta = spectrum.meta
        row: dict[str, Any] = {
            "file": os.fspath(meta.get("file", "")),
            "hdu": int(meta["hdu"]) if meta.get("hdu") is not None else -1,
            "instrument": meta.get("instrument", ""),
            "telescope": meta.get("telescope", ""),
            "identifier": _identifier(meta),
            "frame": frame,
            "bundle": f"{bundle.name}@{bundle.version}",
            **result.as_row(),
            "flag_bad": bool(result.flag_bad),
            "flag_warn": bool(result.flag_warn),
        }
        self.rows.append(row)
        if self._csv is not None:
            self._csv.writerow(["" if row.get(c) is None else row.get(c, "") for c in self.columns])
            self._fh.flush()
        elif self.path and time.monotonic() - self._written > REWRITE_SECONDS:
            self._rewrite()

    def _rewrite(self) -> None:
        from zeta_payne.fitting.flags import ResultFlags

        descriptions = {c: _description(c) for c in self.columns}
        flags = {b.name.lower(): b.name.lower().replace("_", " ") for b in ResultFlags}
        write_table(self.path, self.columns, self.rows, descriptions, self.header, flags)
        self._written = time.monotonic()

    def close(self) -> None:
        """Write what is not written yet (print the table when there is no file)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        elif self.path:
            if self.rows:
                self._rewrite()
        elif self.rows:
            from zeta_payne.cli.common import write_table as print_table

            shown = [c for c in self.columns if not c.startswith(("raw_e_", "cov_e_"))]
            print_table(self.rows, None, shown)
