"""The pre-search of a batch of spectra at reduced cost, and the pieces that make it cheap.

Three changes against :meth:`Fitter._presearch_range` (which evaluates the full network
output of every candidate, ``4,000 × H × N`` per spectrum, and ``C(C+1)/2`` response
products per pixel):

* **Low-rank candidates** (:func:`candidate_factors`): the network outputs of the fixed
  candidate set, ``Y = [h, 1] [W2, b2]ᵀ`` (J × P), are factorised once per fitter as
  ``Y ≈ A Bᵀ`` with rank ``r`` chosen so that the rms residual per model pixel is below a
  tolerance (normalised-flux units). LSF and Doppler shift are linear, so every spectrum and
  RV level folds only ``B`` (P × r), and every candidate costs ``r`` instead of ``H + 1``
  multiply-adds per pixel.
* **Chebyshev product moments** (:func:`product_moments`): ``T_k T_l = (T_{k+l} + T_{|k−l|})/2``,
  so the normal matrices of all candidates need ``2C − 1`` moments per segment instead of
  ``C(C+1)/2`` products.
* **Exact re-check**: the ``recheck`` best candidates by this approximate χ² are returned;
  the caller re-evaluates them exactly (float64, full network) and keeps the best, so the
  approximation only has to keep the winner among the first few.

All arrays are torch tensors on one device; the batch axis is padded (weight 0).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from zeta_payne.fitting.presearch import regularised_solve
from zeta_payne.model.doppler import log_doppler_factor
from zeta_payne.model.forward import ForwardModel
from zeta_payne.model.lsf import BandOperator, resampling_band

__all__ = [
    "CandidateFactors",
    "ProductMoments",
    "candidate_factors",
    "presearch_batch",
    "product_moments",
    "varpro_chi2_moments",
]


#: Folded bases kept by :func:`_level_bases` (each ``P_w × r`` float32: 63 MB for a
#: 57,800-pixel window at rank 272).
FOLDED_CACHE_SIZE = 2


@dataclass(frozen=True)
class CandidateFactors:
    """``Y ≈ A Bᵀ``: the network outputs of the pre-search candidates at rank ``r``.

    Attributes
    ----------
    coefficients : torch.Tensor, shape (J, r)
        ``A`` (float32).
    basis : torch.Tensor, shape (P, r)
        ``B`` (float32, orthonormal columns) on the full model grid.
    rank : int
    rms_residual : float
        rms of ``Y − A Bᵀ`` per element (normalised flux).
    """

    coefficients: torch.Tensor
    basis: torch.Tensor
    rank: int
    rms_residual: float


def candidate_factors(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    tolerance: float,
    max_rank: int | None = None,
) -> CandidateFactors:
    """Best rank-``r`` factorisation of the candidates' network outputs.

    Parameters
    ----------
    hidden : torch.Tensor, shape (J, H)
        Last hidden activations of the candidates.
    weight : torch.Tensor, shape (P, H)
        Output layer ``W2``.
    bias : torch.Tensor, shape (P,)
        Output bias ``b2``.
    tolerance : float
        Largest rms residual per element allowed (normalised flux); 0 keeps the full rank.
    max_rank : int, optional
        Upper bound of ``r``.

    Returns
    -------
    CandidateFactors
    """
    dtype = torch.float64
    h = torch.cat([hidden.to(dtype), torch.ones(hidden.shape[0], 1, dtype=dtype, device=hidden.device)], 1)
    # W = [W2, b2] = U S Vᵀ from the (H+1)² Gram matrix WᵀW = V S² Vᵀ, built in blocks (no
    # P × (H+1) copy): P × (H+1)² multiply-adds instead of an SVD of the P × (H+1) matrix
    # (57,800 model pixels: 0.2 s instead of 2 s); U = W V S⁻¹ is never formed, only the
    # basis W V S⁻¹ Zᵣ below
    w2, b2 = weight.to(dtype), bias.to(dtype)
    n_hidden = w2.shape[1]
    gram = torch.empty((n_hidden + 1, n_hidden + 1), dtype=dtype, device=w2.device)
    gram[:n_hidden, :n_hidden] = w2.T @ w2
    gram[:n_hidden, n_hidden] = gram[n_hidden, :n_hidden] = w2.T @ b2
    gram[n_hidden, n_hidden] = b2 @ b2
    evals, v_w = torch.linalg.eigh(gram)
    s_w = torch.sqrt(evals.clamp_min(0.0)).flip(0)
    v_w = v_w.flip(1)
    keep = s_w > s_w[0] * 1e-6  # the Gram matrix resolves singular values to ~1e-8 of the largest
    s_w, v_w = s_w[keep], v_w[:, keep]
    core = h @ v_w * s_w  # Y = core · Uᵀ, core (J, q)
    p, sigma, zt = torch.linalg.svd(core, full_matrices=False)
    energy = torch.flip(torch.cumsum(torch.flip(sigma**2, [0]), 0), [0])  # energy[r] = Σ_{i≥r} σ_i²
    n_el = h.shape[0] * w2.shape[0]
    tail = torch.cat([energy[1:], torch.zeros(1, dtype=dtype, device=h.device)])
    ok = torch.nonzero(torch.sqrt(tail / n_el) <= tolerance)
    rank = int(ok[0]) + 1 if ok.numel() else sigma.numel()
    if max_rank:
        rank = min(rank, int(max_rank))
    rms = float(torch.sqrt(tail[rank - 1] / n_el))
    coefficients = (p[:, :rank] * sigma[:rank]).to(torch.float32)
    # U Zᵣ = W (V S⁻¹ Zᵣ), orthonormal columns: formed in float64 in blocks of rows, kept in
    # float32 (no P × r float64 copy)
    mix = (v_w / s_w) @ zt[:rank].T  # (H + 1, r)
    basis = torch.empty((w2.shape[0], rank), dtype=torch.float32, device=w2.device)
    for lo in range(0, w2.shape[0], 8192):
        rows = slice(lo, lo + 8192)
        basis[rows] = torch.addr(w2[rows] @ mix[:n_hidden], b2[rows], mix[n_hidden])
    return CandidateFactors(coefficients, basis, rank, rms)


@dataclass(frozen=True)
class ProductMoments:
    """Chebyshev products as moments: ``T_k T_l = (T_{k+l} + T_{|k−l|}) / 2`` per segment.

    Attributes
    ----------
    index_sum, index_diff : torch.Tensor of int, shape (C_tot, C_tot)
        Columns of the moment basis holding ``T_{k+l}`` and ``T_{|k−l|}`` of the segment.
    same_segment : torch.Tensor, shape (C_tot, C_tot)
        1 where both coefficients belong to one segment, else 0.
    """

    index_sum: torch.Tensor
    index_diff: torch.Tensor
    same_segment: torch.Tensor


def product_moments(design: torch.Tensor, n_terms: int) -> tuple[torch.Tensor, ProductMoments]:
    """The moment basis ``T_0 … T_{2C−2}`` of every segment from a Chebyshev design.

    Parameters
    ----------
    design : torch.Tensor, shape (*, N, S·C)
        :func:`~zeta_payne.model.response.chebyshev_design` (``S`` segments of ``C``
        columns, zero outside their segment).
    n_terms : int
        ``C``.

    Returns
    -------
    moments : torch.Tensor, shape (*, N, S·(2C−1))
    maps : ProductMoments
    """
    c = int(n_terms)
    n_seg = design.shape[-1] // c
    m = 2 * c - 1
    blocks = []
    for s in range(n_seg):
        t0 = design[..., s * c]  # 1 inside the segment, 0 outside
        x = design[..., s * c + 1] if c > 1 else torch.zeros_like(t0)
        cols = [t0, x]
        for _ in range(2, m):
            cols.append(2.0 * x * cols[-1] - cols[-2])
        blocks.append(torch.stack(cols[:m], dim=-1))
    moments = torch.cat(blocks, dim=-1)
    seg = torch.arange(n_seg * c) // c
    kk = torch.arange(n_seg * c) % c
    index_sum = seg[:, None] * m + (kk[:, None] + kk[None, :])
    index_diff = seg[:, None] * m + (kk[:, None] - kk[None, :]).abs()
    same = (seg[:, None] == seg[None, :]).to(design.dtype)
    dev = design.device
    return moments, ProductMoments(index_sum.to(dev), index_diff.to(dev), same.to(dev))


def varpro_chi2_moments(
    model: torch.Tensor,
    flux: torch.Tensor,
    weight: torch.Tensor,
    design: torch.Tensor,
    moments: torch.Tensor,
    maps: ProductMoments,
    ridge: float = 1e-9,
) -> torch.Tensor:
    """Minimum χ² over the response for a batch of models (as :func:`varpro_chi2`).

    Parameters
    ----------
    model : torch.Tensor, shape (G, J, N)
        Normalised models of ``J`` candidates for each of ``G`` spectra.
    flux, weight : torch.Tensor, shape (G, N)
    design : torch.Tensor, shape (G, N, C_tot)
    moments : torch.Tensor, shape (G, N, M)
        :func:`product_moments` of ``design``.
    maps : ProductMoments
    ridge : float
        Relative Tikhonov regularisation.

    Returns
    -------
    torch.Tensor, shape (G, J)
        ``inf`` where the normal matrix is not positive definite.
    """
    wf = weight * flux
    g = (model * model) @ (moments * weight[:, :, None])  # (G, J, M)
    rhs = (model * wf[:, None, :]) @ design  # (G, J, C)
    normal = 0.5 * (g[:, :, maps.index_sum] + g[:, :, maps.index_diff]) * maps.same_segment
    coeffs, ok = regularised_solve(normal, rhs, ridge)
    chi2 = (wf * flux).sum(dim=1)[:, None] - (coeffs * rhs).sum(dim=-1)
    return torch.where(ok, chi2, torch.full_like(chi2, float("inf")))


def _level_bases(
    fm: ForwardModel,
    basis: torch.Tensor,
    levels: np.ndarray,
    pixels: np.ndarray,
    order: str | None = None,
    folded_cache: dict | None = None,
) -> torch.Tensor:
    """``S_{v_k} C B`` of one spectrum at every RV level, ``(K, N_s, r)`` (float32).

    Two orders of the same product, whichever costs fewer multiply-adds: fold the basis
    with the LSF band once (``C B``: ``P_w × T × r``), then resample it at every level
    (4 taps per pixel); or compose the resampling and LSF bands of the used pixels first
    (``K × N_s × (T + 3)`` taps) and apply them to ``B`` directly. The second wins when the
    model grid is much finer than the observed pixels (an authors'-format 57,800-pixel
    network under BOSS pixels: 16 model pixels per observed pixel, of which the cubic uses
    4, so folding convolved ~4× more rows than were read).

    Parameters
    ----------
    fm : ForwardModel
        The spectrum's forward model (window, LSF band, pixels).
    basis : torch.Tensor, shape (P, r)
        :attr:`CandidateFactors.basis` on the full model grid.
    levels : numpy.ndarray, shape (K,)
        RV levels [km/s].
    pixels : numpy.ndarray of int, shape (N_s,)
        The observed pixels (of ``fm``) to evaluate.
    order : {"fold", "compose"}, optional
        Force one order (tests); ``None`` takes the cheaper.
    folded_cache : dict, optional
        Folded bases ``C B`` kept between calls (the caller's, one per fitter): where the
        fold order is the cheaper, a band met a second time (spectra sharing one LSF on one
        window: a nominal LSF, one survey pixel grid) is folded once and then only
        resampled, 4 taps per pixel. The order is chosen by the cost of the call alone, so
        the result does not depend on what was fitted before. Holds at most
        :data:`FOLDED_CACHE_SIZE` bands.

    Returns
    -------
    torch.Tensor, shape (K, N_s, r)
    """
    dtype = basis.dtype
    conv = fm.conv_band
    n_win = fm.n_window
    loglam = fm.loglam[pixels]
    bands = [
        resampling_band(fm.window_loglam0, fm.grid.delta, n_win, loglam - float(log_doppler_factor(v)))[0]
        for v in levels
    ]
    taps = conv.weights.shape[1]
    half = taps // 2
    centred = conv.start.size == n_win and int(conv.start[0]) == -half and taps == 2 * half + 1
    folded = None
    if order is None:
        # by the cost of this call alone, never by what the cache holds: the two orders
        # round differently, and a spectrum's pre-search must not depend on the spectra
        # fitted before it
        order = "compose" if len(levels) * len(pixels) * (taps + 3) < n_win * taps else "fold"
        if folded_cache is not None and order == "fold":
            key = (id(conv), fm.j_lo, fm.j_hi, id(basis))
            entry = folded_cache.get(key)
            if entry is None:
                entry = folded_cache[key] = [conv, basis, None]  # the objects: their ids stay theirs
                while len(folded_cache) > FOLDED_CACHE_SIZE:
                    folded_cache.pop(next(iter(folded_cache)))
            if entry[2] is None:
                entry[2] = conv.to_torch(basis.device, dtype) @ basis[fm.j_lo : fm.j_hi]
            folded = entry[2]
    if centred and order == "compose":
        # composed bands: row i of level k covers window columns start_i − half … start_i + half + 3
        start = np.concatenate([b.start for b in bands])  # (K·N_s,) = cubic base − 1
        cubic = np.concatenate([b.weights for b in bands])  # (K·N_s, 4)
        weights = np.zeros((start.size, taps + 3))
        for t in range(4):
            rows = np.clip(start + t, 0, n_win - 1)  # a clipped tap carries zero weight
            weights[:, t : t + taps] += cubic[:, t, None] * conv.weights[rows]
        # columns past the window's ends are clipped onto its edge pixels by
        # ``BandOperator``, as in the folded order; a clipped cubic tap carries zero weight
        composed = BandOperator(start - half, weights, n_win)
        out = composed.to_torch(basis.device, dtype) @ basis[fm.j_lo : fm.j_hi]
    else:
        if folded is None:
            folded = conv.to_torch(basis.device, dtype) @ basis[fm.j_lo : fm.j_hi]
        stacked = BandOperator(
            np.concatenate([b.start for b in bands]), np.concatenate([b.weights for b in bands]), n_win
        )
        out = stacked.to_torch(basis.device, dtype) @ folded
    return out.reshape(len(levels), len(pixels), -1)


def _scan(
    coefficients: torch.Tensor,
    bases: torch.Tensor,
    level_index: np.ndarray,
    candidates: np.ndarray,
    arrays: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    maps: ProductMoments,
    step: int,
    max_elements: int,
) -> torch.Tensor:
    """Approximate χ² ``(G, J)`` of ``candidates`` on every ``step``-th pixel (inf for the others).

    ``bases`` is ``(G, K, N, r)``; ``arrays`` are the group's flux, weight, design and
    moments on the pre-search pixels.
    """
    cols = slice(0, None, step)
    fs, ws, ds, ms = (a[:, cols] for a in arrays)
    g, n_px = fs.shape
    out = torch.full((g, coefficients.shape[0]), float("inf"), dtype=fs.dtype, device=fs.device)
    for k in np.unique(level_index[candidates]):
        idx = candidates[level_index[candidates] == k]
        chunk = max(1, max_elements // max(1, g * n_px))
        for c0 in range(0, idx.size, chunk):
            sel = torch.as_tensor(idx[c0 : c0 + chunk], device=fs.device)
            model = coefficients[sel] @ bases[:, k, cols].transpose(1, 2)  # (G, Jk, N)
            out[:, sel] = varpro_chi2_moments(model, fs, ws, ds, ms, maps)
    return out


def presearch_batch(
    factors: CandidateFactors,
    level_unit: np.ndarray,
    models: Sequence[ForwardModel],
    flux: Sequence[np.ndarray],
    weight: Sequence[np.ndarray],
    levels: Sequence[np.ndarray],
    n_terms: int,
    stride: int,
    recheck: int,
    max_elements: int = 1 << 23,
    group_size: int = 1,
    coarse_stride: int = 0,
    coarse_keep: int = 0,
    folded_cache: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approximate pre-search χ² of every candidate; the ``recheck`` best of each spectrum.

    Parameters
    ----------
    factors : CandidateFactors
    level_unit : numpy.ndarray, shape (J,)
        The candidates' RV coordinate in [0, 1] (Sobol), mapped onto each spectrum's range.
    models : sequence of ForwardModel, length B
    flux, weight : sequence of numpy.ndarray, shape (N_b,)
        Scaled flux and inverse variance of the used pixels.
    levels : sequence of numpy.ndarray, shape (K_b,)
        RV levels of every spectrum [km/s] (``Fitter._rv_levels``).
    n_terms : int
        Chebyshev terms per segment.
    stride : int
        Every ``stride``-th pixel enters χ².
    recheck : int
        Candidates returned per spectrum.
    max_elements : int
        Largest ``spectra × candidates × pixels`` evaluated at once (memory).
    group_size : int
        Spectra (with the same number of RV levels) evaluated together: 1 on a CPU (the
        work per spectrum is the same, one at a time stays in cache), more on a GPU.
    coarse_stride : int
        With ``coarse_keep``: every candidate is first ranked on every ``coarse_stride``-th
        pixel, and only the ``coarse_keep`` best of each spectrum are ranked on every
        ``stride``-th pixel (0: no coarse pass).
    coarse_keep : int
        Candidates per spectrum that survive the coarse pass.
    folded_cache : dict, optional
        Kept between calls by the caller: see :func:`_level_bases`.

    Returns
    -------
    index : numpy.ndarray of int, shape (B, recheck)
        Candidates, best first.
    v_rad : numpy.ndarray, shape (B, recheck)
        Their RV levels [km/s].
    chi2 : numpy.ndarray, shape (B, recheck)
        Their approximate χ².
    """
    device = factors.basis.device
    dtype = factors.basis.dtype
    n_cand = factors.coefficients.shape[0]
    recheck = min(recheck, n_cand)
    out_index = np.zeros((len(models), recheck), dtype=int)
    out_v = np.zeros((len(models), recheck))
    out_chi = np.zeros((len(models), recheck))
    groups: dict[int, list[int]] = {}
    for b, lev in enumerate(levels):
        groups.setdefault(len(lev), []).append(b)
    for n_lev, members in groups.items():
        per_group = max(1, group_size)
        for start in range(0, len(members), per_group):
            batch = members[start : start + per_group]
            pix = [np.arange(0, flux[b].size, max(1, stride)) for b in batch]
            n_s = max(p.size for p in pix)
            g = len(batch)
            f = torch.zeros((g, n_s), dtype=dtype, device=device)
            w = torch.zeros_like(f)
            design = torch.zeros((g, n_s, models[batch[0]].design.shape[1]), dtype=dtype, device=device)
            bases = torch.zeros((g, n_lev, n_s, factors.rank), dtype=dtype, device=device)
            for i, b in enumerate(batch):
                p = pix[i]
                f[i, : p.size] = torch.as_tensor(flux[b][p], dtype=dtype, device=device)
                w[i, : p.size] = torch.as_tensor(weight[b][p], dtype=dtype, device=device)
                design[i, : p.size] = models[b].design[p].to(dtype)
                bases[i, :, : p.size] = _level_bases(
                    models[b], factors.basis, levels[b], p, folded_cache=folded_cache
                )
            moments, maps = product_moments(design, n_terms)
            level_index = np.clip(np.rint(level_unit * (n_lev - 1)).astype(int), 0, n_lev - 1)
            arrays = (f, w, design, moments)

            scan = functools.partial(
                _scan,
                factors.coefficients,
                bases,
                level_index,
                arrays=arrays,
                maps=maps,
                max_elements=max_elements,
            )
            everyone = np.arange(n_cand)
            step = max(1, int(coarse_stride) // max(1, stride))
            if step > 1 and 0 < coarse_keep < n_cand:
                # adaptive candidate set: all candidates on a coarse pixel subset, the best
                # ``coarse_keep`` of each spectrum (their union in a group) on all pixels
                rough = scan(everyone, step=step)
                keep = torch.topk(rough, int(coarse_keep), dim=1, largest=False).indices
                chi2 = scan(np.unique(keep.cpu().numpy()), step=1)
            else:
                chi2 = scan(everyone, step=1)
            best = torch.topk(chi2, recheck, dim=1, largest=False)
            for i, b in enumerate(batch):
                index = best.indices[i].cpu().numpy()
                out_index[b] = index
                out_v[b] = levels[b][level_index[index]]
                out_chi[b] = best.values[i].double().cpu().numpy()
    return out_index, out_v, out_chi
