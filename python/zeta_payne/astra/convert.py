"""Between ASTRA rows and the library: spectrum model → :class:`Spectrum`, result → columns."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from zeta_payne.astra import compat
from zeta_payne.astra.model import LABEL_COLUMNS, RHO_COLUMNS
from zeta_payne.bundles.bundle import Bundle
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.spectrum import Spectrum
from zeta_payne.io.sdss.common import to_spectrum

log = logging.getLogger(__name__)

__all__ = [
    "APOGEE_MODELS",
    "boss_wresl",
    "BOSS_MODELS",
    "OBSERVED_FRAME_MODELS",
    "fit_input",
    "instrument_of",
    "result_columns",
]

#: Spectrum models of each instrument (mwm first: the default inputs).
BOSS_MODELS: tuple[type, ...] = (
    compat.BossCombinedSpectrum,
    compat.BossRestFrameVisitSpectrum,
    compat.BossVisitSpectrum,
)
APOGEE_MODELS: tuple[type, ...] = (
    compat.ApogeeCombinedSpectrum,
    compat.ApogeeRestFrameVisitSpectrum,
    compat.ApogeeCoaddedSpectrumInApStar,
    compat.ApogeeVisitSpectrumInApStar,
    compat.ApogeeVisitSpectrum,
)

#: Spectrum models in the observed (heliocentric) frame: their radial velocity is not removed.
OBSERVED_FRAME_MODELS: tuple[type, ...] = (compat.BossVisitSpectrum, compat.ApogeeVisitSpectrum)


def instrument_of(spectrum: Any) -> str:
    """``"boss"`` or ``"apogee"`` from a spectrum model instance (or class).

    Raises
    ------
    TypeError
        Not one of the plugin's spectrum models.
    """
    klass = spectrum if isinstance(spectrum, type) else type(spectrum)
    if issubclass(klass, BOSS_MODELS):
        return "boss"
    if issubclass(klass, APOGEE_MODELS):
        return "apogee"
    raise TypeError(f"{klass.__name__} is not a BOSS or APOGEE spectrum model")


def fit_input(spectrum: Any, bad_bits: int | None = None) -> Spectrum:
    """The fitter's :class:`Spectrum` from a spectrum model instance (reads its pixels).

    ``wavelength``, ``flux``, ``ivar``, ``pixel_flags`` and (BOSS) ``wresl`` are taken from
    the lazy pixel arrays, so in-memory assignments are honoured.

    Raises
    ------
    Exception
        Whatever reading the data product raises (the task turns it into a flagged row).
    """
    instrument = instrument_of(spectrum)
    pixels: dict[str, Any] = {}
    for name in ("wavelength", "flux", "ivar", "pixel_flags"):
        value = getattr(spectrum, name, None)
        if value is not None:
            pixels[name] = np.asarray(value).ravel()
    if instrument == "boss":
        wresl = boss_wresl(spectrum)
        if wresl is not None:
            pixels["wresl"] = np.asarray(wresl).ravel()
    meta = {
        "instrument": instrument,
        "spectrum_pk": getattr(spectrum, "spectrum_pk", None),
        "source_pk": getattr(spectrum, "source_pk", None),
        "kind": type(spectrum).__name__,
        "telescope": getattr(spectrum, "telescope", None),
        "name": f"{type(spectrum).__name__}:{getattr(spectrum, 'spectrum_pk', None)}",
    }
    frame = "observed" if isinstance(spectrum, OBSERVED_FRAME_MODELS) else "rest"
    return to_spectrum(pixels, meta, bad_bits, frame=frame)


def boss_wresl(spectrum: Any) -> np.ndarray | None:
    """The per-pixel LSF FWHM [Å] of a BOSS spectrum row, shape (N,), or ``None``.

    From the model's ``wresl`` pixel array where it has one (or an in-memory assignment);
    real ASTRA's ``BossCombinedSpectrum`` has none, so it is read from the mwmStar file's
    ``wresl`` column (the BOSS extension of the row's telescope).
    """
    if "wresl" in vars(spectrum) or hasattr(type(spectrum), "wresl"):
        return getattr(spectrum, "wresl", None)
    try:
        from zeta_payne.io.sdss.layout import mwm_hdu
        from zeta_payne.io.sdss.mwm import load_mwm_pixels
        from zeta_payne.io.sdss.paths import expand_path

        path = expand_path(spectrum.path)
        return load_mwm_pixels(path, mwm_hdu("boss", spectrum.telescope or "apo25m"), 0).get("wresl")
    except Exception as exc:  # no LSF from the file: the fit falls back to the bundle's R (flagged)
        pk = getattr(spectrum, "spectrum_pk", "?")
        log.info("no wresl for %s %s: %s", type(spectrum).__name__, pk, exc)
        return None


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def result_columns(result: FitResult, bundle: Bundle | None, instrument: str) -> dict[str, Any]:
    """Column values of a ``ZetaPayne`` row for one fit (non-finite values become NULL).

    Parameters
    ----------
    result : FitResult
        The fit (or a failed result).
    bundle : Bundle or None
        The bundle used (``None`` when it could not be loaded).
    instrument : str
        ``"boss"`` or ``"apogee"``.
    """
    values: dict[str, Any] = {}
    for name in LABEL_COLUMNS[:-1]:
        values[name] = _finite(result.label(name))
        values[f"e_{name}"] = _finite(result.error(name, "parabola"))
        values[f"raw_e_{name}"] = _finite(result.error(name, "raw"))
        values[f"cov_e_{name}"] = _finite(result.error(name, "covariance"))
        initial = (
            result.initial_labels[result.label_names.index(name)] if name in result.label_names else None
        )
        values[f"initial_{name}"] = _finite(initial)
    values["v_rad"] = _finite(result.v_rad)
    values["e_v_rad"] = _finite(result.e_v_rad)
    values["raw_e_v_rad"] = values["cov_e_v_rad"] = _finite(result.cov_e_v_rad)
    values["initial_v_rad"] = _finite(result.initial_v_rad)
    for column, a, b in RHO_COLUMNS:
        rho = result.correlations.get((a, b), result.correlations.get((b, a)))
        values[column] = _finite(rho)
    coeffs = np.asarray(result.coeffs, dtype=float).ravel()
    values.update(
        chi2=_finite(result.chi2),
        rchi2=_finite(result.rchi2),
        snr=_finite(result.snr),
        n_pixels=int(result.n_pixels),
        chebyshev_coeffs=coeffs if coeffs.size else None,
        instrument=instrument,
        bundle_name=bundle.name if bundle is not None else None,
        bundle_version=bundle.version if bundle is not None else None,
        bundle_sha256=bundle.sha256 if bundle is not None else None,
        result_flags=int(result.flags),
        lsf_source=getattr(result, "lsf_source", None) or None,
    )
    return values
