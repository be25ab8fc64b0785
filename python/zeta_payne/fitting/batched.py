"""The fit of a batch of spectra at once: the stages of :class:`~zeta_payne.fitting.Fitter`,
batched in torch on one device (CPU or CUDA, one code path).

Stages: preparation and one :class:`~zeta_payne.model.forward.ForwardModel` per spectrum
(as the per-spectrum fitter) → approximate pre-search of all candidates
(:mod:`~zeta_payne.fitting.batched_presearch`) with an exact re-check of the best few →
batched Levenberg–Marquardt (:mod:`~zeta_payne.fitting.batched_lm`) over labels + RV with
the response projected out, then over labels + RV + response → the χ² parabolas of all
spectra in one evaluation → the same diagnostics and flags
(:mod:`~zeta_payne.fitting.diagnostics`) and the same :class:`FitResult`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from zeta_payne.exceptions import SpectrumRejected
from zeta_payne.fitting.batched_lm import LMResult, batched_lm
from zeta_payne.fitting.batched_model import BatchedForward
from zeta_payne.fitting.batched_presearch import (
    CandidateFactors,
    candidate_factors,
    presearch_batch,
)
from zeta_payne.fitting.batched_problem import BatchProblem
from zeta_payne.fitting.diagnostics import (
    convergence_flags,
    covariance_errors,
    edge_chi2,
    edge_sides,
    label_flags,
    parabola_from_values,
    parabola_points,
    unresolved_v_sini,
)
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.outofbox import diagnose
from zeta_payne.fitting.preparation import Prepared
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.uncertainty import chi2_one_sigma, n_degrees
from zeta_payne.model.forward import ForwardModel
from zeta_payne.spectrum import Spectrum

if TYPE_CHECKING:
    from zeta_payne.fitting.fitter import Fitter

__all__ = ["BatchedFit", "EVALUATION_LIMIT_MESSAGE", "memory_batch_size", "pixel_bucket", "working_set_bytes"]

log = logging.getLogger(__name__)

#: SciPy's message for the evaluation limit (the per-spectrum fitter reports it).
EVALUATION_LIMIT_MESSAGE = "The maximum number of function evaluations is exceeded."


#: Largest batch chosen from memory on a CPU: the time per spectrum is flat beyond ~16
#: (``benchmarks/bench_batched.py``), and a smaller batch keeps a worker small.
CPU_BATCH_CAP = 32
#: Largest batch chosen from memory on a GPU.
GPU_BATCH_CAP = 4096
#: Memory a CPU batch may take [bytes]: with the ~0.6 GB a worker holds anyway, a worker
#: stays within the issue's 1.5 GB.
CPU_MEMORY_BUDGET = 768 * 2**20
#: What a CPU worker already holds plus its batch's estimated working set stays within
#: this [bytes]: the issue's 1.5 GB less room for what a fit adds beyond the estimate (LSF
#: bands, the network's outputs on the window, allocator slack). An authors'-format
#: 57,800-pixel network's worker holds 0.67 GB before its first batch; it peaked at
#: 1.37–1.43 GB with batches of 30–31 under the 768 MB budget alone, at 1.30 GB with this.
CPU_WORKER_LIMIT = 1200 * 2**20
#: The least a CPU batch may take whatever the process already holds [bytes].
CPU_MIN_BUDGET = 128 * 2**20


def pixel_bucket(n_pixels: int) -> int:
    """The length a spectrum of ``n_pixels`` fitted pixels is padded to in a batch.

    Sums over pixels and QR factorisations round differently with the length of the
    zero padding, so a spectrum's fit would depend on how long its batch-mates are. Each
    spectrum is instead padded to a length fixed by its own: ``n_pixels`` rounded up to a
    sixteenth of its power of two, and to a multiple of 8 (at most 1/16 more pixels beyond
    128; 7,801 → 7,936, 3,541 → 3,584), and only spectra of the same length are fitted
    together (:class:`BatchedFit`).

    Parameters
    ----------
    n_pixels : int

    Returns
    -------
    int
    """
    n = max(1, int(n_pixels))
    step = 1 << max(3, n.bit_length() - 5)  # a multiple of 8: rows 64-byte aligned
    return -(-n // step) * step


def _pixel_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Indices of ``lengths`` grouped by :func:`pixel_bucket`, each group in input order."""
    groups: dict[int, list[int]] = {}
    for k, n in enumerate(lengths):
        groups.setdefault(pixel_bucket(n), []).append(k)
    return list(groups.values())


