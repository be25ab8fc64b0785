"""Fit options (the paper's defaults unless a bundle or the caller says otherwise), and the
one place where a bundle's defaults, the caller's overrides and the spectrum's frame are
merged (:func:`merge_options`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["FLAG_ONLY_OPTIONS", "OBSERVED_RV_RANGE", "FitOptions", "merge_options"]

#: Pre-search RV range [km/s] of spectra in the observed frame (BOSS spec files, apVisit),
#: unless the caller gives one: halo stars and runaways reach a few hundred km/s.
OBSERVED_RV_RANGE: tuple[float, float] = (-500.0, 500.0)

#: Options that change only a fit's flags, never its labels, errors or which refits run: a
#: bundle's error calibration survives a change of them (``zeta-payne bundle defaults``).
FLAG_ONLY_OPTIONS: frozenset[str] = frozenset({"edge_chi2_min", "refit_shift_max"})


@dataclass(frozen=True)
class FitOptions:
    """Options of :class:`zeta_payne.fitting.Fitter`.

    Attributes
    ----------
    wavelength_range : (float, float) or None
        Fitted range [Å, vacuum]; ``None`` takes the bundle default (APOGEE 15000–17000,
        BOSS 4500–10170 in the paper).
    resolution : float or None
        An explicit constant resolving power R for a Gaussian LSF (FWHM = λ/R) that
        overrides the spectrum's own LSF. ``None`` (the default; bundles never set it):
        the spectrum's per-pixel LSF, else ``fallback_resolution``.
    fallback_resolution : float or None
        R used when the spectrum carries no LSF (the bundle's ``fit_defaults.resolution``);
        a fit that uses it is flagged ``LSF_FROM_BUNDLE``.
    use_spectrum_lsf : bool
        Use the spectrum's per-pixel LSF when it has one (``False``: ignore it and take
        ``resolution``, else ``fallback_resolution``).
    masked_bands : tuple of (float, float)
        Wavelength intervals [Å, vacuum, the observatory's frame] left out of χ²: features
        fixed at the telescope that the reduction corrects imperfectly, the telluric bands
        (BOSS 3.0.6: O₂ B and A and the H₂O bands at 7,160–7,340 and 8,130–8,350 Å, where a
        correction 10 % off biased the RV and [M/H] in the realistic simulations,
        ``docs/fitting.md``, "Masked pixels"). The fit reports no model flux inside them (no
        pixel constrains the response there). In a spectrum that is not
        in the observed frame (rest frame, or unknown) each interval is widened by
        ``masked_band_margin`` on both sides: the star's RV and the barycentric correction
        have moved it by an amount the fit does not know. Empty: every pixel counts.
    masked_band_margin : float
        Widening [km/s] of ``masked_bands`` and ``error_floor_bands`` in rest-frame spectra.
    error_floor_bands : tuple of (float, float, float)
        Intervals ``(lo, hi, fraction)`` [Å, Å, dimensionless; vacuum, the observatory's
        frame, widened as ``masked_bands`` are] whose pixels get a relative error floor: their
        variance grows by ``(fraction · |flux|)²``. A band whose correction leaves a residual of
        about that fraction of the flux keeps its information in noisy spectra (the noise
        dominates) and stops dominating χ² in clean ones. Empty: no floor.
    n_chebyshev : int
        Chebyshev terms of the response (per segment). Paper/authors' default 15.
    response_segments : tuple of float
        Interior boundaries [Å] of separate response series (e.g. APOGEE chips).
    presearch_points : int
        Sobol points of the pre-search over labels + RV (paper: 4000).
    rv_range : (float, float)
        Pre-search RV range [km/s] (simulations: ±50; real visit spectra need wider).
    presearch_refine_width : float
        A pre-search over a wider RV range than this [km/s] (observed-frame spectra) is
        repeated over this width around its best RV, so that the labels are searched as
        densely as in a rest-frame search; 0 turns it off.
    presearch_stride : int
        Use every ``stride``-th fitted pixel for the pre-search χ² (the final fit uses all).
    presearch_rank_tolerance : float
        Batched fitter only: the candidates' network outputs enter its pre-search as a
        low-rank factorisation whose rms residual per model pixel stays below this
        (normalised flux; 0: full rank). See :mod:`zeta_payne.fitting.batched_presearch`.
    presearch_recheck : int
        The best candidates of the pre-search that are re-evaluated with the χ² in float64
        (full network, every ``presearch_stride``-th pixel); the best of them starts the
        least squares. Batched fitter: the best of its approximate (low-rank) pre-search; 8
        keeps the exact best among them in every one of 25 simulated APOGEE and BOSS
        spectra (4 in 96 %). Per-spectrum fitter: the best by its float32 χ², whose
        rounding (~2, up to 8, at S/N 50) otherwise orders near-equal candidates at random.
    presearch_coarse_stride, presearch_coarse_keep : int
        Batched fitter only: its pre-search first ranks every candidate on every
        ``presearch_coarse_stride``-th fitted pixel and ranks only the
        ``presearch_coarse_keep`` best on every ``presearch_stride``-th (0: no coarse pass).
        8 and 200 halve its time with the per-spectrum pre-search's best still among the
        re-checked in all of 25 APOGEE and 25 BOSS spectra.
    rv_step : float or None
        RV spacing of the pre-search levels [km/s]; ``None``: half the LSF FWHM.
    rv_margin : float
        The final fit may move the RV this far [km/s] beyond ``rv_range``.
    fixed : mapping
        Labels held fixed, ``{name: value}``; overrides the bundle's fixed labels.
    free : tuple of str
        Labels to free that the bundle fixes (e.g. ``("v_micro",)``).
    hold_outside : mapping
        Free labels the bundle constrains only within a range of another label,
        ``{name: {"label": other, "range": (lo, hi), "value": held}}`` (a v_micro bundle:
        ``{"v_micro": {"label": "teff", "range": (6000, 10000), "value": 2.0}}``, from its
        ``fit_defaults``). A spectrum whose fitted ``other`` ends outside ``[lo, hi]`` is
        fitted again with ``name`` held at ``held`` (that result is returned: the held label
        carries its value and NaN errors). Labels in ``fixed`` are held everywhere instead.
    hold_unconstrained_at_edge : mapping
        ``{name: held value}``: a spectrum whose fit ends with ``name`` at an edge of the box
        *and* flagged ``<NAME>_UNCONSTRAINED`` (its covariance error above
        ``unconstrained_error``) is fitted again with ``name`` held at the value (that result
        is returned, still flagged ``<NAME>_UNCONSTRAINED``; the held label carries the value
        and NaN errors). The v3 APOGEE bundle: ``{"m_h": 0.0}`` — a hot star's [M/H], which
        the H band barely constrains, ran to an edge of the box and took teff with it
        (``docs/validation/v3/README.md``).
    blue_limit_outside : mapping
        ``{"label": name, "range": (lo, hi), "value": wavelength}``: a spectrum whose fitted
        label ``name`` ends outside ``[lo, hi]`` is fitted again from ``wavelength`` [Å] (the
        blue end of ``wavelength_range`` raised to it; that result is returned). The v3 BOSS
        bundles fit from 3,900 Å below 10,000 K and from 4,450 Å above, where 3,900–4,450 Å
        pulled real B stars' teff 4 % lower and doubled their χ² (``docs/fitting.md``).
        Empty: one range for every spectrum.
    masked_bands_outside : mapping
        ``{"label": name, "range": (lo, hi), "bands": ((lo, hi), ...)}``: a spectrum whose
        fitted label ``name`` ends outside ``[lo, hi]`` is fitted again with ``bands`` [Å,
        vacuum, the observatory's frame, widened as ``masked_bands`` are] left out as well
        (that result is returned; one refit with ``blue_limit_outside`` when both apply). The
        BOSS bundles from 3.2.6 mask the interstellar lines and bands (Ca II H and K, Na I D,
        the DIBs at 4428, 5780/5797, 6284 and 6614 Å) above 10,000 K, where the star's own
        lines there are weak and the gas of a reddened sight line biased [M/H] by +0.05 dex
        (median; 0.3–0.5 dex in the tail) in the realistic simulations
        (``docs/fitting.md``, "Refits"); cooler stars keep them, their strong
        stellar Ca II K and Na D carry [M/H]. Empty: no such rule.
    refit_shift_max : float or None
        A refit that ``hold_outside``, ``blue_limit_outside`` or ``masked_bands_outside`` called
        for, whose deciding label ends back *inside* the rule's range and more than this
        fraction of the first fit's value away from it, is flagged ``REFIT_DISAGREES`` (bad):
        with the rule's pixels the spectrum says one side of the boundary, without them the
        other, far apart — no label set is consistent with the rule, and the model lacks
        something this spectrum has. 0.1: the chemically peculiar A stars of the real-star
        benchmark moved 18–22 % in teff across the BOSS bundles' 10,000 K, the normal stars
        there 4.4 % at most (``docs/fitting.md``, "Refits"). The refit's labels are returned
        either way. ``None``: never flag.
    refit_start : {"presearch", "first"}
        Where a refit called for by ``hold_outside``, ``hold_unconstrained_at_edge``,
        ``blue_limit_outside`` or ``masked_bands_outside`` starts its least squares.
        ``"presearch"`` (default): a fresh pre-search, as the first fit. ``"first"``: the
        first fit's labels (the held ones at their held values) and RV, without a pre-search
        or ``restarts``: a quarter less time for hot stars (the pre-search is ≈ 60 % of
        a refit's), BOSS 3.2.6's Table 3 unchanged, APOGEE 3.3.4's [M/H] worse by 0.02–0.04
        dex (``docs/validation/diagnosis/refit-start/``). Joint and multi-epoch fits make their own refits
        as before, whatever this says.
    restarts : int
        After the least squares from the best pre-search candidate, start them again from
        the best candidate of up to ``restarts`` other basins — a candidate belongs to
        another basin when some free label differs from every start so far by more than
        ``restart_separation`` of the box's width — and keep the lowest χ². The batched
        fitter looks for the other basins among its ``presearch_coarse_keep`` best
        candidates (by its approximate χ²), the per-spectrum one among all, and fits every
        further start as one more row of its batch. 0 (default): one start, as in the paper.
    restart_separation : float
        See ``restarts`` (a fraction of each free label's box width).
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
    edge_chi2_min : mapping
        ``{name: Δχ²/χ²_ν}``: labels whose ``<NAME>_AT_EDGE`` (bad) asks that the data push
        past the edge — the χ² the fit would lose if the label alone went past the bound,
        linearised at the optimum and divided by the reduced χ²
        (:func:`~zeta_payne.fitting.diagnostics.edge_chi2`), at least this much. A fit that
        ends at such an edge with less is ``<NAME>_NEAR_EDGE`` (a warning): a weakly
        constrained label came to rest on the bound. Empty (default): every label at an
        edge is bad. A label of ``hold_unconstrained_at_edge`` is refused (its at-edge flag
        decides a refit; this option changes flags only).
    lte_teff_max : float or None
        Fitted teff [K] at or above which ``NLTE_REGIME`` (a warning) is set: the models are
        LTE, and above about 20,000 K departures from LTE in the He I lines and the Balmer line
        cores grow large in B stars (the paper, §6, names NLTE as the next step); the labels
        there carry a systematic the uncertainties do not include. ``None``: never flag.
    rigid_rotation_v_sini_max : float or None
        Fitted v sin i [km/s] at or above which ``RAPID_ROTATION`` (a warning) is set: the
        model rotates a spherical star of one temperature, while a star this close to critical
        rotation is oblate and gravity-darkened. v_eq ≥ v sin i ≥ 300 km/s is 0.5–0.8 of the
        critical velocity of a 1.4–10 M☉ dwarf or more, where (Roche model, von Zeipel's law)
        the equator is 9–25 % cooler than the poles (``docs/validation/diagnosis/rapid-rotation/``);
        teff and log g then depend on the inclination, a systematic the uncertainties do not
        include. ``None``: never flag.
    logg_floor : tuple of (float, float, float)
        ``(teff_lo, teff_hi, logg_min)`` cells of the bundle's box without training spectra
        below ``logg_min`` (no model atmospheres there; a bundle's ``fit_defaults``,
        :func:`zeta_payne.grids.coverage.logg_floor`). Pre-search candidates there are dropped
        and a fit that ends there is ``UNTRAINED_REGION`` (bad). Empty: the whole box is
        trained.
    unconstrained_error : mapping
        ``{label: error}``: a free label whose covariance error (the Jacobian's, scaled by
        the reduced χ², before any calibration) exceeds ``error`` [label units] is flagged
        ``<LABEL>_UNCONSTRAINED`` (a warning: the spectrum barely constrains it; the value is
        close to arbitrary within the box). The v3 APOGEE bundle sets ``{"m_h": 0.3}``: above
        10,000 K the H band has almost no metal lines (``docs/fitting.md``). Empty: no test.
    out_of_box : mapping
        Out-of-box thresholds of this bundle, the fields of
        :class:`~zeta_payne.fitting.outofbox.OutOfBoxThresholds` to change (``ratio`` is
        merged group by group). Empty: the defaults, tuned on the v2 BOSS bundle.
    unresolved_v_sini : float
        v sin i below this fraction of the LSF's velocity FWHM (``c/R``) is flagged
        ``V_SINI_UNRESOLVED`` (a warning; also at v sin i's lower bound). 0.5: BOSS
        (R 2,000) 75 km/s, APOGEE (R 22,500) 6.7 km/s.
    compute_uncertainties : bool
        Run the χ² parabolas.
    seed : int
        Seed of the (scrambled) Sobol sequence.
    """

    wavelength_range: tuple[float, float] | None = None
    resolution: float | None = None
    fallback_resolution: float | None = None
    use_spectrum_lsf: bool = True
    masked_bands: tuple[tuple[float, float], ...] = ()
    masked_band_margin: float = 300.0
    error_floor_bands: tuple[tuple[float, float, float], ...] = ()
    n_chebyshev: int = 15
    response_segments: tuple[float, ...] = ()
    presearch_points: int = 4000
    rv_range: tuple[float, float] = (-50.0, 50.0)
    presearch_refine_width: float = 100.0
    presearch_stride: int = 2
    presearch_rank_tolerance: float = 2e-4
    presearch_recheck: int = 8
    presearch_coarse_stride: int = 8
    presearch_coarse_keep: int = 200
    rv_step: float | None = None
    rv_margin: float = 50.0
    fixed: Mapping[str, float] = field(default_factory=dict)
    free: tuple[str, ...] = ()
    hold_outside: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    hold_unconstrained_at_edge: Mapping[str, float] = field(default_factory=dict)
    blue_limit_outside: Mapping[str, Any] = field(default_factory=dict)
    masked_bands_outside: Mapping[str, Any] = field(default_factory=dict)
    refit_shift_max: float | None = 0.1
    refit_start: str = "presearch"
    restarts: int = 0
    restart_separation: float = 0.15
    initial_fit: bool = False
    max_nfev: int = 100
    polish_nfev: int = 40
    chi2_tolerance: float = 0.01
    min_pixels: int = 100
    low_snr: float = 10.0
    poor_fit_rchi2: float = 10.0
    near_edge: float = 0.02
    at_edge: float = 0.002
    edge_chi2_min: Mapping[str, float] = field(default_factory=dict)
    lte_teff_max: float | None = 20000.0
    rigid_rotation_v_sini_max: float | None = 300.0
    logg_floor: tuple[tuple[float, float, float], ...] = ()
    unconstrained_error: Mapping[str, float] = field(default_factory=dict)
    out_of_box: Mapping[str, Any] = field(default_factory=dict)
    unresolved_v_sini: float = 0.5
    compute_uncertainties: bool = True
    seed: int = 0

    def updated(self, **changes: Any) -> FitOptions:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _normalised(value: Any) -> Any:
    """JSON lists (of lists) as the tuples the options hold."""
    return tuple(_normalised(v) for v in value) if isinstance(value, list) else value


def merge_options(
    defaults: Mapping[str, Any] | None = None,
    overrides: FitOptions | Mapping[str, Any] | None = None,
    frame: str | None = None,
) -> FitOptions:
    """The fit options of one fit: bundle defaults, then the caller's overrides, then the frame.

    This is the only place where options are merged (the CLI, the ASTRA pipeline and
    :class:`~zeta_payne.fitting.Fitter` call it).

    Parameters
    ----------
    defaults : mapping, optional
        A bundle's ``fit_defaults`` (its manifest). Their ``resolution`` is the bundle's
        nominal R and becomes ``fallback_resolution``: it never overrides the spectrum's
        own LSF. Keys that are not options are ignored.
    overrides : FitOptions or mapping, optional
        A complete :class:`FitOptions` (used as it is: the frame does not change it), or
        changes of the defaults. ``None`` values are ignored; ``fixed`` is added to the
        bundle's fixed labels; a ``resolution`` here is an explicit override of the
        spectrum's LSF.
    frame : {"rest", "observed"} or None
        Frame of the spectra to fit. ``"observed"``: ``rv_range`` becomes
        :data:`OBSERVED_RV_RANGE` unless ``overrides`` set it. ``"rest"`` or ``None``: the
        bundle's range (the paper's ±50 km/s).

    Returns
    -------
    FitOptions

    Raises
    ------
    ValueError
        Unknown option names in ``overrides``, or an unknown ``frame``.
    """
    if frame not in (None, "rest", "observed"):
        raise ValueError(f"frame must be 'rest', 'observed' or None, not {frame!r}")
    if isinstance(overrides, FitOptions):
        return overrides
    known = {f.name for f in fields(FitOptions)}
    base: dict[str, Any] = {}
    for key, value in (defaults or {}).items():
        if key == "resolution":
            key = "fallback_resolution"
        if key in known:
            base[key] = _normalised(value)
    options = FitOptions(**base)
    changes = {k: _normalised(v) for k, v in (overrides or {}).items() if v is not None}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown fit options {sorted(unknown)}")
    if "fixed" in changes:  # added to the bundle's fixed labels, not replacing them
        changes["fixed"] = {**dict(options.fixed), **dict(changes["fixed"])}
    if frame == "observed" and "rv_range" not in changes:
        changes["rv_range"] = OBSERVED_RV_RANGE
    return options.updated(**changes)
