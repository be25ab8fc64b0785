"""LTE synthesis of one grid node with SME (``pysme-astro``), fully offline.

The atmosphere is passed to SME as arrays (``method="embedded"``, RHOX depth scale) and the
line list as a table in air wavelengths, so SME never reaches for its online atmosphere
grids, NLTE grids or VALD. SME writes ``~/.sme`` on first import: HOME must be writable.

Everything here works in AIR wavelengths (the line list's medium); conversion to vacuum
happens once, in :mod:`zeta_payne.grids.nodes`, when the spectrum is put on the model grid.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import SynthesisError
from .atmospheres import KuruczGrid, ModelAtmosphere, get_atmosphere

__all__ = [
    "SOLAR_PATTERN",
    "LINELIST_COLUMNS",
    "SegmentSpectrum",
    "load_linelist",
    "air_to_vacuum",
    "vacuum_to_air",
    "synthesize_node",
    "synthesize_sme",
]

log = logging.getLogger(__name__)

#: Solar abundance pattern handed to SME (scaled by [M/H] for all metals).
SOLAR_PATTERN = "asplund2009"
#: Columns of the line-list table (SME "short" format) — air wavelengths [Å], EP [eV].
LINELIST_COLUMNS = ("species", "wlcent", "excit", "gflog", "gamrad", "gamqst", "gamvw")


@dataclass(frozen=True)
class SegmentSpectrum:
    """A synthesized, continuum-normalised segment.

    Attributes
    ----------
    wave_air : numpy.ndarray, shape (n,)
        Air wavelengths [Å].
    flux : numpy.ndarray, shape (n,)
        Continuum-normalised flux (disk-integrated, v sin i = 0).
    continuum : numpy.ndarray, shape (n,), optional
        SME's continuum flux at the same wavelengths (the divisor of ``flux``; SME's
        absolute units, erg s⁻¹ cm⁻² Å⁻¹ at the stellar surface up to a constant), with the
        hydrogen bound-free edges (Balmer 3,646 Å, Paschen 8,204 Å) as jumps.
    """

    wave_air: np.ndarray
    flux: np.ndarray
    continuum: np.ndarray | None = None


def vacuum_to_air(wave_vac: np.ndarray) -> np.ndarray:
    """Vacuum → air wavelength [Å] (IAU standard, Morton 2000; valid above 2000 Å)."""
    wave_vac = np.asarray(wave_vac, dtype=float)
    s2 = (1e4 / wave_vac) ** 2
    n = 1.0 + 8.34254e-5 + 2.406147e-2 / (130.0 - s2) + 1.5998e-4 / (38.9 - s2)
    return wave_vac / n


def air_to_vacuum(wave_air: np.ndarray) -> np.ndarray:
    """Air → vacuum wavelength [Å]; the exact inverse of :func:`vacuum_to_air` (iterated)."""
    wave_air = np.asarray(wave_air, dtype=float)
    wave_vac = wave_air.copy()
    for _ in range(4):
        wave_vac = wave_vac * wave_air / vacuum_to_air(wave_vac)
    return wave_vac


def load_linelist(path: str | Path) -> Any:
    """Read a merged line list (CSV, optionally gzipped) into a sorted pandas DataFrame.

    Parameters
    ----------
    path : path-like
        File with at least the columns in :data:`LINELIST_COLUMNS` (air wavelengths).

    Returns
    -------
    pandas.DataFrame
        Sorted by ``wlcent``, index reset.
    """
    import pandas as pd

    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    table = pd.read_csv(io.BytesIO(raw))
    missing = [c for c in LINELIST_COLUMNS if c not in table.columns]
    if missing:
        raise SynthesisError(f"line list {path} lacks columns {missing}")
    return table.sort_values("wlcent", kind="stable").reset_index(drop=True)


def _sme_atmosphere(atmo: ModelAtmosphere):
    from pysme.atmosphere.atmosphere import Atmosphere

    return Atmosphere(
        teff=atmo.teff, logg=atmo.logg, vturb=atmo.vturb, method="embedded", depth="RHOX",
        interp="RHOX", geom="PP", rhox=atmo.rhox, temp=atmo.temp, xne=atmo.xne,
        xna=atmo.xna, rho=atmo.rho, monh=atmo.m_h, abund=SOLAR_PATTERN, source=atmo.source,
    )


def synthesize_node(
    teff: float,
    logg: float,
    m_h: float,
    segments_air: Sequence[tuple[float, float]],
    linelist: Any,
    atmosphere_grid: KuruczGrid,
    dlnlambda: float | Sequence[float] = 2.5e-6,
    v_micro: float = 2.0,
    line_padding: float = 50.0,
    segments_per_call: int = 1,
    hydrogen_padding: float = 800.0,
) -> list[SegmentSpectrum]:
    """Synthesize one (teff, logg, [M/H]) node over wavelength segments with SME.

    Parameters
    ----------
    teff, logg, m_h : float
        Labels: [K], [dex cgs], [dex].
    segments_air : sequence of (float, float)
        Wavelength ranges [Å, air]; each is one SME segment.
    linelist : pandas.DataFrame
        Sorted line list with :data:`LINELIST_COLUMNS` (air).
    atmosphere_grid : KuruczGrid
        The parsed ATLAS9 grid (see :func:`~zeta_payne.grids.atmospheres.load_kurucz_grid`).
    dlnlambda : float or sequence of float
        Output sampling in ln λ, per segment or one for all (default 2.5e-6 ≈ 0.0125 Å at
        5000 Å; sampling does not change SME's cost, and 1e-5 was measured to leave 0.6 %
        errors at 6000 K after R 6000 smoothing).
    v_micro : float
        Microturbulence [km/s].
    line_padding : float
        Lines within this many Å outside a segment are passed to SME (hydrogen lines are
        always passed: their wings reach far).
    segments_per_call : int
        Segments handed to SME in one call (one line list and one EOS solution for the group).
    hydrogen_padding : float
        Hydrogen lines within this many Å of a segment group are passed to SME (their Stark
        wings reach far; farther ones change the flux by < 1e-4 and cost a Stark profile at
        every wavelength point: passing all 87 doubled the cost; measured at 10 kK,
        5200–5500 Å with 400 Å: max |Δflux| 1.8e-5).

    Returns
    -------
    list of SegmentSpectrum
        One per segment, continuum-normalised, v sin i = 0, no instrumental broadening.

    Raises
    ------
    SynthesisError
        If pysme is missing or SME fails.
    """
    atmo = _sme_atmosphere(get_atmosphere(atmosphere_grid, teff, logg, m_h))
    steps = np.broadcast_to(np.asarray(dlnlambda, dtype=float), (len(segments_air),))
    waves = []
    for (lo, hi), step in zip(segments_air, steps, strict=True):
        n = int(np.floor(np.log(hi / lo) / step)) + 1
        waves.append(lo * np.exp(step * np.arange(n)))
    wl = linelist["wlcent"].to_numpy()
    is_h = (linelist["species"] == "H 1").to_numpy()
    size = max(1, int(segments_per_call))
    out = []
    for first in range(0, len(waves), size):
        group = waves[first : first + size]
        sel = np.zeros(wl.size, bool)
        for w in group:
            sel |= (wl >= w[0] - line_padding) & (wl <= w[-1] + line_padding)
            sel |= is_h & (wl >= w[0] - hydrogen_padding) & (wl <= w[-1] + hydrogen_padding)
        out.extend(synthesize_sme(teff, logg, m_h, group, linelist.loc[sel], atmo, v_micro))
    return out


def synthesize_sme(
    teff: float,
    logg: float,
    m_h: float,
    waves_air: Sequence[np.ndarray],
    lines: Any,
    atmosphere: Any,
    v_micro: float = 2.0,
    settings: dict | None = None,
    linelist_mode: str = "all",
) -> list[SegmentSpectrum]:
    """One SME call: the given lines in the given atmosphere, on the given wavelengths.

    The backend's single point of contact with SME (:func:`synthesize_node` and the
    diagnosis scripts use it); continuum-normalised, no rotation, macroturbulence or
    instrumental broadening, abundances :data:`SOLAR_PATTERN` scaled by ``m_h``.

    Parameters
    ----------
    teff, logg, m_h : float
        [K], [dex cgs], [dex].
    waves_air : sequence of numpy.ndarray
        Air wavelengths [Å] of each segment (one SME segment each).
    lines : pandas.DataFrame
        Line list rows with :data:`LINELIST_COLUMNS` (air).
    atmosphere : pysme Atmosphere
        E.g. ``_sme_atmosphere(get_atmosphere(...))`` or SME's own ``KrzFile``.
    v_micro : float
        Microturbulence [km/s].
    settings : dict, optional
        Other SME structure attributes to set (e.g. ``{"accrt": 1e-3}``).
    linelist_mode : {"all", "dynamic"}
        SME's line selection: ``"all"`` computes every line passed (the campaigns so far);
        ``"dynamic"`` first estimates each line's largest line-to-continuum opacity ratio and
        drops those below SME's ``accrt`` (measured: ``data/grids/v3/measure_line_selection.py``).

    Returns
    -------
    list of SegmentSpectrum

    Raises
    ------
    SynthesisError
        If pysme is missing or SME fails.
    """
    try:
        from pysme.abund import Abund
        from pysme.linelist.linelist import LineList
        from pysme.sme import SME_Structure
        from pysme.synthesize import synthesize_spectrum
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise SynthesisError("pysme-astro is not installed (pip install zeta-payne[synthesis])"
                             ) from err

    group = [np.asarray(w, dtype=float) for w in waves_air]
    table = lines[list(LINELIST_COLUMNS)].reset_index(drop=True)
    sme = SME_Structure()
    sme.teff, sme.logg, sme.monh = float(teff), float(logg), float(m_h)
    sme.vmic, sme.vmac, sme.vsini = float(v_micro), 0.0, 0.0
    sme.abund = Abund(monh=float(m_h), pattern=SOLAR_PATTERN)
    sme.linelist = LineList(table, lineformat="short", medium="air")
    sme.atmo = atmosphere
    sme.wran = [[float(w[0]), float(w[-1])] for w in group]
    sme.wave = group
    sme.normalize_by_continuum = True
    sme.specific_intensities_only = False
    sme.vrad_flag = "none"
    sme.cscale_flag = "none"
    sme.iptype = None
    for key, value in (settings or {}).items():
        setattr(sme, key, value)
    t0 = time.perf_counter()
    label = f"teff={teff} logg={logg} m_h={m_h} {group[0][0]:.1f}-{group[-1][-1]:.1f} A"
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            sme = synthesize_spectrum(sme, linelist_mode=linelist_mode)
    except Exception as err:  # SME raises bare exceptions of many kinds
        raise SynthesisError(f"SME failed for {label}: {err}") from err
    out = []
    for i, w in enumerate(group):
        flux = np.asarray(sme.synth[i], dtype=float)
        if flux.shape != w.shape or not np.all(np.isfinite(flux)):
            raise SynthesisError(f"SME returned a bad spectrum for {label}")
        cont = np.asarray(sme.cont[i], dtype=float) if "cont" in sme else None
        if cont is not None and (cont.shape != w.shape or not np.all(cont > 0)):
            cont = None
        out.append(SegmentSpectrum(wave_air=w, flux=flux, continuum=cont))
    log.debug("%s (%d lines): %.1f s", label, len(table), time.perf_counter() - t0)
    return out
