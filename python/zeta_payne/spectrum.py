"""The observed spectrum as the fitter sees it (below both :mod:`zeta_payne.fitting` and
:mod:`zeta_payne.io`, so that readers need not import the fitter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from zeta_payne.exceptions import SpectrumError

__all__ = ["FRAMES", "Spectrum"]

#: Reference frames of the wavelengths: ``"rest"`` (the radial velocity removed, e.g.
#: mwmStar/mwmVisit, apStar) or ``"observed"`` (heliocentric/barycentric, e.g. BOSS spec
#: files, apVisit).
FRAMES: tuple[str, ...] = ("rest", "observed")


@dataclass
class Spectrum:
    """One observed spectrum (not continuum-normalised).

    Parameters
    ----------
    wavelength : array_like, shape (N,)
        Vacuum wavelengths [Å], strictly increasing.
    flux : array_like, shape (N,)
        Flux in any units.
    ivar : array_like, shape (N,)
        Inverse variance of ``flux`` (0 marks a pixel as unusable).
    lsf_fwhm : array_like, shape (N,), optional
        Line-spread-function FWHM at every pixel [Å] (e.g. BOSS ``wresl``).
    pixel_mask : array_like of bool, shape (N,), optional
        ``True`` for pixels to exclude (bad pixel flags, detector gaps).
    meta : dict
        Free-form identification (file, spectrum_pk, ...).
    frame : {"rest", "observed"} or None
        Reference frame of ``wavelength`` (see :data:`FRAMES`); ``None`` if unknown. It
        chooses the radial-velocity search range (:func:`zeta_payne.fitting.options.merge_options`)
        and where the observatory-frame ``masked_bands`` of the fit options lie.
    """

    wavelength: npt.ArrayLike
    flux: npt.ArrayLike
    ivar: npt.ArrayLike
    lsf_fwhm: npt.ArrayLike | None = None
    pixel_mask: npt.ArrayLike | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    frame: str | None = None

    def __post_init__(self) -> None:
        if self.frame is not None and self.frame not in FRAMES:
            raise SpectrumError(f"frame must be one of {FRAMES} or None, not {self.frame!r}")
        self.wavelength = np.asarray(self.wavelength, dtype=float).ravel()
        self.flux = np.asarray(self.flux, dtype=float).ravel()
        self.ivar = np.asarray(self.ivar, dtype=float).ravel()
        n = self.wavelength.size
        if n == 0:
            raise SpectrumError("empty spectrum: no pixels")
        for name in ("flux", "ivar"):
            if getattr(self, name).size != n:
                raise SpectrumError(f"{name} has {getattr(self, name).size} pixels but wavelength has {n}")
        if self.lsf_fwhm is not None:
            self.lsf_fwhm = np.asarray(self.lsf_fwhm, dtype=float).ravel()
            if self.lsf_fwhm.size != n:
                raise SpectrumError(f"lsf_fwhm has {self.lsf_fwhm.size} pixels but wavelength has {n}")
        if self.pixel_mask is not None:
            self.pixel_mask = np.asarray(self.pixel_mask).astype(bool).ravel()
            if self.pixel_mask.size != n:
                raise SpectrumError(f"pixel_mask has {self.pixel_mask.size} pixels but wavelength has {n}")
        if not np.all(np.isfinite(self.wavelength)):
            raise SpectrumError("wavelengths contain NaN or inf")
        if n > 1 and np.any(np.diff(self.wavelength) <= 0):
            raise SpectrumError("wavelengths are not strictly increasing")
        if self.wavelength[0] <= 0:
            raise SpectrumError("wavelengths must be positive")

    @property
    def n_pixels(self) -> int:
        """Number of pixels N."""
        return int(self.wavelength.size)

    def bad_input_pixels(self) -> np.ndarray:
        """Pixels whose flux or ivar is non-finite, or ivar negative, shape (N,) bool."""
        return ~np.isfinite(self.flux) | ~np.isfinite(self.ivar) | (self.ivar < 0)

    def usable(self) -> np.ndarray:
        """Pixels that can enter χ², shape (N,) bool."""
        ok = ~self.bad_input_pixels() & (self.ivar > 0)
        if self.pixel_mask is not None:
            ok &= ~self.pixel_mask
        if self.lsf_fwhm is not None:
            ok &= np.isfinite(self.lsf_fwhm) & (self.lsf_fwhm > 0)
        return ok
