"""The ZETA-PAYNE fit (paper §3.3) with the improvements of the design note.

Stages: (optional) TRF from the box centre → Sobol pre-search over labels + RV with the
response solved linearly for every candidate → final Trust-Region-Reflective least squares
over labels + RV + response with exact Jacobians → χ² parabolas and covariance.
"""

from __future__ import annotations

import copy
import logging
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import least_squares

from zeta_payne.bundles.bundle import Bundle
from zeta_payne.exceptions import SpectrumError
from zeta_payne.fitting.flags import ResultFlags, label_flag
from zeta_payne.fitting.options import FitOptions
from zeta_payne.fitting.presearch import packed_products, sobol_unit, solve_response, varpro_chi2
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.spectrum import Spectrum
from zeta_payne.fitting.uncertainty import chi2_one_sigma, covariance, n_degrees, parabola_error
from zeta_payne.model.doppler import SPEED_OF_LIGHT_KMS, log_doppler_factor
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.lsf import residual_sigma
from zeta_payne.model.response import chebyshev_design

__all__ = ["Fitter"]

log = logging.getLogger(__name__)


@dataclass
class _Prepared:
    """Everything derived from one spectrum before any model evaluation."""

    spectrum: Spectrum
    used: np.ndarray  # (N_all,) bool: pixels in χ²
    modelled: np.ndarray  # (N_all,) bool: pixels that get a model flux
    flux: np.ndarray  # (N,) scaled flux of used pixels
    weight: np.ndarray  # (N,) scaled ivar of used pixels
    scale: float
    fwhm: np.ndarray  # (N_all,) LSF FWHM [Å]
    fit_range: tuple[float, float]
    resolution: float
    snr: float
    flags: int
    forward: ForwardModel | None = None


