"""The ZETA-PAYNE fit (paper §3.3) with the improvements of the design note.

Stages: preparation (:mod:`~zeta_payne.fitting.preparation`: pixels, LSF, scale, or a
rejection) → Sobol pre-search over labels + RV with the response solved linearly for every
candidate (optionally against the paper's stage-1 TRF from the box centre) →
Trust-Region-Reflective least squares (:mod:`~zeta_payne.fitting.least_squares`), first with
the response projected out, then over labels + RV + response, with exact Jacobians →
diagnostics (:mod:`~zeta_payne.fitting.diagnostics`: flags, covariance errors, χ² parabolas).
"""

from __future__ import annotations

import copy
import logging
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
import torch
from scipy.optimize import OptimizeResult

from zeta_payne.bundles.bundle import Bundle
from zeta_payne.exceptions import SpectrumRejected
from zeta_payne.fitting.diagnostics import (
    convergence_flags,
    covariance_errors,
    edge_chi2,
    edge_sides,
    label_flags,
    parabola_errors,
    unconstrained_flags,
    unresolved_v_sini,
)
from zeta_payne.fitting.flags import ResultFlags, labels_flag
from zeta_payne.fitting.least_squares import trf
from zeta_payne.fitting.options import FitOptions, merge_options
from zeta_payne.fitting.outofbox import OutOfBoxDiagnostics, OutOfBoxThresholds, diagnose, out_of_box_flags
from zeta_payne.fitting.preparation import Prepared, prepare
from zeta_payne.fitting.presearch import packed_products, sobol_unit, solve_response, varpro_chi2
from zeta_payne.fitting.refits import RefitRules
from zeta_payne.fitting.region import below_logg_floor
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.uncertainty import chi2_one_sigma, n_degrees
from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.response import chebyshev_design
from zeta_payne.spectrum import Spectrum

__all__ = ["Fitter"]

log = logging.getLogger(__name__)


