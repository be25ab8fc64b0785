"""Readers for user-brought spectral grids (GSSP output, the authors' assembled NPZ).

Both give an :class:`ImportedGrid` with the same ``labels`` / ``wavelength`` / ``flux`` /
``medium`` attributes as :class:`~zeta_payne.grids.nodes.NodeGrid`. Wavelengths are kept in
the medium of the source (GSSP and the authors' grids are in AIR); nothing is converted
here — a bundle records the medium and the conversion happens once, downstream.

GSSP directory layout
---------------------
One two-column ASCII file per model: wavelength [Å, air] and continuum-normalised flux
(extra columns are ignored; ``#`` comments allowed). Plus a parameter table (whitespace- or
comma-separated, one header line) with a ``file`` column (path relative to the table) and
one column per label, e.g.::

    file                       teff   logg  v_sini  v_micro  m_h
    l00250_4000_0000_2000.dat  25000  4.0   0       2.0      0.0

Spectra on different wavelength grids are linearly resampled onto the first file's grid.

Authors' NPZ
------------
``flux`` (N, npix), ``labels`` (N, L), ``wvl`` (npix,) [Å, air], optional ``grid`` (a
pickled dict of per-label [min, max]; read only with ``allow_pickle=True``). The label order
of the authors' code is T_eff, log(g), v sin i, v_micro, [M/H] with collapsed labels
dropped; pass ``label_names`` when the file does not follow it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import GridError
from .format import LABEL_NAMES

if TYPE_CHECKING:
    from .nodes import NodeGrid

__all__ = ["ImportedGrid", "read_gssp_grid", "read_authors_npz", "AUTHORS_LABEL_ORDER"]

#: Label order of the authors' (Payne-Che) grids and networks.
AUTHORS_LABEL_ORDER = ("teff", "logg", "v_sini", "v_micro", "m_h")


@dataclass
class ImportedGrid:
    """An in-memory spectral grid read from a user-brought format.

    Attributes
    ----------
    labels : numpy.ndarray, shape (N, L)
    label_names : tuple of str, length L
    wavelength : numpy.ndarray, shape (npix,)
        [Å] in ``medium``.
    flux : numpy.ndarray, shape (N, npix), float32
        Continuum-normalised flux.
    medium : str
        ``"air"`` or ``"vacuum"``.
    meta : dict
        Source path and any extra information (e.g. the NPZ ``grid`` dict).
    """

    labels: np.ndarray
    label_names: tuple[str, ...]
    wavelength: np.ndarray
    flux: np.ndarray
    medium: str = "air"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = np.atleast_2d(np.asarray(self.labels, dtype=np.float64))
        self.wavelength = np.asarray(self.wavelength, dtype=np.float64).ravel()
        self.flux = np.asarray(self.flux, dtype=np.float32)
        self.label_names = tuple(self.label_names)
        if self.labels.shape[1] != len(self.label_names):
            raise GridError(f"{self.labels.shape[1]} label columns but names {self.label_names}")
        if self.flux.shape != (self.labels.shape[0], self.wavelength.size):
            raise GridError(f"flux shape {self.flux.shape} does not match labels/wavelength")
        if self.medium not in ("air", "vacuum"):
            raise GridError(f"medium must be 'air' or 'vacuum', not {self.medium!r}")

    def __len__(self) -> int:
        return self.labels.shape[0]

    def to_node_grid(self, fixed: dict[str, float] | None = None) -> NodeGrid:
        """A :class:`~zeta_payne.grids.nodes.NodeGrid` over (teff, logg, m_h).

        Parameters
        ----------
        fixed : dict, optional
            Values of the other labels to select (e.g. ``{"v_sini": 0, "v_micro": 2}``);
            rows whose other labels differ are dropped. Every other label must be fixed
            (or constant in the grid).
        """
        from .nodes import NodeGrid

        fixed = dict(fixed or {})
        keep = np.ones(len(self), bool)
        for i, name in enumerate(self.label_names):
            if name in LABEL_NAMES:
                continue
            if name in fixed:
                keep &= np.isclose(self.labels[:, i], fixed[name])
            elif np.ptp(self.labels[:, i]) > 0:
                raise GridError(f"label {name!r} varies in the grid: give its value in `fixed`")
        try:
            cols = [self.label_names.index(n) for n in LABEL_NAMES]
        except ValueError as err:
            raise GridError(f"grid lacks one of {LABEL_NAMES}: {self.label_names}") from err
        return NodeGrid(
            labels=self.labels[keep][:, cols], wavelength=self.wavelength,
            flux=self.flux[keep], medium=self.medium,
            manifest={"name": self.meta.get("source", "imported"), "imported": True},
        )


def _read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_text().splitlines()
    rows = [r for r in text if r.strip() and not r.lstrip().startswith("#")]
    if not rows:
        raise GridError(f"{path} is empty")
    if "," in rows[0]:
        parsed = list(csv.reader(rows))
        parsed = [[c.strip() for c in r] for r in parsed]
    else:
        parsed = [r.split() for r in rows]
    return parsed[0], parsed[1:]


def read_gssp_grid(
    table: str | Path,
    label_names: Sequence[str] | None = None,
    medium: str = "air",
) -> ImportedGrid:
    """Read a folder of GSSP model spectra described by a parameter table.

    Parameters
    ----------
    table : path-like
        Parameter table with a ``file`` column and one column per label.
    label_names : sequence of str, optional
        Label columns to use, in this order (default: every column except ``file``).
    medium : str
        Medium of the spectra's wavelengths (GSSP: ``"air"``).

    Returns
    -------
    ImportedGrid
    """
    table = Path(table)
    header, rows = _read_table(table)
    if "file" not in header:
        raise GridError(f"{table}: the parameter table needs a 'file' column")
    fcol = header.index("file")
    names = tuple(label_names) if label_names else tuple(h for h in header if h != "file")
    try:
        cols = [header.index(n) for n in names]
    except ValueError as err:
        raise GridError(f"{table}: label columns {names} not all in {header}") from err
    labels = np.array([[float(r[c]) for c in cols] for r in rows])
    wavelength = None
    flux = []
    for r in rows:
        path = (table.parent / r[fcol]).resolve()
        data = np.loadtxt(path, comments="#", ndmin=2, usecols=(0, 1))
        w, f = data[:, 0], data[:, 1]
        if wavelength is None:
            wavelength = w
        if w.shape != wavelength.shape or not np.allclose(w, wavelength, rtol=0, atol=1e-6):
            order = np.argsort(w)
            f = np.interp(wavelength, w[order], f[order], left=np.nan, right=np.nan)
        flux.append(f)
    return ImportedGrid(labels=labels, label_names=names, wavelength=wavelength,
                        flux=np.array(flux), medium=medium, meta={"source": str(table)})


def read_authors_npz(
    path: str | Path,
    label_names: Sequence[str] | None = None,
    allow_pickle: bool = False,
    medium: str = "air",
) -> ImportedGrid:
    """Read the authors' assembled grid NPZ (``flux``, ``labels``, ``wvl``, optional ``grid``).

    Parameters
    ----------
    path : path-like
    label_names : sequence of str, optional
        Names of the label columns; default :data:`AUTHORS_LABEL_ORDER` when the file has
        five labels, else required. When the ``grid`` dict is read, labels whose range
        collapses are dropped from that order (the authors' convention).
    allow_pickle : bool
        Read the pickled ``grid`` dict (only for files you trust).
    medium : str
        ``"air"`` for the authors' grids.
    """
    path = Path(path)
    with np.load(path, allow_pickle=allow_pickle) as z:
        if not {"flux", "labels", "wvl"} <= set(z.files):
            raise GridError(f"{path}: expected arrays flux, labels, wvl; found {z.files}")
        flux, labels, wvl = z["flux"], z["labels"], z["wvl"]
        meta: dict = {"source": str(path)}
        if "grid" in z.files and allow_pickle:
            meta["grid"] = z["grid"].item() if z["grid"].dtype == object else z["grid"]
    labels = np.atleast_2d(labels)
    if labels.shape[0] != flux.shape[0] and labels.shape[1] == flux.shape[0]:
        labels = labels.T  # some files store labels as (L, N)
    if label_names is None:
        if labels.shape[1] == len(AUTHORS_LABEL_ORDER):
            label_names = AUTHORS_LABEL_ORDER
        else:
            raise GridError(f"{path}: {labels.shape[1]} labels; pass label_names")
    return ImportedGrid(labels=labels, label_names=tuple(label_names), wavelength=wvl,
                        flux=flux, medium=medium, meta=meta)