def working_set_bytes(n_pixels: int, n_params: int, n_labels: int) -> int:
    """Bytes one spectrum adds to a batch's working set (a conservative estimate).

    Measured as the growth of the peak resident memory per spectrum of a batch of 32
    (``benchmarks/bench_batched.py``, shipped bundles, full protocol): BOSS 17.5 MB at
    3,541 fitted pixels (620 float64 words per pixel), APOGEE 27 MB at 7,801 (440 words);
    most of it scales with the model-grid window of the spectrum (its LSF band, the
    network's outputs on it), the rest with the pixels and parameters (Jacobians, parabola
    points). Taken as ``600 + 2 P + 10 L`` words per fitted pixel.

    Parameters
    ----------
    n_pixels : int
        Fitted pixels of the spectrum.
    n_params : int
        Parameters of the final least squares (free labels + RV + response).
    n_labels : int
        Labels of the bundle.

    Returns
    -------
    int
    """
    words = 600 + 2 * n_params + 10 * n_labels
    return int(8 * n_pixels * words)


def memory_batch_size(
    n_pixels: int,
    n_params: int,
    n_labels: int,
    device: torch.device | str = "cpu",
    available: int | None = None,
    resident: int | None = None,
) -> int:
    """The batch size that fits the memory of ``device``.

    On a CPU: at most :data:`CPU_BATCH_CAP` spectra, and a working set within
    :data:`CPU_MEMORY_BUDGET`, a quarter of the available memory and what the process may
    still take under :data:`CPU_WORKER_LIMIT` (at least :data:`CPU_MIN_BUDGET`), whichever
    is least — a large network (an authors'-format 57,800-pixel one: ~0.8 GB held before
    the first batch) leaves less room for the batch. On CUDA: half of the device's free
    memory, at most :data:`GPU_BATCH_CAP`.

    Parameters
    ----------
    n_pixels, n_params, n_labels : int
        See :func:`working_set_bytes`.
    device : torch.device or str
    available : int, optional
        Bytes available (default: asked of the device / the operating system).
    resident : int, optional
        Bytes the process holds now (CPU; default: its ``VmRSS``).

    Returns
    -------
    int
        At least 1.
    """
    device = torch.device(device)
    per_spectrum = max(1, working_set_bytes(n_pixels, n_params, n_labels))
    if device.type == "cuda":
        if available is None:
            available = int(torch.cuda.mem_get_info(device)[0])
        budget, cap = available // 2, GPU_BATCH_CAP
    else:
        if available is None:
            available = _available_memory()
        if resident is None:
            resident = _resident_memory()
        room = max(CPU_MIN_BUDGET, CPU_WORKER_LIMIT - int(resident))
        budget, cap = min(CPU_MEMORY_BUDGET, available // 4, room), CPU_BATCH_CAP
    return int(max(1, min(cap, budget // per_spectrum)))


def _resident_memory() -> int:
    """Bytes this process holds now (``VmRSS``; 0 if unknown)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable``; 4 GiB if unknown)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 2**30


class BatchedFit:
    """Fit batches of spectra with a :class:`~zeta_payne.fitting.Fitter`'s bundle and options.

    Parameters
    ----------
    fitter : Fitter
        Provides the bundle, options, label box, candidate set and device.
    """

    def __init__(self, fitter: Fitter) -> None:
        self.fitter = fitter
        self.device = fitter.device
        self._factors: CandidateFactors | None = None
        #: folded pre-search bases of LSF bands met more than once (``_level_bases``)
        self._folded: dict = {}

    @property
    def factors(self) -> CandidateFactors:
        """Low-rank factors of the candidates' network outputs (computed once)."""
        if self._factors is None:
            last = self.fitter._emulator64.layers[-1]
            self._factors = candidate_factors(
                self.fitter._cand_hidden.double(),
                last.weight.detach(),
                last.bias.detach(),
                self.fitter.options.presearch_rank_tolerance,
            )
        return self._factors

    # ------------------------------------------------------------------ public
    def fit(
        self, spectra: Sequence[Spectrum], starts: Sequence[tuple[np.ndarray, float]] | None = None
    ) -> list[FitResult]:
        """Fit a batch; one result per input, in order (rejections become flagged rows).

        ``starts`` (one ``(labels (L,), RV [km/s])`` per spectrum) replace the pre-search, as
        in :meth:`Fitter.fit_batch`. Exceptions other than a rejection propagate (the caller
        decides whether to retry the spectra one at a time).
        """
        fitter = self.fitter
        t_start = time.perf_counter()
        results: list[FitResult | None] = [None] * len(spectra)
        preps: list[Prepared] = []
        models: list[ForwardModel] = []
        where: list[int] = []
        for i, spectrum in enumerate(spectra):
            try:
                prep = fitter._prepare(spectrum)
            except SpectrumRejected as rejection:
                results[i] = FitResult.failed(
                    fitter.label_names, rejection.flags, rejection.message, spectrum.meta
                )
                continue
            preps.append(prep)
            models.append(fitter._forward(prep, prep.used))
            where.append(i)
        prepare = time.perf_counter() - t_start
        for members in _pixel_groups([p.flux.size for p in preps]):
            given = None if starts is None else [starts[where[k]] for k in members]
            timing: dict[str, float] = {"prepare": prepare * len(members) / len(preps)}
            fitted = self._fit_prepared(
                [preps[k] for k in members],
                [models[k] for k in members],
                timing,
                given,
                n_pad=pixel_bucket(max(preps[k].flux.size for k in members)),
            )
            for k, result in zip(members, fitted, strict=True):
                results[where[k]] = result
        total = time.perf_counter() - t_start
        for result in results:
            result.timing["total"] = total / len(spectra)
        for i in where:
            if results[i].flags & ResultFlags.UNCONVERGED:
                results[i] = self._refit_alone(spectra[i], results[i], None if starts is None else starts[i])
        return results  # type: ignore[return-value]

    def _refit_alone(
        self, spectrum: Spectrum, batched: FitResult, start: tuple[np.ndarray, float] | None = None
    ) -> FitResult:
        """The per-spectrum fit of a batch member that ran out of evaluations.

        The batched solver stops at the same evaluation limits as the per-spectrum one but
        takes other steps; a member it leaves ``unconverged`` is fitted again alone, and that
        result (flagged only if the per-spectrum fit does not converge either) replaces it.
        ``timing["refit_alone"]`` records the extra seconds.
        """
        t = time.perf_counter()
        log.info("batched fit unconverged (%s); fitting the spectrum alone", batched.message)
        (result,) = self.fitter._fit_each([spectrum], None, [start])
        result.timing["refit_alone"] = time.perf_counter() - t
        result.timing["total"] = batched.timing.get("total", 0.0) + result.timing["refit_alone"]
        return result

    # -------------------------------------------------------------- internals
    def _fit_prepared(
        self,
        preps: list[Prepared],
        models: list[ForwardModel],
        timing: dict[str, float],
        starts: Sequence[tuple[np.ndarray, float]] | None = None,
        n_pad: int | None = None,
    ) -> list[FitResult]:
        """Pre-search, both least-squares stages and the results of one pixel group."""
        fitter = self.fitter
        batch = BatchedForward(
            models, fitter._emulator64, self.device, emulator32=fitter.emulator, n_pad=n_pad
        )
        problem = BatchProblem(batch, preps, fitter.free, fitter.fixed_values)

        t = time.perf_counter()
        init_labels, init_v, owner = self._starts(preps, models, problem, starts)
        problem.add_rows(owner)
        timing["presearch"] = time.perf_counter() - t

        t = time.perf_counter()
        proj, final = self._least_squares(problem, init_labels, init_v)
        if owner:  # each spectrum keeps its row with the lowest χ²
            keep = _best_rows(final.chi2, len(preps), owner)
            proj, final = _rows(proj, keep), _rows(final, keep)
            init_labels, init_v = init_labels[keep], init_v[keep]
        timing["least_squares"] = time.perf_counter() - t

        t = time.perf_counter()
        results = self._results(preps, models, problem, proj, final, init_labels, init_v)
        timing["uncertainties"] = time.perf_counter() - t
        for result in results:
            result.timing.update({k: v / len(preps) for k, v in timing.items()})
        return results

    def _starts(
        self,
        preps: list[Prepared],
        models: list[ForwardModel],
        problem: BatchProblem,
        starts: Sequence[tuple[np.ndarray, float]] | None,
    ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Starting labels ``(R, L)`` and RVs ``(R,)`` of every row, and the spectrum of each
        row beyond the first ``B`` (its starts in other basins, ``restarts``).

        The pre-search's best start of every spectrum, re-checked by the per-spectrum
        pre-search's own criterion; given ``starts`` replace it (then no restarts).
        """
        fitter, opt = self.fitter, self.fitter.options
        dev, f64 = self.device, torch.float64
        if starts is None:
            exact_chi2 = problem.presearch_chi2(max(1, int(opt.presearch_stride)), opt.n_chebyshev)
            init_labels, init_v, others = self._presearch(preps, models, exact_chi2, problem.batch)
        else:
            given = [fitter.start_from(labels, v) for labels, v in starts]
            init_labels = torch.as_tensor(np.array([labels for labels, _ in given]), dtype=f64, device=dev)
            init_v = torch.as_tensor([v for _, v in given], dtype=f64, device=dev)
            others = [[] for _ in starts]
        owner = [b for b, more in enumerate(others) for _ in more]
        if owner:
            extra = np.array([lab for more in others for lab, _ in more])
            init_labels = torch.cat([init_labels, torch.as_tensor(extra, dtype=f64, device=dev)])
            init_v = torch.cat(
                [init_v, torch.as_tensor([v for more in others for _, v in more], dtype=f64, device=dev)]
            )
        return init_labels, init_v, owner

    def _least_squares(
        self, problem: BatchProblem, init_labels: torch.Tensor, init_v: torch.Tensor
    ) -> tuple[LMResult, LMResult]:
        """Both stages for every row: the response projected out, then the full polish."""
        fitter, opt = self.fitter, self.fitter.options
        n_rows = len(problem.spectrum_of)
        lower, upper = self._bounds(0, n_rows)
        start = torch.cat([init_labels[:, fitter.free], init_v[:, None]], dim=1)
        proj = batched_lm(problem.projected, start, lower, upper, opt.max_nfev, opt.chi2_tolerance)

        lower, upper = self._bounds(problem.n_coeffs, n_rows)
        start = torch.cat([proj.x, proj.extra], dim=1)
        # the per-spectrum polish's scales: a tenth of the box for labels, 1 km/s, |c|
        f64, dev = torch.float64, self.device
        width = torch.as_tensor(0.1 * (fitter.upper - fitter.lower)[fitter.free], dtype=f64, device=dev)
        x_scale = torch.cat(
            [
                width.expand(n_rows, -1),
                torch.ones((n_rows, 1), dtype=f64, device=dev),
                proj.extra.abs().clamp_min(1e-3),
            ],
            dim=1,
        )
        final = batched_lm(
            problem.polish, start, lower, upper, opt.polish_nfev, opt.chi2_tolerance, x_scale=x_scale
        )
        return proj, final

    def _bounds(self, n_coeffs: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        lower, upper = self.fitter._bounds(n_coeffs)
        dev = self.device
        as_t = torch.as_tensor
        return (
            as_t(lower, dtype=torch.float64, device=dev).expand(n, -1).contiguous(),
            as_t(upper, dtype=torch.float64, device=dev).expand(n, -1).contiguous(),
        )

    def _presearch(
        self, preps, models, exact_chi2, batch: BatchedForward
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[tuple[np.ndarray, float]]]]:
        """Best start (labels (B, L), RV (B,)) of every spectrum, re-checked exactly, and
        each spectrum's starts in ``restarts`` other basins (from the full-range search)."""
        fitter, opt = self.fitter, self.fitter.options
        lo, hi = opt.rv_range
        n = len(preps)
        ranges = [(lo, hi)] * n
        *best, others = self._presearch_ranges(preps, models, ranges, exact_chi2)
        half = 0.5 * float(opt.presearch_refine_width or 0.0)
        if half > 0 and hi - lo > 2 * half:
            centres = np.clip(best[1].cpu().numpy(), lo + half, hi - half)
            refined = self._presearch_ranges(
                preps, models, [(c - half, c + half) for c in centres], exact_chi2, others=False
            )[:3]
            better = refined[2] < best[2]
            best = tuple(
                torch.where(better.view(-1, *([1] * (a.dim() - 1))), r, a)
                for a, r in zip(best, refined, strict=True)
            )
        del fitter, batch
        return best[0], best[1], others

    def _presearch_ranges(self, preps, models, ranges, exact_chi2, others: bool = True):
        """Exactly re-checked best candidate per spectrum: labels (B, L), RV (B,), χ² (B,);
        and (``others`` and ``restarts``) each spectrum's starts in other basins, chosen by
        :meth:`Fitter._other_basins` among the ``presearch_coarse_keep`` best by the
        approximate χ² (the per-spectrum fitter chooses among every candidate)."""
        fitter, opt = self.fitter, self.fitter.options
        dev = self.device
        levels = [fitter._rv_levels(p, a, b) for p, (a, b) in zip(preps, ranges, strict=True)]
        restarts = int(opt.restarts) if others else 0
        recheck = int(opt.presearch_recheck)
        wanted = max(recheck, int(opt.presearch_coarse_keep) or 200) if restarts else recheck
        index, v_lev, approx = presearch_batch(
            self.factors,
            fitter._cand_rv_unit,
            models,
            [p.flux for p in preps],
            [p.weight for p in preps],
            levels,
            opt.n_chebyshev,
            opt.presearch_stride,
            wanted,
            group_size=1 if dev.type == "cpu" else 64,
            coarse_stride=opt.presearch_coarse_stride,
            coarse_keep=opt.presearch_coarse_keep,
            folded_cache=self._folded,
        )
        n = index.shape[0]
        k = min(recheck, index.shape[1])
        # (B, K, L)
        labels = torch.as_tensor(fitter._cand_labels[index[:, :k]], dtype=torch.float64, device=dev)
        v = torch.as_tensor(v_lev[:, :k], dtype=torch.float64, device=dev)  # (B, K)
        chi2 = exact_chi2(labels, v)
        j = torch.argmin(chi2, dim=1)
        everyone = torch.arange(n, device=dev)
        starts: list[list[tuple[np.ndarray, float]]] = [[] for _ in range(n)]
        if restarts:
            n_cand = len(fitter._cand_labels)
            for b in range(n):
                every, v_every = np.full(n_cand, np.inf), np.zeros(n_cand)
                every[index[b]], v_every[index[b]] = approx[b], v_lev[b]
                starts[b] = fitter._other_basins(int(index[b, int(j[b])]), every, v_every)
        return labels[everyone, j], v[everyone, j], chi2[everyone, j], starts

    def _results(
        self,
        preps: list[Prepared],
        models: list[ForwardModel],
        problem: BatchProblem,
        proj: LMResult,
        final: LMResult,
        init_labels: torch.Tensor,
        init_v: torch.Tensor,
    ) -> list[FitResult]:
        """Errors, flags and the :class:`FitResult` of every spectrum (one row each)."""
        fitter = self.fitter
        n_free = problem.n_free
        x = final.x.cpu().numpy()
        labels_np = problem.full_labels(final.x).cpu().numpy()
        chi2_np = final.chi2.cpu().numpy()
        covs = []
        for b, prep in enumerate(preps):
            dof = max(prep.flux.size - x.shape[1], 1)
            jac = final.jacobian[b, : prep.flux.size].cpu().numpy()
            covs.append(covariance_errors(jac, chi2_np[b] / dof, fitter.free, fitter.label_names))
        raw = self._parabola_errors(preps, problem, final, labels_np, chi2_np, covs)
        status = (proj.status.cpu().numpy(), final.status.cpu().numpy())
        gains = (proj.chi2 - final.chi2).cpu().numpy()
        nfev = (proj.nfev + final.nfev).cpu().numpy()
        init_l, init_v_np = init_labels.cpu().numpy(), init_v.cpu().numpy()
        results = []
        for b, (prep, fm) in enumerate(zip(preps, models, strict=True)):
            n_pix = prep.flux.size
            labels = labels_np[b]
            v_rad = float(x[b, n_free])
            coeffs = x[b, n_free + 1 :]
            chi2 = float(chi2_np[b])
            dof = max(n_pix - x.shape[1], 1)
            rchi2 = chi2 / dof
            cov = covs[b]
            raw_e, nonconvex = raw[b]
            flags, gain, model_flux = self._flags(
                prep,
                fm,
                final,
                b,
                labels,
                v_rad,
                coeffs,
                chi2,
                rchi2,
                cov,
                (int(status[0][b]), int(status[1][b])),
                float(gains[b]),
            )
            e_labels, e_v_rad, calibrated = fitter.reported_errors(
                labels, v_rad, raw_e, cov.e_labels, cov.e_v_rad, rchi2
            )
            results.append(
                FitResult(
                    label_names=fitter.label_names,
                    labels=labels.copy(),
                    e_labels=e_labels,
                    raw_e_labels=raw_e,
                    cov_e_labels=cov.e_labels,
                    cov_e_v_rad=cov.e_v_rad,
                    calibrated=calibrated,
                    initial_labels=init_l[b].copy(),
                    v_rad=v_rad,
                    e_v_rad=e_v_rad,
                    initial_v_rad=float(init_v_np[b]),
                    correlations=cov.correlations,
                    coeffs=coeffs * prep.scale,
                    chi2=chi2,
                    rchi2=rchi2,
                    dof=dof,
                    snr=prep.snr,
                    n_pixels=n_pix,
                    model_flux=model_flux,
                    flags=int(flags | nonconvex),
                    message="" if status[1][b] > 0 else f"least squares: {EVALUATION_LIMIT_MESSAGE}",
                    n_fev=int(nfev[b]),
                    meta=dict(prep.spectrum.meta),
                    lsf_source=prep.lsf_source,
                    edge_chi2=gain,
                )
            )
        return results

    def _parabola_errors(
        self,
        preps: list[Prepared],
        problem: BatchProblem,
        final: LMResult,
        labels: np.ndarray,
        chi2: np.ndarray,
        covs: list,
    ) -> list[tuple[np.ndarray, int]]:
        """The paper's χ² parabola errors ``(L,)`` and non-convexity flags of every spectrum,
        the χ² at every spectrum's parabola points evaluated in one batch."""
        fitter, opt = self.fitter, self.fitter.options
        nan = (np.full(len(fitter.label_names), np.nan), 0)
        if not opt.compute_uncertainties:
            return [nan for _ in preps]
        point_sets, rows_all = [], []
        for b, prep in enumerate(preps):
            level = chi2_one_sigma(n_degrees(prep.resolution, *prep.fit_range))
            rows, values = parabola_points(
                labels[b], fitter.free, fitter.lower, fitter.upper, covs[b].formal, chi2[b], level
            )
            point_sets.append((values, level))
            rows_all.append(rows)
        if not rows_all:
            return []
        n_free = problem.n_free
        rows_t = torch.as_tensor(np.stack(rows_all), dtype=torch.float64, device=self.device)  # (B, S, L)
        chi_points = problem.chi2_at(rows_t, final.x[:, n_free], final.x[:, n_free + 1 :]).cpu().numpy()
        out = []
        for b, (values, level) in enumerate(point_sets):
            size = sum(len(v) for v in values)
            out.append(
                parabola_from_values(values, chi_points[b, :size], fitter.free, fitter.label_names, level)
            )
        return out

    def _flags(
        self,
        prep: Prepared,
        fm: ForwardModel,
        final: LMResult,
        b: int,
        labels: np.ndarray,
        v_rad: float,
        coeffs: np.ndarray,
        chi2: float,
        rchi2: float,
        cov,
        status: tuple[int, int],
        gain_polish: float,
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Flags of spectrum ``b`` as the per-spectrum fitter sets them (convergence, labels at
        edges with their χ² gain, the out-of-box diagnosis of the best model); also returns
        the edge χ² gains ``(L,)`` and the best model's flux ``(M,)``."""
        fitter, opt = self.fitter, self.fitter.options
        n_pix = prep.flux.size
        flags = prep.flags
        flags |= convergence_flags(opt, status[0], status[1], gain_polish, v_rad, chi2, rchi2, cov.singular)
        v_sini_limit = unresolved_v_sini(prep.resolution, opt.unresolved_v_sini)
        sides = edge_sides(labels, fitter.free, fitter.lower, fitter.upper, opt.at_edge)
        gain = edge_chi2(
            final.residual[b, :n_pix].cpu().numpy(),
            final.jacobian[b, :n_pix].cpu().numpy(),
            sides,
            fitter.free,
            rchi2,
        )
        flags |= label_flags(
            labels, fitter.free, fitter.lower, fitter.upper, fitter.label_names, opt, v_sini_limit, gain
        )
        # the per-spectrum fit's out-of-box diagnosis, on the same best model
        model_flux = fitter._model_flux(prep, fm, labels, v_rad, coeffs)
        s = prep.spectrum
        diag = diagnose(s.wavelength, s.flux, s.ivar, model_flux, prep.used, v_rad)
        flags |= fitter.spectrum_flags(diag, labels, cov.e_labels)
        return flags, gain, model_flux


def _best_rows(chi2: torch.Tensor, n: int, owner: Sequence[int]) -> torch.Tensor:
    """Each spectrum's row ``(B,)`` of lowest χ² among its first row ``b`` and its further
    rows (``owner``: the spectrum of rows ``B, B + 1, …``)."""
    keep = torch.arange(n, device=chi2.device)
    for r, b in enumerate(owner, start=n):
        if chi2[r] < chi2[keep[b]]:
            keep[b] = r
    return keep


def _rows(result: LMResult, rows: torch.Tensor) -> LMResult:
    """The rows ``rows`` of every per-row field of a :class:`LMResult`."""
    return LMResult(
        **{
            f.name: (getattr(result, f.name)[rows] if getattr(result, f.name) is not None else None)
            for f in dataclasses.fields(LMResult)
        }
    )
