"""Realistic simulated observations: a true spectrum as a BOSS or APOGEE file would carry it.

The chain, per pixel i of the instrument's wavelength grid (observed frame):

1. the stored rest-frame spectrum (normalised, at R_model, already rotated) is broadened by
   the differential Gaussian to the instrument's LSF at that pixel and sampled at the pixel's
   rest-frame wavelength (:func:`~zeta_payne.validation.resample.convolve_to_pixels`);
   the LSF follows :func:`~zeta_payne.validation.instrument.resolving_power`, its width
   scaled by a per-spectrum factor (fibre to fibre);
2. the star's continuum (a blackbody at its teff, :mod:`~zeta_payne.validation.sed`) is
   reddened by E(B−V) (:mod:`~zeta_payne.validation.extinction`; optionally with the
   sight line's interstellar lines and bands, :mod:`~zeta_payne.validation.interstellar`),
   attenuated by the
   atmosphere's telluric lines (:mod:`~zeta_payne.validation.telluric`) and by the
   instrument's throughput (:mod:`~zeta_payne.validation.instrument`); photon counts per
   log-λ pixel scale as F_λ λ² × throughput;
3. sky counts (:mod:`~zeta_payne.validation.sky`) add variance; the variance is star + sky
   counts (Gaussian approximation to Poisson; read noise neglected), the exposure scaled so
   that the **median S/N per pixel over the usable pixels equals the nominal S/N** (the
   SDSS convention); sky subtraction leaves residuals;
4. the pipeline's calibration divides by throughput, λ² and its telluric correction (which
   leaves a residual), times a smooth calibration error: the flux is F_λ-like, the
   "response" the fitter sees is the reddened SED times that error (``calibrated=False``
   keeps the raw counts, throughput included);
5. pixels are flagged and given ivar 0 (bad columns, random rejects, no data), and
   informational bits set (bright sky, telluric).

The result is the pixel arrays of an SDSS file (``wavelength``, ``flux``, ``ivar``,
``pixel_flags`` and, for BOSS, ``wresl``: the LSF FWHM per pixel) — read into the fitter's
:class:`~zeta_payne.fitting.spectrum.Spectrum` by the same code as real files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from zeta_payne.model.doppler import log_doppler_factor
from zeta_payne.model.response import random_response
from zeta_payne.validation.extinction import reddening
from zeta_payne.validation.instrument import (
    APOGEE_BITS,
    BOSS_BITS,
    detector_coverage,
    resolving_power,
    throughput,
)
from zeta_payne.validation.interstellar import interstellar_absorption
from zeta_payne.validation.resample import convolve_to_pixels
from zeta_payne.validation.sed import planck_flambda
from zeta_payne.validation.simulate import instrument_pixels
from zeta_payne.validation.sky import sky_residual, sky_spectrum
from zeta_payne.validation.telluric import TELLURIC_BANDS, telluric_depth

if TYPE_CHECKING:
    from zeta_payne.spectrum import Spectrum

__all__ = ["ObservationModel", "observe_realistic", "realistic_spectrum"]

#: Per-instrument defaults of :class:`ObservationModel` fields left at ``None``.
DEFAULTS: dict[str, dict] = {
    "boss": {"ebv_range": (0.0, 1.0), "calibration_error": 0.05, "report_lsf": True, "reject_fraction": 0.02},
    "apogee": {
        "ebv_range": (0.0, 3.0),
        "calibration_error": 0.02,
        "report_lsf": False,
        "reject_fraction": 0.01,
    },
}


@dataclass(frozen=True)
class ObservationModel:
    """What the realistic observation includes (``None``: the instrument's default, :data:`DEFAULTS`).

    Attributes
    ----------
    ebv_range : (float, float) or None
        E(B−V) [mag] drawn uniformly in this range (BOSS 0–1, APOGEE 0–3).
    r_v : float
        A(V)/E(B−V) of the extinction law.
    calibrated : bool
        Deliver calibrated flux (throughput divided out) rather than raw counts.
    calibration_error : float or None
        Amplitude of the smooth (third-order Chebyshev) error of the flux calibration
        (BOSS 5 %, APOGEE 2 %).
    lsf_scatter : float
        Standard deviation of the per-spectrum factor on the LSF width (fibre to fibre),
        clipped to ±2.5 σ.
    report_lsf : bool or None
        Give the fitter the LSF per pixel (``wresl``) as the files do: BOSS yes, APOGEE no
        (its files carry no per-pixel FWHM; the fitter assumes the bundle's R).
    reject_fraction : float or None
        Fraction of pixels flagged at random (cosmic rays, rejected pixels).
    bad_columns : int
        Blocks of 2–6 adjacent flagged pixels (bad CCD columns).
    sky, telluric : bool
        Include sky emission / telluric absorption and their residuals.
    sky_brightness : float
        Scale of the sky relative to the star (1: a faint target).
    sky_scale_error, sky_shift_error : float
        Sky subtraction errors: line scale (fraction) and shift (fraction of the FWHM).
    telluric_error : float
        Fractional error of the telluric correction per band.
    airmass_range : (float, float)
        Airmass drawn uniformly in this range.
    reference_snr : float
        S/N whose noise sets the weights (ivar) of a noiseless spectrum.
    interstellar : bool
        Put the interstellar lines and bands of the drawn E(B−V) on the star
        (:mod:`~zeta_payne.validation.interstellar`: Ca II H and K, Na I D, five DIBs; mean
        strengths, fixed in the observatory's frame). Off by default: the stored studies were
        made without them; ``--observation-set interstellar=true`` measures what they cost.
    exclude_bits : int
        Pixel-flag bits the reader leaves out besides its defaults
        (:func:`~zeta_payne.io.sdss.common.bad_pixel_bits`) when the spectrum is read into the
        fitter — to measure what a mask would gain (e.g. APOGEE SIG_SKYLINE, ``1 << 12`` =
        4096); the delivered file is unchanged.
    lsf_wing_fraction, lsf_wing_width : float
        A non-Gaussian LSF: this fraction of the light in a second Gaussian this many times
        wider than the core (0: a Gaussian LSF, the default). The reported ``wresl`` stays the
        core's FWHM — a test of what a fitter that assumes Gaussians makes of LSF wings
        (or of scattered light spread over a few resolution elements).
    """

    ebv_range: tuple[float, float] | None = None
    r_v: float = 3.1
    calibrated: bool = True
    calibration_error: float | None = None
    lsf_scatter: float = 0.03
    report_lsf: bool | None = None
    reject_fraction: float | None = None
    bad_columns: int = 3
    sky: bool = True
    telluric: bool = True
    sky_brightness: float = 1.0
    sky_scale_error: float = 0.03
    sky_shift_error: float = 0.02
    telluric_error: float = 0.1
    airmass_range: tuple[float, float] = (1.0, 1.5)
    reference_snr: float = 1000.0
    lsf_wing_fraction: float = 0.0
    lsf_wing_width: float = 3.0
    interstellar: bool = False
    exclude_bits: int = 0

    def value(self, name: str, instrument: str) -> Any:
        """A field's value for ``instrument`` (its default where the field is ``None``)."""
        given = getattr(self, name)
        return DEFAULTS[instrument][name] if given is None else given


def _bit(instrument: str, name: str) -> int:
    return 1 << (BOSS_BITS if instrument == "boss" else APOGEE_BITS)[name]


def observe_realistic(
    model_wavelength: npt.ArrayLike,
    model_flux: npt.ArrayLike,
    model_resolution: float | None,
    instrument: str,
    teff: float,
    v_rad: float,
    snr: float | None,
    rng: np.random.Generator,
    model: ObservationModel | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float | np.ndarray]]:
    """Observe one rest-frame model spectrum as a BOSS or APOGEE file would carry it.

    Parameters
    ----------
    model_wavelength : array_like, shape (P,)
        Rest-frame vacuum wavelengths [Å], uniform in ln λ.
    model_flux : array_like, shape (P,)
        Normalised flux at ``model_resolution`` (rotation applied).
    model_resolution : float or None
        R_model of the model spectrum.
    instrument : {"boss", "apogee"}
    teff : float
        The star's temperature [K] (its continuum slope).
    v_rad : float
        Radial velocity [km/s].
    snr : float or None
        Nominal S/N: the median S/N per usable pixel (``None`` or inf: noiseless, weights as
        at ``model.reference_snr``).
    rng : numpy.random.Generator
    model : ObservationModel, optional

    Returns
    -------
    pixels : dict of numpy.ndarray, each shape (N,)
        ``wavelength`` [Å, vacuum], ``flux``, ``ivar``, ``pixel_flags`` (int64) and, where
        reported, ``wresl`` (LSF FWHM [Å]).
    truth : dict
        ``ebv``, ``airmass``, ``lsf_scale``, ``fwhm`` (N,) [Å] the true LSF, ``snr_pixel``
        (N,) the expected S/N per pixel, ``usable`` (N,) bool, ``response`` (N,) the
        expected flux divided by the broadened normalised spectrum.
    """
    model = model or ObservationModel()
    lam, in_gaps = instrument_pixels(instrument)
    n = lam.size
    flags = np.zeros(n, np.int64)
    bad_bit = "NODATA" if instrument == "boss" else "BADPIX"

    # 1. the LSF and the broadened, shifted spectrum
    scale = 1.0 + model.lsf_scatter * float(np.clip(rng.normal(), -2.5, 2.5))
    power = resolving_power(instrument, lam) / scale
    fwhm = lam / power
    rest = lam / np.exp(float(log_doppler_factor(v_rad)))
    norm, covered = convolve_to_pixels(model_wavelength, model_flux, model_resolution, rest, power)
    if model.lsf_wing_fraction > 0:
        wing, _ = convolve_to_pixels(
            model_wavelength, model_flux, model_resolution, rest, power / model.lsf_wing_width
        )
        norm = (1.0 - model.lsf_wing_fraction) * norm + model.lsf_wing_fraction * wing
    on_detector = detector_coverage(instrument, lam) & in_gaps
    flags[~(covered & on_detector)] |= _bit(instrument, bad_bit)

    # 2. continuum, dust, atmosphere, throughput
    ebv = float(rng.uniform(*model.value("ebv_range", instrument)))
    sed = planck_flambda(lam, teff) * reddening(lam, ebv, model.r_v)
    airmass = float(rng.uniform(*model.airmass_range))
    n_bands = len(TELLURIC_BANDS[instrument])
    band_error = 1.0 + rng.normal(0.0, model.telluric_error, n_bands)
    if model.telluric:
        tau = telluric_depth(instrument, lam, fwhm)
        trans = np.exp(-airmass * tau)
        trans_corr = np.exp(-airmass * telluric_depth(instrument, lam, fwhm, band_error))
    else:
        tau = np.zeros(n)
        trans = trans_corr = np.ones(n)
    thru = throughput(instrument, lam)
    if model.interstellar:
        sed = sed * interstellar_absorption(lam, fwhm, ebv)
    light = sed * trans * thru * lam**2  # counts per pixel at unit exposure
    star = light * norm

    # 3. flags drawn before the S/N is set (the median runs over the usable pixels)
    good = covered & on_detector & (thru > 0)
    candidates = np.flatnonzero(good)
    n_reject = rng.binomial(candidates.size, model.value("reject_fraction", instrument))
    reject = rng.choice(candidates, n_reject, replace=False)
    flags[reject] |= _bit(instrument, "FULLREJECT" if instrument == "boss" else "CRPIX")
    column_bit = _bit(instrument, "BADFLAT" if instrument == "boss" else "BADPIX")
    for _ in range(model.bad_columns):
        start = int(rng.choice(candidates))
        flags[start : start + int(rng.integers(2, 7))] |= column_bit
    usable = good & ((flags & _bit_mask(instrument)) == 0)

    level = np.median(star[usable])
    star = star / level
    light = light / level
    sky = sky_spectrum(instrument, lam, fwhm, model.sky_brightness) if model.sky else np.zeros(n)
    residual = (
        sky_residual(
            instrument, lam, fwhm, rng, model.sky_scale_error, model.sky_shift_error, model.sky_brightness
        )
        if model.sky
        else np.zeros(n)
    )
    noiseless = snr is None or not np.isfinite(snr)
    target = model.reference_snr if noiseless else float(snr)
    per_unit = star / np.sqrt(np.clip(star + sky, 1e-30, None))
    exposure = (target / np.median(per_unit[usable])) ** 2
    variance = exposure * (star + sky)
    counts = exposure * (star - residual)
    if not noiseless:
        counts = counts + rng.normal(0.0, 1.0, n) * np.sqrt(variance)

    # 4. calibration
    calib = random_response(lam, 3, rng, amplitude=model.value("calibration_error", instrument))
    if model.calibrated:
        factor = np.where(thru > 0, exposure * thru * lam**2 * trans_corr / level / calib, 1.0)
    else:
        factor = np.ones(n)
    flux = counts / factor
    ivar = np.where(variance > 0, factor**2 / np.clip(variance, 1e-300, None), 0.0)

    # 5. flags
    if model.sky:
        flags[sky > star] |= _bit(instrument, "BRIGHTSKY" if instrument == "boss" else "SIG_SKYLINE")
    if instrument == "apogee" and model.telluric:
        flags[airmass * tau > 0.1] |= _bit(instrument, "SIG_TELLURIC")
    unusable = (flags & _bit_mask(instrument)) != 0
    flux[unusable] = 0.0
    ivar[unusable] = 0.0

    pixels = {"wavelength": lam, "flux": flux, "ivar": ivar, "pixel_flags": flags}
    if model.value("report_lsf", instrument):
        pixels["wresl"] = fwhm
    expected = exposure * star / factor
    truth = {
        "ebv": ebv,
        "airmass": airmass,
        "lsf_scale": scale,
        "fwhm": fwhm,
        "snr_pixel": np.where(variance > 0, exposure * star / np.sqrt(np.clip(variance, 1e-300, None)), 0.0),
        "usable": ~unusable,
        "response": np.where(norm > 0, expected / np.where(norm > 0, norm, 1.0), 0.0),
    }
    return pixels, truth


def _bit_mask(instrument: str) -> int:
    """The pixel-flag bits that make a pixel unusable: those the pipelines give ivar 0 (not
    the readers' defaults, which also leave out BOSS's sky-dominated pixels)."""
    from zeta_payne.io.sdss.layout import APOGEE_BAD_PIXEL_BITS, BOSS_BAD_PIXEL_BITS

    return BOSS_BAD_PIXEL_BITS if instrument == "boss" else APOGEE_BAD_PIXEL_BITS


def realistic_spectrum(
    model_wavelength: npt.ArrayLike,
    model_flux: npt.ArrayLike,
    model_resolution: float | None,
    instrument: str,
    teff: float,
    v_rad: float,
    snr: float | None,
    rng: np.random.Generator,
    model: ObservationModel | None = None,
) -> tuple[Spectrum, dict[str, float | np.ndarray]]:
    """:func:`observe_realistic`, read into the fitter's ``Spectrum`` by the SDSS readers' code.

    Returns
    -------
    spectrum : zeta_payne.fitting.spectrum.Spectrum
        As a real file of ``instrument`` would give it (flags → pixel mask, ``wresl`` →
        ``lsf_fwhm``).
    truth : dict
        See :func:`observe_realistic`.
    """
    from zeta_payne.io.sdss.common import bad_pixel_bits, to_spectrum

    pixels, truth = observe_realistic(
        model_wavelength, model_flux, model_resolution, instrument, teff, v_rad, snr, rng, model
    )
    bits = bad_pixel_bits(instrument) | (model.exclude_bits if model is not None else 0)
    meta = {"instrument": instrument, "kind": "simulated"}
    return to_spectrum(pixels, meta, bits, frame="observed"), truth
