"""Fit options (the paper's defaults unless a bundle or the caller says otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["FitOptions"]


@dataclass(frozen=True)
class FitOptions:
    """Options of :class:`zeta_payne.fitting.Fitter`.

    Attributes
    ----------
    wavelength_range : (float, float) or None
        Fitted range [Å, vacuum]; ``None`` takes the bundle default (APOGEE 15000–17000,
        BOSS 4500–10170 in the paper).
    resolution : float or None
        Constant resolving power R for a Gaussian LSF (FWHM = λ/R). ``None`` uses the
        spectrum's own per-pixel LSF when it has one, else the bundle default.
    use_spectrum_lsf : bool
        Prefer the spectrum's per-pixel LSF over ``resolution`` when both exist.
    n_chebyshev : int
        Chebyshev terms of the response (per segment). Paper/authors' default 15.
    response_segments : tuple of float
        Interior boundaries [Å] of separate response series (e.g. APOGEE chips).
    presearch_points : int
        Sobol points of the pre-search over labels + RV (paper: 4000).
    rv_range : (float, float)
        Pre-search RV range [km/s] (simulations: ±50; real visit spectra need wider).
    presearch_stride : int
        Use every ``stride``-th fitted pixel for the pre-search χ² (the final fit uses all).
    rv_step : float or None
        RV spacing of the pre-search levels [km/s]; ``None``: half the LSF FWHM.
    rv_margin : float
        The final fit may move the RV this far [km/s] beyond ``rv_range``.
    fixed : mapping
        Labels held fixed, ``{name: value}``; overrides the bundle's fixed labels.
    free : tuple of str
        Labels to free that the bundle fixes (e.g. ``("v_micro",)``).
    initial_fit : bool
        Run the paper's stage 1 (TRF from the box centre) before the pre-search. With the
        response solved linearly for every pre-search candidate this stage is not needed.
    max_nfev : int
        Evaluation limit of the TRF over labels + RV (response projected out).
    polish_nfev : int
        Evaluation limit of the final TRF over labels + RV + response, which starts at
        the projected optimum.
    chi2_tolerance : float
        The least squares stop when an iteration lowers χ² by less than this (absolute;
        1 corresponds to a 1σ change of one parameter).
    min_pixels : int
        Fewer usable pixels flag ``TOO_FEW_PIXELS`` and skip the fit.
    low_snr : float
        Median S/N below this flags ``LOW_SNR``.
    poor_fit_rchi2 : float
        Reduced χ² above this flags ``POOR_FIT``.
    near_edge : float
        Fraction of the box width within which a label is "near" an edge.
    at_edge : float
        Fraction of the box width within which a label is "at" an edge.
    compute_uncertainties : bool
        Run the χ² parabolas.
    seed : int
        Seed of the (scrambled) Sobol sequence.
    """

    wavelength_range: tuple[float, float] | None = None
    resolution: float | None = None
    use_spectrum_lsf: bool = True
    n_chebyshev: int = 15
    response_segments: tuple[float, ...] = ()
    presearch_points: int = 4000
    rv_range: tuple[float, float] = (-50.0, 50.0)
    presearch_stride: int = 2
    rv_step: float | None = None
    rv_margin: float = 50.0
    fixed: Mapping[str, float] = field(default_factory=dict)
    free: tuple[str, ...] = ()
    initial_fit: bool = False
    max_nfev: int = 100
    polish_nfev: int = 10
    chi2_tolerance: float = 0.01
    min_pixels: int = 100
    low_snr: float = 10.0
    poor_fit_rchi2: float = 10.0
    near_edge: float = 0.02
    at_edge: float = 0.002
    compute_uncertainties: bool = True
    seed: int = 0

    def updated(self, **changes: Any) -> FitOptions:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