class Fitter:
    """Fit spectra with one bundle.

    Parameters
    ----------
    bundle : Bundle
        The trained model bundle.
    options : FitOptions, optional
        Fit options; ``None`` takes the bundle's defaults (:meth:`default_options`). Without
        a ``fallback_resolution`` the bundle's nominal R is the fallback LSF.
    device : str or torch.device
        ``"cpu"`` or a CUDA device; everything runs there (one code path).
    batch_size : int, optional
        Spectra fitted together by :meth:`fit_batch` on the batched path
        (:mod:`~zeta_payne.fitting.batched`, equal to the per-spectrum fit within a small
        fraction of the errors); ``None`` (the default) chooses it from the device's memory
        (:meth:`resolved_batch_size`), 0 or 1 fits the spectra one at a time.
    """

    def __init__(
        self,
        bundle: Bundle,
        options: FitOptions | None = None,
        device: str = "cpu",
        batch_size: int | None = None,
    ) -> None:
        self.bundle = bundle
        self.device = torch.device(device)
        self.batch_size = None if batch_size is None else int(batch_size)
        self._batched = None
        defaults = dict(bundle.manifest.fit_defaults)
        if options is None:
            options = self.default_options(bundle)
        if options.fallback_resolution is None and defaults.get("resolution"):
            options = options.updated(fallback_resolution=float(defaults["resolution"]))
        self.options = options
        #: The bundle's error calibration (None: ``e_*`` are the raw χ²-parabola errors).
        self.error_calibration = bundle.error_calibration
        self.default_range = tuple(defaults.get("wavelength_range") or (0.0, np.inf))
        specs = bundle.labels
        self.label_names = tuple(s.name for s in specs)
        self.lower = np.array([s.lower for s in specs], dtype=float)
        self.upper = np.array([s.upper for s in specs], dtype=float)
        unknown = (set(options.fixed) | set(options.free) | set(options.unconstrained_error)) - set(
            self.label_names
        )
        if unknown:
            raise ValueError(f"unknown labels {sorted(unknown)}; bundle has {self.label_names}")
        if options.refit_start not in ("presearch", "first"):
            raise ValueError(f"refit_start must be 'presearch' or 'first', not {options.refit_start!r}")
        #: The bundle's out-of-box thresholds (``options.out_of_box`` over the defaults).
        self.out_of_box = OutOfBoxThresholds.from_changes(options.out_of_box)
        free = np.array([s.free or s.name in options.free for s in specs])
        values = np.array([s.value if s.value is not None else 0.5 * (s.lower + s.upper) for s in specs])
        for name, value in options.fixed.items():
            i = self.label_names.index(name)
            free[i] = False
            values[i] = float(value)
        if not free.any():
            raise ValueError("no free labels")
        self.free = free
        self.fixed_values = values
        #: The refit rules of ``options`` (``docs/fitting.md``, "Refits").
        self.rules = RefitRules.from_options(options, self.label_names, free)
        self._held_fitters: dict[tuple[str, ...], Fitter] = {}
        self.emulator = bundle.emulator().to(self.device)
        self._emulator64 = copy.deepcopy(self.emulator).to(self.device, torch.float64)
        # Pre-search candidates: shared by every spectrum, hidden activations computed once.
        n_free = int(free.sum())
        unit = sobol_unit(n_free + 1, options.presearch_points, options.seed)
        cand = np.tile(values, (unit.shape[0], 1))
        cand[:, free] = self.lower[free] + unit[:, :n_free] * (self.upper[free] - self.lower[free])
        if options.logg_floor and {"teff", "logg"} <= set(self.label_names):
            # no starts where the network was never trained (atmosphere holes)
            keep = ~below_logg_floor(cand[:, self.label_names.index("teff")],
                                     cand[:, self.label_names.index("logg")], options.logg_floor)
            cand, unit = cand[keep], unit[keep]
        self._cand_labels = cand
        self._cand_rv_unit = unit[:, n_free]
        # the free labels in units of the box's width: the metric of ``restarts``' basins
        span = (self.upper - self.lower)[free]
        self._cand_scaled = cand[:, free] / np.where(span > 0, span, 1.0)
        with torch.no_grad():
            self._cand_hidden = self.emulator.hidden(
                torch.as_tensor(cand, dtype=torch.float64, device=self.device)
            ).to(torch.float32)

    def spectrum_flags(self, diag: OutOfBoxDiagnostics, labels: np.ndarray, cov_e_labels: np.ndarray) -> int:
        """The out-of-box bits (this bundle's thresholds) and the ``<LABEL>_UNCONSTRAINED``
        bits of one fit.

        Parameters
        ----------
        diag : OutOfBoxDiagnostics
            :func:`~zeta_payne.fitting.outofbox.diagnose` of the best model.
        labels, cov_e_labels : numpy.ndarray, shape (L,)
            Fitted labels and their covariance errors.
        """
        names = list(self.label_names)
        teff = float(labels[names.index("teff")]) if "teff" in names else None
        m_h = float(labels[names.index("m_h")]) if "m_h" in names else None
        flags = out_of_box_flags(diag, self.out_of_box, teff=teff, m_h=m_h)
        return flags | unconstrained_flags(cov_e_labels, self.free, self.label_names, self.options)

    def _hold_outside(self, spectra: list[Spectrum], results: list[FitResult], batched: bool
                      ) -> list[FitResult]:
        """Refit the spectra whose fit ended where a ``hold_outside`` label is unconstrained,
        outside the ``blue_limit_outside`` or ``masked_bands_outside`` range, or with a
        ``hold_unconstrained_at_edge`` label at an edge and unconstrained.

        Each such spectrum is fitted again by a fitter that holds those labels at their
        values and fits from the blue limit (one per set of held names, made once), from a
        fresh pre-search or (``options.refit_start == "first"``) from the fit it repeats; its
        result replaces the first. A refit whose own result calls for a further edge hold
        (say v_micro held above 10 kK, after which [M/H] runs to an edge unconstrained) is
        fitted once more with both held: the names only grow, so this ends.
        """
        first = list(results)
        # spectrum -> (names to hold, the subset held because a fit put them at an edge
        # unconstrained: only those are flagged <LABEL>_UNCONSTRAINED in the result; a label
        # that is also a hold_outside label, held for the other label's range, is not)
        pending: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for i, result in enumerate(results):
            names = self.rules.held_names(dict(zip(self.label_names, result.labels, strict=True)))
            edge = tuple(n for n in self.rules.edge_held_names(result.flags) if n not in names)
            if names + edge:
                pending[i] = (names + edge, edge)
        while pending:
            groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
            for i, key in pending.items():
                groups.setdefault(key, []).append(i)
            pending = {}
            for (names, edge), index in groups.items():
                held = self.held_fitter(names)
                starts = ([(results[i].labels, results[i].v_rad) for i in index]
                          if self.options.refit_start == "first" else None)
                refit = held.fit_batch([spectra[i] for i in index], batched=batched, starts=starts)
                why = labels_flag(edge, "unconstrained")
                for i, result in zip(index, refit, strict=True):
                    more = tuple(n for n in self.rules.edge_held_names(result.flags) if n not in names)
                    if more:
                        pending[i] = (names + more, edge + more)
                    results[i] = replace(result, flags=int(result.flags) | why) if why else result
        for i, result in enumerate(results):
            if result is not first[i] and self.rules.disagrees(
                    dict(zip(self.label_names, first[i].labels, strict=True)),
                    dict(zip(self.label_names, result.labels, strict=True))):
                results[i] = replace(result, flags=int(result.flags) | int(ResultFlags.REFIT_DISAGREES))
        return results

    def start_from(self, labels: np.ndarray, v_rad: float) -> tuple[np.ndarray, float]:
        """A start of the least squares from ``labels`` (shape (L,)) and ``v_rad`` [km/s]: this
        fitter's fixed labels at their values, the free ones inside the box, the RV inside the
        least squares' bounds."""
        start = np.clip(np.array(labels, dtype=float), self.lower, self.upper)
        start[~self.free] = self.fixed_values[~self.free]
        lo, hi = self.options.rv_range
        return start, float(np.clip(v_rad, lo - self.options.rv_margin, hi + self.options.rv_margin))

    def held_fitter(self, names: Sequence[str]) -> Fitter:
        """A fitter like this one for the refit that holds ``names`` (labels,
        :data:`~zeta_payne.fitting.refits.BLUE_LIMIT`,
        :data:`~zeta_payne.fitting.refits.EXTRA_MASK`; see
        :meth:`~zeta_payne.fitting.refits.RefitRules.held_options`), without refit rules of
        its own, made once per set of names."""
        key = tuple(names)
        if key not in self._held_fitters:
            options = self.rules.held_options(self.options, key, self.default_range)
            self._held_fitters[key] = Fitter(self.bundle, options, self.device, self.batch_size)
        return self._held_fitters[key]

    @staticmethod
    def default_options(bundle: Bundle) -> FitOptions:
        """The bundle's default fit options (``fit_defaults`` in its manifest).

        Their ``resolution`` becomes ``fallback_resolution`` (see
        :func:`~zeta_payne.fitting.options.merge_options`): the spectrum's own LSF wins.
        """
        return merge_options(bundle.manifest.fit_defaults)

    # ---------------------------------------------------------------- public
    def fit(self, spectrum: Spectrum) -> FitResult:
        """Fit one spectrum alone (the reference path). Never raises for bad data: problems
        become flags."""
        results = self._fit_each([spectrum], None)
        return self._hold_outside([spectrum], results, batched=False)[0] if self.rules.active else results[0]

    def fit_batch(
        self,
        spectra: Iterable[Spectrum],
        progress: Callable[[int, FitResult], None] | None = None,
        batched: bool | None = None,
        starts: Sequence[tuple[np.ndarray, float] | None] | None = None,
    ) -> list[FitResult]:
        """Fit several spectra; one result per input, in order.

        Parameters
        ----------
        spectra : iterable of Spectrum
        progress : callable, optional
            Called as ``progress(index, result)`` after each spectrum (after each batch of
            ``batch_size`` on the batched path).
        batched : bool, optional
            ``None`` (default): the batched path (:mod:`~zeta_payne.fitting.batched`, equal
            to the per-spectrum fit within a small fraction of the errors) unless
            ``batch_size`` is 0 or 1 — also for a single spectrum, so that a spectrum's
            result is the same whatever else is fitted with it; ``False`` fits
            one spectrum at a time, as does any value with the paper's stage 1
            (``initial_fit``), which only the per-spectrum path has. A batch that
            fails as a whole is refitted one spectrum at a time, and so is a member the
            batched solver leaves unconverged.
        starts : sequence of (numpy.ndarray, float) or None, optional
            Per spectrum, the labels (shape (L,), every label; fixed ones are ignored) and RV
            [km/s] to start the least squares from instead of a pre-search (``None`` entries
            and non-finite starts: pre-search). No ``restarts`` from a given start.

        Notes
        -----
        With ``options.hold_outside``, each batch is fitted, its spectra that end outside a
        held label's range are fitted again with it held, and only then reported.
        """
        spectra = list(spectra)
        if self.options.initial_fit:
            batched = False  # the batched path has no stage 1
        elif batched is None:
            # by the options alone, never by how many spectra came: a spectrum's result
            # must not depend on what else was fitted with it
            batched = not (self.batch_size is not None and self.batch_size <= 1)
        if starts is not None:
            starts = [_usable(start) for start in starts]
            if len(starts) != len(spectra):
                raise ValueError(f"{len(starts)} starts for {len(spectra)} spectra")
            if any(start is None for start in starts):
                batched = False  # a batch pre-searches all its members or none
        fit = self._fit_batched if batched else self._fit_each
        if not self.rules.active:
            return fit(spectra, progress, starts)
        largest = max((s.n_pixels for s in spectra if isinstance(s, Spectrum)), default=0)
        step = self.resolved_batch_size(largest) if batched else 1
        results: list[FitResult] = []
        for start in range(0, len(spectra), step):
            chunk = spectra[start : start + step]
            given = None if starts is None else starts[start : start + step]
            done = self._hold_outside(chunk, fit(chunk, None, given), batched)
            if progress is not None:
                for index, result in enumerate(done, start=start):
                    progress(index, result)
            results += done
        return results

    def _fit_batched(
        self,
        spectra: list[Spectrum],
        progress: Callable[[int, FitResult], None] | None,
        starts: Sequence[tuple[np.ndarray, float]] | None = None,
    ) -> list[FitResult]:
        from zeta_payne.fitting.batched import BatchedFit

        if self._batched is None:
            self._batched = BatchedFit(self)
        if self.batch_size is None:
            self._batched.factors  # noqa: B018 — held before the batch is sized from memory
        largest = max((s.n_pixels for s in spectra if isinstance(s, Spectrum)), default=0)
        size = self.resolved_batch_size(largest)
        results: list[FitResult] = []
        for start in range(0, len(spectra), size):
            chunk = spectra[start : start + size]
            given = None if starts is None else starts[start : start + size]
            try:
                fitted = self._batched.fit(chunk, given)
            except Exception as exc:  # refit one at a time: one bad spectrum never stops a batch
                log.warning("batched fit failed (%s); fitting the %d spectra one at a time", exc, len(chunk))
                log.debug("%s", traceback.format_exc())
                fitted = self._fit_each(chunk, None, given)
            for index, result in enumerate(fitted, start=start):
                results.append(result)
                if progress is not None:
                    progress(index, result)
        return results

    def resolved_batch_size(self, n_pixels: int = 0) -> int:
        """``batch_size``, or the one the device's memory allows when it is ``None``.

        Parameters
        ----------
        n_pixels : int
            Pixels of the largest spectrum to fit (0: the bundle's model grid, an upper bound).

        Returns
        -------
        int
            At least 1 (see :func:`~zeta_payne.fitting.batched.memory_batch_size`).
        """
        if self.batch_size is not None:
            return max(1, self.batch_size)
        from zeta_payne.fitting.batched import memory_batch_size

        n_pixels = int(n_pixels) or int(self.bundle.grid.n_pixels)
        n_coeffs = self.options.n_chebyshev * (1 + len(self.options.response_segments))
        n_params = int(self.free.sum()) + 1 + n_coeffs
        return memory_batch_size(n_pixels, n_params, len(self.label_names), self.device)

    def _fit_each(
        self,
        spectra: Iterable[Spectrum],
        progress: Callable[[int, FitResult], None] | None,
        starts: Sequence[tuple[np.ndarray, float] | None] | None = None,
    ) -> list[FitResult]:
        """The reference path: every spectrum alone (``_fit_one``)."""
        results = []
        for index, spectrum in enumerate(spectra):
            t0 = time.perf_counter()
            try:
                result = self._fit_one(spectrum, None if starts is None else starts[index])
            except Exception as exc:  # one bad spectrum never stops a batch
                log.warning("fit failed: %s", exc)
                log.debug("%s", traceback.format_exc())
                result = FitResult.failed(
                    self.label_names,
                    ResultFlags.RUNTIME_EXCEPTION,
                    f"{type(exc).__name__}: {exc}",
                    getattr(spectrum, "meta", {}),
                )
            result.timing["total"] = time.perf_counter() - t0
            results.append(result)
            if progress is not None:
                progress(index, result)
        return results

    def chi2_at(self, spectrum: Spectrum, labels: np.ndarray, v_rad: float) -> float:
        """χ² of the model at given labels and RV, with the best response for them.

        The response coefficients are solved linearly (they enter the model linearly), so
        this is the χ² any fit with these labels and RV could at best reach. Used by the
        simulation study to tell an optimizer miss (χ² at the truth lower than at the fit)
        from an emulator limit (the network prefers the fitted labels).

        Parameters
        ----------
        spectrum : Spectrum
        labels : numpy.ndarray, shape (L,)
            All labels of the bundle, in its order (fixed ones included).
        v_rad : float
            Radial velocity [km/s].

        Returns
        -------
        float
            χ² over the fitted pixels (``nan`` if the spectrum cannot be fitted).
        """
        try:
            prep = self._prepare(spectrum)
        except SpectrumRejected:
            return float("nan")
        fm = self._forward(prep, prep.used)
        design = fm.design.cpu().numpy()
        norm = fm.normalized(np.asarray(labels, dtype=float), float(v_rad))
        return float(solve_response(norm, prep.flux, prep.weight, design)[1])

    # -------------------------------------------------------------- internals
    def _prepare(self, spectrum: Spectrum) -> Prepared:
        """:func:`~zeta_payne.fitting.preparation.prepare` with this fitter's bundle and options."""
        n_params = (
            int(self.free.sum()) + 1 + self.options.n_chebyshev * (1 + len(self.options.response_segments))
        )
        return prepare(spectrum, self.options, self.bundle.grid, self.default_range, n_params)

    def _design(self, lam: np.ndarray, fit_range: tuple[float, float]) -> np.ndarray:
        opt = self.options
        return chebyshev_design(lam, opt.n_chebyshev, fit_range, opt.response_segments)

    def _forward(self, prep: Prepared, mask: np.ndarray) -> ForwardModel:
        opt = self.options
        lam = prep.spectrum.wavelength[mask]
        return ForwardModel(
            self.emulator,
            self.bundle.grid,
            lam,
            prep.fwhm[mask],
            self._design(lam, prep.fit_range),
            rv_range=(opt.rv_range[0] - opt.rv_margin, opt.rv_range[1] + opt.rv_margin),
            device=self.device,
            emulator64=self._emulator64,
        )

    def _rv_levels(self, prep: Prepared, lo: float, hi: float) -> np.ndarray:
        opt = self.options
        if opt.rv_step:
            step = float(opt.rv_step)
        else:
            fwhm_kms = (
                float(np.median(prep.fwhm[prep.used] / prep.spectrum.wavelength[prep.used]))
                * SPEED_OF_LIGHT_KMS
            )
            step = fwhm_kms / 2.0
        n = int(np.clip(np.ceil((hi - lo) / max(step, 1e-6)) + 1, 3, 401))
        return np.linspace(lo, hi, n)

    def _presearch(
        self, prep: Prepared, fm: ForwardModel
    ) -> tuple[np.ndarray, float, float, list[tuple[np.ndarray, float]]]:
        """Best candidate (labels, RV) and its χ² over the Sobol set and ``rv_range``, and
        the starts of ``restarts`` other basins (:meth:`_other_basins`).

        A range wider than ``presearch_refine_width`` spreads the candidates thinly over
        RV; the search is then repeated over that width around the best RV (the candidate
        density of a rest-frame search), and the better of the two is kept.
        """
        lo, hi = self.options.rv_range
        best = self._presearch_range(prep, fm, lo, hi)
        half = 0.5 * float(self.options.presearch_refine_width or 0.0)
        if half > 0 and hi - lo > 2 * half:
            centre = float(np.clip(best[1], lo + half, hi - half))
            refined = self._presearch_range(prep, fm, centre - half, centre + half)
            if refined[2] < best[2]:
                best = refined
        return best

    def _presearch_range(
        self, prep: Prepared, fm: ForwardModel, lo: float, hi: float
    ) -> tuple[np.ndarray, float, float, list[tuple[np.ndarray, float]]]:
        """Best candidate (labels, RV) and its χ² with the candidates' RVs spread over [lo, hi].

        Every candidate's χ² (every ``presearch_stride``-th pixel, response solved by the
        normal equations) is computed in float32, where ``χ² = Σ w f² − cᵀ b`` is a
        difference of numbers ~10⁷ at S/N 50 and is off by ~2 (up to 8) on APOGEE
        spectra — enough to order near-equal candidates at random. The
        ``presearch_recheck`` best are therefore re-evaluated with the χ² in float64 (the
        batched pre-search's re-check criterion), and the best of them is returned, so that
        both paths start from the same candidate.
        """
        levels = self._rv_levels(prep, lo, hi)
        rv = lo + self._cand_rv_unit * (hi - lo)
        level_index = np.clip(
            np.rint((rv - lo) / (hi - lo) * (len(levels) - 1)).astype(int), 0, len(levels) - 1
        )
        stride = max(1, int(self.options.presearch_stride))
        pixels = np.arange(0, prep.flux.size, stride)
        flux = torch.as_tensor(prep.flux[pixels], dtype=torch.float32, device=self.device)
        weight = torch.as_tensor(prep.weight[pixels], dtype=torch.float32, device=self.device)
        design = fm.design[pixels].to(torch.float32)
        packed = packed_products(design)
        keep = max(1, int(self.options.presearch_recheck))
        shortlist: list[tuple[float, int, int]] = []  # (float32 χ², candidate, level)
        every = np.full(level_index.size, np.inf) if self.options.restarts else None  # float32 χ²
        used_levels = np.unique(level_index)
        with torch.no_grad():
            bases = fm.folded_levels(levels[used_levels], pixels)
            for k, (basis, offset) in zip(used_levels, bases, strict=True):
                members = np.flatnonzero(level_index == k)
                model = self._cand_hidden[members] @ basis.T + offset
                chi2, _ = varpro_chi2(model, flux, weight, design, packed)
                if every is not None:
                    every[members] = chi2.cpu().numpy()
                best = torch.topk(chi2, min(keep, chi2.numel()), largest=False)
                shortlist += [
                    (float(c), int(members[j]), int(k))
                    for c, j in zip(best.values.tolist(), best.indices.tolist(), strict=True)
                ]
        shortlist = sorted(c for c in shortlist if np.isfinite(c[0]))[:keep]
        if not shortlist:
            raise FloatingPointError("pre-search produced no finite χ²")
        chi2_best, index, v_best = self._recheck(prep, fm, pixels, shortlist, levels)
        others = self._other_basins(index, every, levels[level_index]) if every is not None else []
        return self._cand_labels[index].copy(), v_best, chi2_best, others

    def _other_basins(
        self, best: int, chi2: np.ndarray, v_rad: np.ndarray
    ) -> list[tuple[np.ndarray, float]]:
        """Starts in ``restarts`` other basins: greedily the lowest-χ² candidates that differ
        from ``best`` and from each other by more than ``restart_separation`` of the box's
        width in some free label.

        Parameters
        ----------
        best : int
            The chosen candidate.
        chi2 : numpy.ndarray, shape (N_cand,)
            Pre-search χ² of every candidate (inf: not evaluated).
        v_rad : numpy.ndarray, shape (N_cand,)
            Each candidate's RV level [km/s].

        Returns
        -------
        list of (numpy.ndarray, float)
            (labels, RV) of each further start, best first.
        """
        n = int(self.options.restarts)
        if n <= 0:
            return []
        scaled = self._cand_scaled
        chosen = [scaled[best]]
        out: list[tuple[np.ndarray, float]] = []
        for j in np.argsort(chi2):
            if len(out) >= n or not np.isfinite(chi2[j]):
                break
            if all(np.max(np.abs(scaled[j] - c)) > self.options.restart_separation for c in chosen):
                chosen.append(scaled[j])
                out.append((self._cand_labels[j].copy(), float(v_rad[j])))
        return out

    def _recheck(
        self,
        prep: Prepared,
        fm: ForwardModel,
        pixels: np.ndarray,
        shortlist: list[tuple[float, int, int]],
        levels: np.ndarray,
    ) -> tuple[float, int, float]:
        """The best of the shortlisted candidates by the pre-search χ² in float64.

        Parameters
        ----------
        prep : Prepared
        fm : ForwardModel
        pixels : numpy.ndarray of int, shape (N_s,)
            The pre-search pixels (every ``presearch_stride``-th fitted pixel).
        shortlist : list of (float, int, int)
            float32 χ², candidate index and RV level of each candidate to re-check.
        levels : numpy.ndarray, shape (K,)
            RV levels [km/s].

        Returns
        -------
        chi2 : float
            Its float64 χ² (the model in float32, as the batched re-check).
        index : int
            The candidate.
        v_rad : float
            Its RV level [km/s].
        """
        f64 = torch.float64
        flux = torch.as_tensor(prep.flux[pixels], dtype=f64, device=self.device)
        weight = torch.as_tensor(prep.weight[pixels], dtype=f64, device=self.device)
        design = fm.design[pixels].to(f64)
        best = (np.inf, shortlist[0][1], float(levels[shortlist[0][2]]))
        for k in sorted({level for _, _, level in shortlist}):
            members = [j for _, j, level in shortlist if level == k]
            model = fm.normalized_batch(self._cand_labels[members], float(levels[k]))[:, pixels]
            chi2, _ = varpro_chi2(torch.as_tensor(model, dtype=f64, device=self.device), flux, weight, design)
            j = int(torch.argmin(chi2))
            if float(chi2[j]) < best[0]:
                best = (float(chi2[j]), members[j], float(levels[k]))
        return best

    def _bounds(self, n_coeffs: int) -> tuple[np.ndarray, np.ndarray]:
        opt = self.options
        free = self.free
        lower = np.concatenate(
            [self.lower[free], [opt.rv_range[0] - opt.rv_margin], np.full(n_coeffs, -np.inf)]
        )
        upper = np.concatenate(
            [self.upper[free], [opt.rv_range[1] + opt.rv_margin], np.full(n_coeffs, np.inf)]
        )
        return lower, upper

    def _unpack(self, p: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        n_free = int(self.free.sum())
        labels = self.fixed_values.copy()
        labels[self.free] = p[:n_free]
        return labels, float(p[n_free]), p[n_free + 1 :]

    def _projected_least_squares(
        self, prep: Prepared, fm: ForwardModel, labels: np.ndarray, v_rad: float, max_nfev: int
    ) -> tuple[OptimizeResult, np.ndarray]:
        """TRF over free labels + RV with the response eliminated (variable projection).

        The residual is ``(I − Q Qᵀ) √w f`` with ``Q`` an orthonormal basis of the weighted,
        model-scaled response columns; the Jacobian is Kaufman's approximation
        ``−(I − Q Qᵀ) √w (∂m/∂θ ⊙ T c*)``, exact at the optimum's first order. Returns the
        optimiser's result and the linearly solved response coefficients at its optimum.
        """
        sw = np.sqrt(prep.weight)
        design = fm.design.cpu().numpy()
        swf = sw * prep.flux
        columns = np.concatenate([np.flatnonzero(self.free), [len(self.free)]])

        def evaluate(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            lab = self.fixed_values.copy()
            lab[self.free] = p[:-1]
            norm, dnorm = fm.normalized_and_jacobian(lab, float(p[-1]))
            a = design * (sw * norm)[:, None]
            q, r = np.linalg.qr(a)
            proj = q.T @ swf
            solvable = np.all(np.abs(np.diag(r)) > 0)
            coeffs = np.linalg.solve(r, proj) if solvable else np.linalg.lstsq(a, swf)[0]
            d = (sw * (design @ coeffs))[:, None] * dnorm[:, columns]
            return q @ proj - swf, d - q @ (q.T @ d), coeffs

        lower, upper = self._bounds(0)
        start = np.concatenate([labels[self.free], [v_rad]])
        return trf(evaluate, start, lower, upper, max_nfev, self.options.chi2_tolerance)

    def _least_squares(
        self,
        prep: Prepared,
        fm: ForwardModel,
        labels: np.ndarray,
        v_rad: float,
        coeffs: np.ndarray,
        max_nfev: int,
    ) -> OptimizeResult:
        """TRF over free labels + RV + response coefficients, with the exact Jacobian."""
        free = self.free
        sw = np.sqrt(prep.weight)
        n_lab = len(free)

        def evaluate(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
            lab, v, c = self._unpack(p)
            flux, _, jac = fm.flux_and_jacobian(lab, v, c)
            full = np.concatenate([jac[:, :n_lab][:, free], jac[:, n_lab:]], axis=1)
            return sw * (flux - prep.flux), sw[:, None] * full, None

        lower, upper = self._bounds(coeffs.size)
        start = np.concatenate([labels[free], [v_rad], coeffs])
        width = self.upper - self.lower
        x_scale = np.concatenate([0.1 * width[free], [1.0], np.maximum(np.abs(coeffs), 1e-3)])
        result, _ = trf(evaluate, start, lower, upper, max_nfev, self.options.chi2_tolerance, x_scale)
        return result

    def _start(
        self,
        prep: Prepared,
        fm: ForwardModel,
        timing: dict[str, float],
        given: tuple[np.ndarray, float] | None = None,
    ) -> tuple[np.ndarray, float, list[tuple[np.ndarray, float]]]:
        """Start of the least squares: ``given``, else the best pre-search candidate or the
        paper's stage 1; and the further starts of ``restarts`` other basins (none after a
        given start)."""
        if given is not None:
            timing["presearch"] = 0.0
            return (*self.start_from(*given), [])
        t = time.perf_counter()
        labels, v_rad, _, others = self._presearch(prep, fm)
        timing["presearch"] = time.perf_counter() - t
        if not self.options.initial_fit:
            return labels, v_rad, others
        # paper stage 1 (TRF from the box centre) competes with the pre-search (exact χ²)
        t = time.perf_counter()
        centre = self.fixed_values.copy()
        centre[self.free] = 0.5 * (self.lower + self.upper)[self.free]
        stage1, _ = self._projected_least_squares(prep, fm, centre, 0.0, max_nfev=20)
        one_labels, one_v, _ = self._unpack(stage1.x)
        design = fm.design.cpu().numpy()
        chi_pre = solve_response(fm.normalized(labels, v_rad), prep.flux, prep.weight, design)[1]
        chi_one = solve_response(fm.normalized(one_labels, one_v), prep.flux, prep.weight, design)[1]
        timing["initial_fit"] = time.perf_counter() - t
        return (*((one_labels, one_v) if chi_one < chi_pre else (labels, v_rad)), others)

    def _descend(self, prep: Prepared, fm: ForwardModel, labels: np.ndarray, v_rad: float):
        """Least squares from one start: over labels + RV (response projected out), then
        polished with the response free. Returns both results (projected, final)."""
        projected, c0 = self._projected_least_squares(prep, fm, labels, v_rad, self.options.max_nfev)
        start_labels, start_v, _ = self._unpack(np.concatenate([projected.x, c0]))
        return projected, self._least_squares(prep, fm, start_labels, start_v, c0, self.options.polish_nfev)

    def _fit_one(self, spectrum: Spectrum, start: tuple[np.ndarray, float] | None = None) -> FitResult:
        """Prepare, pre-search (unless ``start`` gives labels and RV), least squares,
        diagnostics (a rejection becomes a flagged row)."""
        timing: dict[str, float] = {}
        t = time.perf_counter()
        try:
            prep = self._prepare(spectrum)
        except SpectrumRejected as rejection:
            return FitResult.failed(self.label_names, rejection.flags, rejection.message, spectrum.meta)
        fm = self._forward(prep, prep.used)
        timing["prepare"] = time.perf_counter() - t

        init_labels, init_v, others = self._start(prep, fm, timing, start)
        t = time.perf_counter()
        projected, res = self._descend(prep, fm, init_labels, init_v)
        for other_labels, other_v in others:  # ``restarts``: the lowest χ² wins
            alt = self._descend(prep, fm, other_labels, other_v)
            if alt[1].cost < res.cost:
                (projected, res), init_labels, init_v = alt, other_labels, other_v
        labels, v_rad, coeffs = self._unpack(res.x)
        timing["least_squares"] = time.perf_counter() - t

        t = time.perf_counter()
        chi2 = float(res.fun @ res.fun)
        dof = max(res.fun.size - res.x.size, 1)
        rchi2 = chi2 / dof
        cov = covariance_errors(res.jac, rchi2, self.free, self.label_names)
        flags = prep.flags
        flags |= convergence_flags(
            self.options,
            projected.status,
            res.status,
            2.0 * (projected.cost - res.cost),
            v_rad,
            chi2,
            rchi2,
            cov.singular,
        )
        v_sini_limit = unresolved_v_sini(prep.resolution, self.options.unresolved_v_sini)
        sides = edge_sides(labels, self.free, self.lower, self.upper, self.options.at_edge)
        gain = edge_chi2(res.fun, res.jac, sides, self.free, rchi2)
        flags |= label_flags(
            labels, self.free, self.lower, self.upper, self.label_names, self.options, v_sini_limit, gain
        )
        raw_e = np.full(len(self.label_names), np.nan)
        if self.options.compute_uncertainties:
            raw_e, nonconvex = self._parabolas(prep, fm, labels, v_rad, coeffs, chi2, cov.formal)
            flags |= nonconvex
        timing["uncertainties"] = time.perf_counter() - t
        model_flux = self._model_flux(prep, fm, labels, v_rad, coeffs)
        s = prep.spectrum
        diag = diagnose(s.wavelength, s.flux, s.ivar, model_flux, prep.used, v_rad)
        flags |= self.spectrum_flags(diag, labels, cov.e_labels)

        e_labels, e_v_rad, calibrated = self.reported_errors(
            labels, v_rad, raw_e, cov.e_labels, cov.e_v_rad, rchi2
        )
        return FitResult(
            label_names=self.label_names,
            labels=labels,
            e_labels=e_labels,
            raw_e_labels=raw_e,
            cov_e_labels=cov.e_labels,
            cov_e_v_rad=cov.e_v_rad,
            calibrated=calibrated,
            initial_labels=init_labels,
            v_rad=v_rad,
            e_v_rad=e_v_rad,
            initial_v_rad=init_v,
            correlations=cov.correlations,
            coeffs=coeffs * prep.scale,
            chi2=chi2,
            rchi2=rchi2,
            dof=dof,
            snr=prep.snr,
            n_pixels=int(res.fun.size),
            model_flux=model_flux,
            flags=int(flags),
            message="" if res.status > 0 else f"least squares: {res.message}",
            n_fev=int(projected.nfev + res.nfev),
            timing=timing,
            meta=dict(spectrum.meta),
            lsf_source=prep.lsf_source,
            edge_chi2=gain,
        )

    def reported_errors(
        self,
        labels: np.ndarray,
        v_rad: float,
        raw_e: np.ndarray,
        cov_e: np.ndarray,
        cov_e_v_rad: float,
        rchi2: float = 1.0,
    ) -> tuple[np.ndarray, float, bool]:
        """The errors a result reports: calibrated from the covariance errors when the
        bundle has an error calibration, else the raw χ²-parabola errors (labels) and the
        covariance error (RV).

        Parameters
        ----------
        labels : numpy.ndarray, shape (L,)
            Fitted labels.
        v_rad : float
            Fitted RV [km/s].
        raw_e : numpy.ndarray, shape (L,)
            χ²-parabola errors.
        cov_e : numpy.ndarray, shape (L,)
            Covariance errors.
        cov_e_v_rad : float
            Covariance error of the RV [km/s].
        rchi2 : float
            Reduced χ² of the fit (the error models may scale with it).

        Returns
        -------
        e_labels : numpy.ndarray, shape (L,)
        e_v_rad : float
        calibrated : bool
        """
        calibration = self.error_calibration
        if calibration is None:
            return np.array(raw_e, dtype=float, copy=True), float(cov_e_v_rad), False
        e_labels, e_v_rad = calibration.apply(self.label_names, labels, cov_e, v_rad, cov_e_v_rad, rchi2)
        return e_labels, e_v_rad, True

    def _parabolas(
        self,
        prep: Prepared,
        fm: ForwardModel,
        labels: np.ndarray,
        v_rad: float,
        coeffs: np.ndarray,
        chi2: float,
        formal: np.ndarray,
    ) -> tuple[np.ndarray, int]:
        """χ²-parabola errors of the free labels at the optimum, and non-convexity flags."""
        response = fm.response(coeffs)

        def chi2_of(rows: np.ndarray) -> np.ndarray:
            model = fm.normalized_batch(rows, v_rad) * response[None, :]
            return ((model - prep.flux[None, :]) ** 2 * prep.weight[None, :]).sum(axis=1)

        level = chi2_one_sigma(n_degrees(prep.resolution, *prep.fit_range))
        return parabola_errors(
            chi2_of, labels, self.free, self.lower, self.upper, self.label_names, formal, chi2, level
        )

    def _model_flux(
        self, prep: Prepared, fm: ForwardModel, labels: np.ndarray, v_rad: float, coeffs: np.ndarray
    ) -> np.ndarray:
        """The best model on every observed pixel it reaches (NaN elsewhere), in the data's units."""
        spectrum = prep.spectrum
        model_flux = np.full(spectrum.n_pixels, np.nan)
        lam = spectrum.wavelength[prep.modelled]
        model_flux[prep.modelled] = fm.flux_at(lam, self._design(lam, prep.fit_range), labels, v_rad, coeffs)
        return model_flux * prep.scale


def _usable(start: tuple[np.ndarray, float] | None) -> tuple[np.ndarray, float] | None:
    """A start with finite labels and RV, else ``None`` (pre-search)."""
    if start is None:
        return None
    labels, v_rad = np.asarray(start[0], dtype=float), float(start[1])
    return (labels, v_rad) if np.all(np.isfinite(labels)) and np.isfinite(v_rad) else None
