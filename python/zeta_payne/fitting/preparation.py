"""From an observed spectrum to what the fit needs: pixels, LSF, scale, S/N — or a rejection.

One step, :func:`prepare`. A spectrum that cannot be fitted raises
:class:`~zeta_payne.exceptions.SpectrumRejected` carrying the flags that say why; warnings
found on the way (bad input pixels, partial coverage, low S/N, the LSF taken from the
bundle) travel in :attr:`Prepared.flags`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zeta_payne.exceptions import SpectrumError, SpectrumRejected
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.options import FitOptions
from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS, log_doppler_factor
from zeta_payne.model.forward import ModelGrid
from zeta_payne.model.lsf import residual_sigma
from zeta_payne.spectrum import Spectrum

__all__ = ["LSF_SOURCES", "Prepared", "error_floor", "in_masked_bands", "lsf_fwhm", "prepare"]

#: Where the LSF of a fit came from: the spectrum's per-pixel FWHM, an explicit
#: ``options.resolution``, or the bundle's nominal R (``options.fallback_resolution``).
LSF_SOURCES: tuple[str, ...] = ("spectrum", "option", "bundle")


@dataclass
class Prepared:
    """Everything derived from one spectrum before any model evaluation.

    Attributes
    ----------
    spectrum : Spectrum
        The input.
    used : numpy.ndarray of bool, shape (N_all,)
        Pixels in χ².
    modelled : numpy.ndarray of bool, shape (N_all,)
        Pixels that get a model flux (the fitted range, covered by the model, outside the
        masked bands: there no pixel constrains the response, which a band across the
        Paschen edge's response break leaves to extrapolation).
    flux, weight : numpy.ndarray, shape (N,)
        Flux and inverse variance of the used pixels, scaled by ``scale`` (flux / scale,
        ivar · scale²).
    scale : float
        Median |flux| of the used pixels (data units).
    fwhm : numpy.ndarray, shape (N_all,)
        LSF FWHM at every pixel [Å].
    lsf_source : str
        One of :data:`LSF_SOURCES`.
    fit_range : (float, float)
        First and last used wavelength [Å].
    resolution : float
        Median λ/FWHM of the used pixels (the R of the paper's N_deg, eq. 7).
    snr : float
        Median per-pixel S/N of the used pixels.
    flags : int
        Warning bits found while preparing.
    """

    spectrum: Spectrum
    used: np.ndarray
    modelled: np.ndarray
    flux: np.ndarray
    weight: np.ndarray
    scale: float
    fwhm: np.ndarray
    lsf_source: str
    fit_range: tuple[float, float]
    resolution: float
    snr: float
    flags: int


def lsf_fwhm(spectrum: Spectrum, options: FitOptions) -> tuple[np.ndarray, str]:
    """The LSF FWHM at every pixel and where it came from.

    Precedence: an explicit ``options.resolution``; else the spectrum's own per-pixel LSF
    (gaps filled by interpolation) unless ``options.use_spectrum_lsf`` is false; else the
    bundle's nominal ``options.fallback_resolution``.

    Parameters
    ----------
    spectrum : Spectrum
    options : FitOptions

    Returns
    -------
    fwhm : numpy.ndarray, shape (N,)
        FWHM [Å].
    source : str
        ``"option"``, ``"spectrum"`` or ``"bundle"`` (:data:`LSF_SOURCES`).

    Raises
    ------
    SpectrumError
        No LSF at all (neither given by the spectrum nor by the options), or a spectrum
        LSF without a single positive finite value.
    """
    lam = spectrum.wavelength
    if options.resolution is not None:
        return lam / float(options.resolution), "option"
    if options.use_spectrum_lsf and spectrum.lsf_fwhm is not None:
        fwhm = np.array(spectrum.lsf_fwhm, dtype=float)
        bad = ~np.isfinite(fwhm) | (fwhm <= 0)
        if bad.all():
            raise SpectrumError("the spectrum's LSF FWHM has no positive finite values")
        fwhm[bad] = np.interp(lam[bad], lam[~bad], fwhm[~bad])
        return fwhm, "spectrum"
    if options.fallback_resolution:
        return lam / float(options.fallback_resolution), "bundle"
    raise SpectrumError("no LSF: the spectrum has no lsf_fwhm and no resolution is set")


def _in_band(lam: np.ndarray, lo: float, hi: float, options: FitOptions, frame: str | None) -> np.ndarray:
    """Pixels inside the observatory-frame band ``lo``–``hi`` [Å], widened by
    ``options.masked_band_margin`` unless the spectrum (of ``frame``) is in the observed frame."""
    stretch = 0.0 if frame == "observed" else options.masked_band_margin / SPEED_OF_LIGHT_KMS
    return (lam >= lo * (1.0 - stretch)) & (lam <= hi * (1.0 + stretch))


def in_masked_bands(lam: np.ndarray, options: FitOptions, frame: str | None) -> np.ndarray:
    """Pixels inside ``options.masked_bands`` (observatory-frame intervals), each widened by
    ``options.masked_band_margin`` unless the spectrum is in the observed frame.

    Parameters
    ----------
    lam : numpy.ndarray, shape (N,)
        Wavelengths [Å] of the spectrum, in its frame.
    options : FitOptions
    frame : {"rest", "observed"} or None
        The spectrum's frame (None: unknown, treated as not observed).

    Returns
    -------
    numpy.ndarray of bool, shape (N,)
    """
    out = np.zeros(lam.shape, dtype=bool)
    for lo, hi in options.masked_bands:
        out |= _in_band(lam, lo, hi, options, frame)
    return out


def error_floor(lam: np.ndarray, options: FitOptions, frame: str | None) -> np.ndarray:
    """The relative error floor of each pixel from ``options.error_floor_bands``, the bands
    widened as :func:`in_masked_bands` widens its own (``lam``, ``options`` and ``frame`` as
    there); where bands overlap, the larger fraction.

    Returns
    -------
    numpy.ndarray, shape (N,)
        Fraction of |flux| added in quadrature to each pixel's error (0 outside the bands).
    """
    out = np.zeros(lam.shape)
    for lo, hi, fraction in options.error_floor_bands:
        inside = _in_band(lam, lo, hi, options, frame)
        out[inside] = np.maximum(out[inside], float(fraction))
    return out


def _covered(lam: np.ndarray, fwhm: np.ndarray, grid: ModelGrid, options: FitOptions) -> np.ndarray:
    """Pixels the model reaches at every RV of the search (plus margin) and LSF wing."""
    v_lo = options.rv_range[0] - options.rv_margin
    v_hi = options.rv_range[1] + options.rv_margin
    sig = residual_sigma(lam, fwhm, grid.resolution)
    loglam = np.log(lam)
    first = grid.loglam0
    last = grid.loglam0 + grid.delta * (grid.n_pixels - 1)
    return (loglam - log_doppler_factor(v_hi) - 4 * sig - 3 * grid.delta >= first) & (
        loglam - log_doppler_factor(v_lo) + 4 * sig + 3 * grid.delta <= last
    )


def prepare(
    spectrum: Spectrum,
    options: FitOptions,
    grid: ModelGrid,
    default_range: tuple[float, float],
    n_params: int,
) -> Prepared:
    """Select the pixels, take the LSF, scale the flux and measure the S/N of one spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        The observation.
    options : FitOptions
        Fit options (fitted range, LSF, RV search range, thresholds).
    grid : ModelGrid
        The bundle's model grid (its coverage decides which pixels can be modelled).
    default_range : (float, float)
        Fitted range [Å] when ``options.wavelength_range`` is ``None``.
    n_params : int
        Free parameters of the fit (at least three used pixels per parameter are needed).

    Returns
    -------
    Prepared

    Raises
    ------
    SpectrumRejected
        The spectrum cannot be fitted; its ``flags`` say why (``NO_PIXELS``,
        ``OUTSIDE_COVERAGE``, ``TOO_FEW_PIXELS``).
    SpectrumError
        Not a :class:`Spectrum`, or no LSF.
    """
    if not isinstance(spectrum, Spectrum):
        raise SpectrumError(f"expected a Spectrum, got {type(spectrum).__name__}")
    lam = spectrum.wavelength
    flags = 0
    lo, hi = options.wavelength_range or default_range
    in_range = (lam >= lo) & (lam <= hi)
    if (spectrum.bad_input_pixels() & in_range).any():
        flags |= ResultFlags.BAD_INPUT_PIXELS
    fwhm, source = lsf_fwhm(spectrum, options)
    if source == "bundle":
        flags |= ResultFlags.LSF_FROM_BUNDLE
    covered = _covered(lam, fwhm, grid, options)
    masked = in_masked_bands(lam, options, spectrum.frame)
    used = in_range & covered & spectrum.usable() & ~masked
    if not in_range.any():
        raise SpectrumRejected(
            flags | ResultFlags.NO_PIXELS | ResultFlags.OUTSIDE_COVERAGE,
            f"no pixels within the fitted range {lo:.0f}–{hi:.0f} Å",
        )
    if not (in_range & covered).any():
        raise SpectrumRejected(
            flags | ResultFlags.OUTSIDE_COVERAGE, "spectrum does not overlap the bundle's wavelength coverage"
        )
    if (in_range & covered).sum() < 0.5 * in_range.sum():
        flags |= ResultFlags.PARTIAL_COVERAGE
    n_used = int(used.sum())
    if n_used == 0:
        raise SpectrumRejected(
            flags | ResultFlags.NO_PIXELS, "no usable pixels (ivar ≤ 0, non-finite or masked)"
        )
    if n_used < max(options.min_pixels, 3 * n_params):
        raise SpectrumRejected(flags | ResultFlags.TOO_FEW_PIXELS, f"only {n_used} usable pixels")
    f = spectrum.flux[used]
    w = spectrum.ivar[used]
    if options.error_floor_bands:
        floor = error_floor(lam[used], options, spectrum.frame) * np.abs(f)
        w = w / (1.0 + w * floor**2)
    scale = float(np.median(np.abs(f)))
    if not scale > 0 or not np.isfinite(scale):
        raise SpectrumRejected(flags | ResultFlags.NO_PIXELS, "flux is zero everywhere in the fitted range")
    snr = float(np.median(f * np.sqrt(w)))
    if not snr >= options.low_snr:
        flags |= ResultFlags.LOW_SNR
    lam_used = lam[used]
    fit_range = (float(lam_used[0]), float(lam_used[-1]))
    return Prepared(
        spectrum=spectrum,
        used=used,
        modelled=in_range & covered & ~masked & (lam >= fit_range[0]) & (lam <= fit_range[1]),
        flux=f / scale,
        weight=w * scale**2,
        scale=scale,
        fwhm=fwhm,
        lsf_source=source,
        fit_range=fit_range,
        resolution=float(np.median(lam_used / fwhm[used])),
        snr=snr,
        flags=int(flags),
    )
