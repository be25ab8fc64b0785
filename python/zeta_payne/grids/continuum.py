"""The continuum of a node and the hydrogen jumps a flux-calibrated spectrum shows.

The node spectra are continuum-normalised (the network emulates them; the fitter's Chebyshev
response supplies the smooth shape of the observed flux). A flux-calibrated spectrum also
carries the continuum's sharp features — the Balmer jump at 3,646 Å (the continuum blueward
is 0.27 of the continuum redward at 9,500 K, log g 4) and the Paschen jump at 8,204 Å (0.81
at 9,500 K) — which no smooth response can follow. This module measures them: SME's continuum
flux of a node (:func:`synthesize_continuum`, a line-free synthesis, ≈ 3 CPU s for the whole
BOSS range) and the **jump factor** J = C / E, the continuum over its smooth envelope E (a
polynomial in ln λ fitted to ln C), put on a model grid like the node spectra
(:func:`jump_factor_on_grid`). A normalised spectrum times J is the flux-calibrated spectrum up
to a smooth factor — the factor the response absorbs.

Numerical code and the SME call only: no I/O (``zeta_payne.grids.continuum_campaign`` runs it
over a grid's nodes and writes the result as a node grid).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .format import ModelWavelengthGrid, to_model_grid

__all__ = [
    "DENSE_WINDOWS_AIR",
    "ENVELOPE_DEGREE",
    "continuum_wavelengths",
    "envelope",
    "jump_factor_on_grid",
    "jump_ratio",
    "synthesize_continuum",
]

#: Air wavelength windows [Å] sampled densely (0.05 Å) because the continuum jumps there: the
#: hydrogen Balmer (n = 2) and Paschen (n = 3) bound-free edges. SME's continuum has a hard
#: edge (between 3,647 and 3,648 Å air for the Balmer limit, measured at 9,500 K); the merging
#: lines that soften it in a real star are in the line synthesis, not in the continuum.
DENSE_WINDOWS_AIR: tuple[tuple[float, float], ...] = ((3638.0, 3658.0), (8194.0, 8216.0))
#: Step of the dense windows [Å].
DENSE_STEP = 0.05
#: Step in ln λ of the coarse continuum sampling elsewhere (the continuum is smooth between
#: the edges; 2e-4 is 0.7 Å at 3,600 Å, 2.1 Å at 10,400 Å).
COARSE_STEP = 2e-4
#: Degree of the polynomial in ln λ fitted to ln C that defines the smooth envelope.
ENVELOPE_DEGREE = 2
#: Step in ln λ of the uniform grid the samples are interpolated onto before the smoothing to
#: R_model (:func:`jump_factor_on_grid`): fine enough to keep a jump sharp (0.04 Å at 3,646 Å).
FINE_STEP = 1e-5


def continuum_wavelengths(lo_air: float, hi_air: float) -> np.ndarray:
    """Where to evaluate the continuum: a coarse ln λ grid plus the dense jump windows.

    Parameters
    ----------
    lo_air, hi_air : float
        Range [Å, air].

    Returns
    -------
    numpy.ndarray, shape (n,)
        Sorted, unique air wavelengths [Å] from ``lo_air`` to ``hi_air``.
    """
    n = int(np.floor(np.log(hi_air / lo_air) / COARSE_STEP)) + 1
    parts = [lo_air * np.exp(COARSE_STEP * np.arange(n)), [hi_air]]
    for lo, hi in DENSE_WINDOWS_AIR:
        if hi > lo_air and lo < hi_air:
            parts.append(np.arange(max(lo, lo_air), min(hi, hi_air), DENSE_STEP))
    wave = np.unique(np.concatenate(parts))
    return wave[(wave >= lo_air) & (wave <= hi_air)]


def synthesize_continuum(
    teff: float,
    logg: float,
    m_h: float,
    wave_air: np.ndarray,
    linelist: Any,
    atmosphere: Any,
    v_micro: float = 2.0,
) -> np.ndarray:
    """SME's continuum flux of one node at the given wavelengths.

    A synthesis with a single line (SME needs one; the continuum does not depend on the lines:
    measured against a synthesis with all 87 hydrogen lines, ≤ 4e-4 relative), so it costs
    ≈ 3 CPU s over 3,550–10,500 Å.

    Parameters
    ----------
    teff, logg, m_h : float
        [K], [dex cgs], [dex].
    wave_air : numpy.ndarray, shape (n,)
        Air wavelengths [Å], sorted (e.g. :func:`continuum_wavelengths`).
    linelist : pandas.DataFrame
        Any line list in the backend's format; its first hydrogen line (else its first line)
        is the one line passed.
    atmosphere : pysme Atmosphere
        As for :func:`~zeta_payne.grids.sme.synthesize_sme`.
    v_micro : float
        Microturbulence [km/s] (irrelevant to the continuum; kept for the SME structure).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Continuum flux (SME's units), > 0.

    Raises
    ------
    SynthesisError
        If SME fails or returns no continuum.
    """
    from ..exceptions import SynthesisError
    from .sme import synthesize_sme

    is_h = (linelist["species"] == "H 1").to_numpy()
    one = linelist.loc[is_h].iloc[:1] if is_h.any() else linelist.iloc[:1]
    (seg,) = synthesize_sme(teff, logg, m_h, [np.asarray(wave_air, float)], one, atmosphere, v_micro)
    if seg.continuum is None:
        raise SynthesisError(f"SME gave no continuum for teff={teff} logg={logg} m_h={m_h}")
    return seg.continuum


def envelope(wave: np.ndarray, cont: np.ndarray, degree: int = ENVELOPE_DEGREE) -> np.ndarray:
    """The smooth envelope of a continuum: ``exp(P(ln λ))``, P a least-squares polynomial of ln C.

    Parameters
    ----------
    wave : numpy.ndarray, shape (n,)
        Wavelengths [Å].
    cont : numpy.ndarray, shape (n,)
        Continuum flux, > 0.
    degree : int
        Degree of P.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    x = np.log(np.asarray(wave, float))
    x0, scale = x.mean(), np.ptp(x) / 2.0 or 1.0
    t = (x - x0) / scale
    coef = np.polynomial.polynomial.polyfit(t, np.log(cont), degree)
    return np.exp(np.polynomial.polynomial.polyval(t, coef))


def jump_factor_on_grid(
    grid: ModelWavelengthGrid,
    wave_air: np.ndarray,
    cont: np.ndarray,
    degree: int = ENVELOPE_DEGREE,
) -> np.ndarray:
    """The jump factor C / E of a continuum on a model grid, smoothed to its R_model.

    The samples are interpolated (linearly in λ) onto a uniform ln λ grid of step
    :data:`FINE_STEP`, divided by their envelope and put on the model grid as a node spectrum
    is (:func:`~zeta_payne.grids.format.to_model_grid`: Gaussian to R_model, air → vacuum,
    resampled). Smoothing J and the normalised flux apart instead of their product differs only
    within the R_model kernel of a jump (0.6 Å at 3,646 Å for BOSS's R_model 6,000; the
    instrument's R ≈ 2,000 kernel is 1.8 Å).

    Parameters
    ----------
    grid : ModelWavelengthGrid
        The model grid (vacuum).
    wave_air : numpy.ndarray, shape (n,)
        Air wavelengths [Å] of the samples, sorted, covering the grid plus the smoothing
        margin.
    cont : numpy.ndarray, shape (n,)
        Continuum flux at ``wave_air``.
    degree : int
        Degree of the envelope polynomial.

    Returns
    -------
    numpy.ndarray, shape (grid.npix,)
        J on the model grid (about 0.3–1.3 over 3,600–10,400 Å).
    """
    wave_air = np.asarray(wave_air, float)
    n = int(np.floor(np.log(wave_air[-1] / wave_air[0]) / FINE_STEP)) + 1
    fine = wave_air[0] * np.exp(FINE_STEP * np.arange(n))
    c = np.interp(fine, wave_air, np.asarray(cont, float))
    return to_model_grid(grid, fine, c / envelope(fine, c, degree))


def jump_ratio(
    wave_air: np.ndarray, cont: np.ndarray, edges_air: Sequence[float] = (3647.5, 8205.0), width: float = 1.0
) -> list[float]:
    """Size of each jump: C just blueward of an edge over C just redward (1 = no jump).

    Parameters
    ----------
    wave_air, cont : numpy.ndarray, shape (n,)
        Samples of a continuum.
    edges_air : sequence of float
        Edge wavelengths [Å, air].
    width : float
        Distance [Å] from the edge at which each side is read.

    Returns
    -------
    list of float
    """
    return [
        float(np.interp(e - width, wave_air, cont) / np.interp(e + width, wave_air, cont)) for e in edges_air
    ]