class Fitter:
    """Fit spectra with one bundle.

    Parameters
    ----------
    bundle : Bundle
        The trained model bundle.
    options : FitOptions, optional
        Fit options; ``None`` takes the bundle's defaults.
    device : str or torch.device
        ``"cpu"`` or a CUDA device; everything runs there (one code path).
    """

    def __init__(self, bundle: Bundle, options: FitOptions | None = None, device: str = "cpu") -> None:
        self.bundle = bundle
        self.device = torch.device(device)
        defaults = dict(bundle.manifest.fit_defaults)
        if options is None:
            options = self.default_options(bundle)
        self.options = options
        self.default_range = tuple(defaults.get("wavelength_range") or (0.0, np.inf))
        self.default_resolution = defaults.get("resolution")
        specs = bundle.labels
        self.label_names = tuple(s.name for s in specs)
        self.lower = np.array([s.lower for s in specs], dtype=float)
        self.upper = np.array([s.upper for s in specs], dtype=float)
        unknown = (set(options.fixed) | set(options.free)) - set(self.label_names)
        if unknown:
            raise ValueError(f"unknown labels {sorted(unknown)}; bundle has {self.label_names}")
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
        self.emulator = bundle.emulator().to(self.device)
        self._emulator64 = copy.deepcopy(self.emulator).to(self.device, torch.float64)
        # Pre-search candidates: shared by every spectrum, hidden activations computed once.
        n_free = int(free.sum())
        unit = sobol_unit(n_free + 1, options.presearch_points, options.seed)
        cand = np.tile(values, (unit.shape[0], 1))
        cand[:, free] = self.lower[free] + unit[:, :n_free] * (self.upper[free] - self.lower[free])
        self._cand_labels = cand
        self._cand_rv_unit = unit[:, n_free]
        with torch.no_grad():
            self._cand_hidden = self.emulator.hidden(
                torch.as_tensor(cand, dtype=torch.float64, device=self.device)
            ).to(torch.float32)

    @staticmethod
    def default_options(bundle: Bundle) -> FitOptions:
        """The bundle's default fit options (``fit_defaults`` in its manifest)."""
        known = set(FitOptions.__dataclass_fields__)
        return FitOptions(
            **{
                k: (tuple(v) if isinstance(v, list) else v)
                for k, v in bundle.manifest.fit_defaults.items()
                if k in known
            }
        )

    # ---------------------------------------------------------------- public
    def fit(self, spectrum: Spectrum) -> FitResult:
        """Fit one spectrum. Never raises for bad data: problems become flags."""
        return self.fit_batch([spectrum])[0]

    def fit_batch(
        self,
        spectra: Iterable[Spectrum],
        progress: Callable[[int, FitResult], None] | None = None,
    ) -> list[FitResult]:
        """Fit several spectra; one result per input, in order.

        Parameters
        ----------
        spectra : iterable of Spectrum
        progress : callable, optional
            Called as ``progress(index, result)`` after each spectrum.
        """
        results = []
        for index, spectrum in enumerate(spectra):
            t0 = time.perf_counter()
            try:
                result = self._fit_one(spectrum)
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
        prep = self._prepare(spectrum)
        if isinstance(prep, FitResult):
            return float("nan")
        fm = self._forward(prep, prep.used)
        design = fm.design.cpu().numpy()
        norm = fm.normalized(np.asarray(labels, dtype=float), float(v_rad))
        return float(solve_response(norm, prep.flux, prep.weight, design)[1])

    # -------------------------------------------------------------- internals
    def _prepare(self, spectrum: Spectrum) -> _Prepared | FitResult:
        if not isinstance(spectrum, Spectrum):
            raise SpectrumError(f"expected a Spectrum, got {type(spectrum).__name__}")
        opt = self.options
        lam = spectrum.wavelength
        flags = 0
        lo, hi = opt.wavelength_range or self.default_range
        in_range = (lam >= lo) & (lam <= hi)
        if (spectrum.bad_input_pixels() & in_range).any():
            flags |= ResultFlags.BAD_INPUT_PIXELS
        # LSF: explicit R, else the spectrum's own, else the bundle default
        if opt.resolution is not None:
            fwhm = lam / float(opt.resolution)
        elif opt.use_spectrum_lsf and spectrum.lsf_fwhm is not None:
            fwhm = np.array(spectrum.lsf_fwhm, dtype=float)
            bad = ~np.isfinite(fwhm) | (fwhm <= 0)
            if bad.all():
                raise SpectrumError("the spectrum's LSF FWHM has no positive finite values")
            fwhm[bad] = np.interp(lam[bad], lam[~bad], fwhm[~bad])
        elif self.default_resolution:
            fwhm = lam / float(self.default_resolution)
        else:
            raise SpectrumError("no LSF: give options.resolution or a spectrum lsf_fwhm")
        # model coverage, allowing for the RV range and the LSF wings
        grid = self.bundle.grid
        v_lo = opt.rv_range[0] - opt.rv_margin
        v_hi = opt.rv_range[1] + opt.rv_margin
        sig = residual_sigma(lam, fwhm, grid.resolution)
        loglam = np.log(lam)
        covered = (loglam - log_doppler_factor(v_hi) - 4 * sig - 3 * grid.delta >= grid.loglam0) & (
            loglam - log_doppler_factor(v_lo) + 4 * sig + 3 * grid.delta
            <= grid.loglam0 + grid.delta * (grid.n_pixels - 1)
        )
        usable = spectrum.usable()
        used = in_range & covered & usable
        meta = spectrum.meta
        if not in_range.any():
            return FitResult.failed(
                self.label_names,
                flags | ResultFlags.NO_PIXELS | ResultFlags.OUTSIDE_COVERAGE,
                f"no pixels within the fitted range {lo:.0f}–{hi:.0f} Å",
                meta,
            )
        if not (in_range & covered).any():
            return FitResult.failed(
                self.label_names,
                flags | ResultFlags.OUTSIDE_COVERAGE,
                "spectrum does not overlap the bundle's wavelength coverage",
                meta,
            )
        if (in_range & covered).sum() < 0.5 * in_range.sum():
            flags |= ResultFlags.PARTIAL_COVERAGE
        n_used = int(used.sum())
        n_params = int(self.free.sum()) + 1 + opt.n_chebyshev * (1 + len(opt.response_segments))
        if n_used == 0:
            return FitResult.failed(
                self.label_names,
                flags | ResultFlags.NO_PIXELS,
                "no usable pixels (ivar ≤ 0, non-finite or masked)",
                meta,
            )
        if n_used < max(opt.min_pixels, 3 * n_params):
            return FitResult.failed(
                self.label_names, flags | ResultFlags.TOO_FEW_PIXELS, f"only {n_used} usable pixels", meta
            )
        f = spectrum.flux[used]
        w = spectrum.ivar[used]
        scale = float(np.median(np.abs(f)))
        if not scale > 0 or not np.isfinite(scale):
            return FitResult.failed(
                self.label_names,
                flags | ResultFlags.NO_PIXELS,
                "flux is zero everywhere in the fitted range",
                meta,
            )
        snr = float(np.median(f * np.sqrt(w)))
        if not snr >= opt.low_snr:
            flags |= ResultFlags.LOW_SNR
        lam_used = lam[used]
        fit_range = (float(lam_used[0]), float(lam_used[-1]))
        resolution = float(opt.resolution) if opt.resolution else float(np.median(lam_used / fwhm[used]))
        modelled = in_range & covered & (lam >= fit_range[0]) & (lam <= fit_range[1])
        return _Prepared(
            spectrum=spectrum,
            used=used,
            modelled=modelled,
            flux=f / scale,
            weight=w * scale**2,
            scale=scale,
            fwhm=fwhm,
            fit_range=fit_range,
            resolution=resolution,
            snr=snr,
            flags=flags,
        )

    def _design(self, lam: np.ndarray, fit_range: tuple[float, float]) -> np.ndarray:
        opt = self.options
        return chebyshev_design(lam, opt.n_chebyshev, fit_range, opt.response_segments)

    def _forward(self, prep: _Prepared, mask: np.ndarray) -> ForwardModel:
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

    def _rv_levels(self, prep: _Prepared) -> np.ndarray:
        opt = self.options
        lo, hi = opt.rv_range
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

    def _presearch(self, prep: _Prepared) -> tuple[np.ndarray, float, float]:
        """Best candidate (labels, RV) and its χ² over the Sobol set."""
        fm = prep.forward
        levels = self._rv_levels(prep)
        lo, hi = self.options.rv_range
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
        best = (np.inf, 0, 0.0)
        used_levels = np.unique(level_index)
        with torch.no_grad():
            bases = fm.folded_levels(levels[used_levels], pixels)
            for k, (basis, offset) in zip(used_levels, bases, strict=True):
                members = np.flatnonzero(level_index == k)
                model = self._cand_hidden[members] @ basis.T + offset
                chi2, _ = varpro_chi2(model, flux, weight, design, packed)
                j = int(torch.argmin(chi2))
                value = float(chi2[j])
                if value < best[0]:
                    best = (value, int(members[j]), float(levels[k]))
        chi2_best, index, v_best = best
        if not np.isfinite(chi2_best):
            raise FloatingPointError("pre-search produced no finite χ²")
        return self._cand_labels[index].copy(), v_best, chi2_best

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

    def _start(self, p: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
        return np.clip(p, lower + 1e-6 * span, upper - 1e-6 * span)

    def _ftol(self, chi2: float) -> float:
        """Relative χ² tolerance: stop when an iteration gains less than ``chi2_tolerance``."""
        return float(np.clip(self.options.chi2_tolerance / max(chi2, 1e-300), 1e-12, 1e-3))

    def _projected_least_squares(self, prep: _Prepared, labels: np.ndarray, v_rad: float, max_nfev: int):
        """TRF over free labels + RV with the response eliminated (variable projection).

        The residual is ``(I − Q Qᵀ) √w f`` with ``Q`` an orthonormal basis of the weighted,
        model-scaled response columns; the Jacobian is Kaufman's approximation
        ``−(I − Q Qᵀ) √w (∂m/∂θ ⊙ T c*)``, exact at the optimum's first order.
        """
        fm = prep.forward
        sw = np.sqrt(prep.weight)
        design = fm.design.cpu().numpy()
        swf = sw * prep.flux
        columns = np.concatenate([np.flatnonzero(self.free), [len(self.free)]])
        cache: dict[str, object] = {}

        def evaluate(p: np.ndarray) -> None:
            key = p.tobytes()
            if cache.get("key") == key:
                return
            lab = self.fixed_values.copy()
            lab[self.free] = p[:-1]
            norm, dnorm = fm.normalized_and_jacobian(lab, float(p[-1]))
            a = design * (sw * norm)[:, None]
            q, r = np.linalg.qr(a)
            proj = q.T @ swf
            coeffs = (
                np.linalg.solve(r, proj) if np.all(np.abs(np.diag(r)) > 0) else np.linalg.lstsq(a, swf)[0]
            )
            resid = swf - q @ proj
            d = (sw * (design @ coeffs))[:, None] * dnorm[:, columns]
            jac = -(d - q @ (q.T @ d))
            cache.update(key=key, resid=-resid, jac=-jac, coeffs=coeffs)

        def fun(p: np.ndarray) -> np.ndarray:
            evaluate(p)
            return cache["resid"]

        def jac(p: np.ndarray) -> np.ndarray:
            evaluate(p)
            return cache["jac"]

        lower, upper = self._bounds(0)
        start = self._start(np.concatenate([labels[self.free], [v_rad]]), lower, upper)
        ftol = self._ftol(float(np.sum(fun(start) ** 2)))
        res = least_squares(
            fun,
            start,
            jac=jac,
            bounds=(lower, upper),
            method="trf",
            x_scale="jac",
            max_nfev=max_nfev,
            ftol=ftol,
            xtol=1e-8,
        )
        evaluate(res.x)
        return res, np.asarray(cache["coeffs"])

    def _least_squares(
        self, prep: _Prepared, labels: np.ndarray, v_rad: float, coeffs: np.ndarray, max_nfev: int
    ):
        """TRF over free labels + RV + response coefficients, with the exact Jacobian."""
        fm = prep.forward
        free = self.free
        sw = np.sqrt(prep.weight)
        n_lab = len(free)
        cache: dict[str, np.ndarray] = {}

        def evaluate(p: np.ndarray) -> None:
            key = p.tobytes()
            if cache.get("key") != key:
                lab, v, c = self._unpack(p)
                flux, _, jac = fm.flux_and_jacobian(lab, v, c)
                full = np.concatenate([jac[:, :n_lab][:, free], jac[:, n_lab:]], axis=1)
                cache.update(key=key, resid=sw * (flux - prep.flux), jac=sw[:, None] * full)

        def fun(p: np.ndarray) -> np.ndarray:
            evaluate(p)
            return cache["resid"]

        def jac(p: np.ndarray) -> np.ndarray:
            evaluate(p)
            return cache["jac"]

        lower, upper = self._bounds(coeffs.size)
        start = self._start(np.concatenate([labels[free], [v_rad], coeffs]), lower, upper)
        width = self.upper - self.lower
        x_scale = np.concatenate([0.1 * width[free], [1.0], np.maximum(np.abs(coeffs), 1e-3)])
        ftol = self._ftol(float(np.sum(fun(start) ** 2)))
        res = least_squares(
            fun,
            start,
            jac=jac,
            bounds=(lower, upper),
            method="trf",
            x_scale=x_scale,
            max_nfev=max_nfev,
            ftol=ftol,
            xtol=1e-8,
        )
        lab, v, c = self._unpack(res.x)
        return lab, v, c, res

    def _fit_one(self, spectrum: Spectrum) -> FitResult:
        timing: dict[str, float] = {}
        t = time.perf_counter()
        prep = self._prepare(spectrum)
        if isinstance(prep, FitResult):
            return prep
        prep.forward = self._forward(prep, prep.used)
        fm = prep.forward
        opt = self.options
        flags = prep.flags
        timing["prepare"] = time.perf_counter() - t

        stage1 = None
        if opt.initial_fit:  # paper stage 1: TRF from the box centre
            t = time.perf_counter()
            centre = self.fixed_values.copy()
            centre[self.free] = 0.5 * (self.lower + self.upper)[self.free]
            res1, _ = self._projected_least_squares(prep, centre, 0.0, max_nfev=20)
            stage1 = self._unpack(np.concatenate([res1.x, np.zeros(0)]))[:2]
            timing["initial_fit"] = time.perf_counter() - t

        t = time.perf_counter()
        init_labels, init_v, _ = self._presearch(prep)
        timing["presearch"] = time.perf_counter() - t
        if stage1 is not None:
            # the stage-1 optimum competes with the best pre-search candidate (exact χ²)
            design = fm.design.cpu().numpy()
            chi_pre = solve_response(fm.normalized(init_labels, init_v), prep.flux, prep.weight, design)[1]
            chi_one = solve_response(fm.normalized(*stage1), prep.flux, prep.weight, design)[1]
            if chi_one < chi_pre:
                init_labels, init_v = stage1[0].copy(), float(stage1[1])

        t = time.perf_counter()
        projected, c0 = self._projected_least_squares(prep, init_labels, init_v, opt.max_nfev)
        start_labels, start_v, _ = self._unpack(np.concatenate([projected.x, c0]))
        labels, v_rad, coeffs, res = self._least_squares(prep, start_labels, start_v, c0, opt.polish_nfev)
        timing["least_squares"] = time.perf_counter() - t
        # The polish starts at the projected optimum; running out of evaluations there
        # only matters if it was still gaining (more than the χ² tolerance).
        gain = 2.0 * (projected.cost - res.cost)
        if projected.status == 0 or (res.status == 0 and gain > opt.chi2_tolerance):
            flags |= ResultFlags.UNCONVERGED
        if not opt.rv_range[0] <= v_rad <= opt.rv_range[1]:
            # the best RV lies outside the searched range: a better solution may lie beyond
            flags |= ResultFlags.RV_AT_SEARCH_EDGE

        resid = res.fun
        chi2 = float(resid @ resid)
        n = resid.size
        n_params = res.x.size
        dof = max(n - n_params, 1)
        rchi2 = chi2 / dof
        if not np.isfinite(chi2):
            flags |= ResultFlags.FITTING_FAILURE
        if rchi2 > opt.poor_fit_rchi2:
            flags |= ResultFlags.POOR_FIT

        # covariance-based errors and correlations (free labels + RV)
        n_free = int(self.free.sum())
        cov = covariance(res.jac, rchi2)
        sub = cov[: n_free + 1, : n_free + 1]
        diag = np.sqrt(np.clip(np.diag(sub), 0.0, None))
        cov_e = np.full(len(self.label_names), np.nan)
        cov_e[self.free] = diag[:n_free]
        e_v_rad = float(diag[n_free])
        names = [name for name, is_free in zip(self.label_names, self.free, strict=True) if is_free] + [
            "v_rad"
        ]
        correlations = {}
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                denom = diag[a] * diag[b]
                correlations[(names[a], names[b])] = float(sub[a, b] / denom) if denom > 0 else float("nan")
        if not np.all(np.isfinite(diag)) or np.any(diag == 0):
            flags |= ResultFlags.FITTING_FAILURE

        # edges
        width = self.upper - self.lower
        for i, name in enumerate(self.label_names):
            if not self.free[i]:
                continue
            dist = min(labels[i] - self.lower[i], self.upper[i] - labels[i]) / width[i]
            if dist <= opt.at_edge:
                flags |= label_flag(name, "at_edge")
            elif dist <= opt.near_edge:
                flags |= label_flag(name, "near_edge")

        # χ² parabolas (paper eqs. 6, 7)
        e_labels = np.full(len(self.label_names), np.nan)
        t = time.perf_counter()
        if opt.compute_uncertainties:
            formal = np.sqrt(np.clip(np.diag(cov)[:n_free], 0.0, None) / max(rchi2, 1e-300))
            e_labels, nonconvex = self._parabolas(prep, labels, v_rad, coeffs, chi2, formal)
            for name in nonconvex:
                flags |= label_flag(name, "nonconvex_chi2")
        timing["uncertainties"] = time.perf_counter() - t

        # model flux on the observed grid, back in the data's units
        model_flux = np.full(spectrum.n_pixels, np.nan)
        lam = spectrum.wavelength[prep.modelled]
        model_flux[prep.modelled] = fm.flux_at(lam, self._design(lam, prep.fit_range), labels, v_rad, coeffs)
        model_flux *= prep.scale

        message = "" if res.status > 0 else f"least squares: {res.message}"
        return FitResult(
            label_names=self.label_names,
            labels=labels,
            e_labels=e_labels,
            cov_e_labels=cov_e,
            initial_labels=init_labels,
            v_rad=v_rad,
            e_v_rad=e_v_rad,
            initial_v_rad=init_v,
            correlations=correlations,
            coeffs=coeffs * prep.scale,
            chi2=chi2,
            rchi2=rchi2,
            dof=dof,
            snr=prep.snr,
            n_pixels=n,
            model_flux=model_flux,
            flags=int(flags),
            message=message,
            n_fev=int(projected.nfev + res.nfev),
            timing=timing,
            meta=dict(spectrum.meta),
        )

    def _parabolas(
        self,
        prep: _Prepared,
        labels: np.ndarray,
        v_rad: float,
        coeffs: np.ndarray,
        chi2: float,
        formal: np.ndarray,
        offsets: Sequence[float] = (-1.0, -0.5, 0.0, 0.5, 1.0),
    ) -> tuple[np.ndarray, list[str]]:
        """χ² along each free label (others fixed at the optimum) and its parabola error."""
        fm = prep.forward
        level = chi2_one_sigma(n_degrees(prep.resolution, *prep.fit_range))
        target = np.sqrt((level - 1.0) * chi2)  # expected half-width in units of formal σ
        width = self.upper - self.lower
        free_idx = np.flatnonzero(self.free)
        rows, values = [], []
        for k, i in enumerate(free_idx):
            step = formal[k] * target if np.isfinite(formal[k]) and formal[k] > 0 else 0.01 * width[i]
            step = float(np.clip(step, 1e-6 * width[i], 0.25 * width[i]))
            pts = labels[i] + step * np.asarray(offsets)
            pts += max(0.0, self.lower[i] - pts.min()) - max(0.0, pts.max() - self.upper[i])
            for x in pts:
                lab = labels.copy()
                lab[i] = x
                rows.append(lab)
            values.append(pts)
        norm = fm.normalized_batch(np.array(rows), v_rad)
        model = norm * fm.response(coeffs)[None, :]
        chi = ((model - prep.flux[None, :]) ** 2 * prep.weight[None, :]).sum(axis=1)
        errors = np.full(len(self.label_names), np.nan)
        nonconvex = []
        n_pts = len(offsets)
        for k, i in enumerate(free_idx):
            par = parabola_error(values[k], chi[k * n_pts : (k + 1) * n_pts], level)
            errors[i] = par.error
            if not par.convex:
                nonconvex.append(self.label_names[i])
        return errors, nonconvex
