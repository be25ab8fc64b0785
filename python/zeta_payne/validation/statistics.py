"""The statistics of the paper's simulation study (Section 4).

For every label, ``Δθ = fitted − true``; with P16, P50, P84 the percentiles of Δθ a fit has
*converged* if ``4 (P50 + P16) < Δθ < 4 (P50 + P84)`` (criterion ``"paper"``, literally as
printed). With P50 ≈ 0 this is a ±4σ band around zero; when the median is not small compared
with the spread (noiseless fits, whose scatter can be far below a tiny systematic offset)
the literal band no longer contains the median. Criterion ``"centred"`` is the band the
formula describes when P50 ≈ 0, centred on the median:
``P50 − 4 (P50 − P16) < Δθ < P50 + 4 (P84 − P50)``. The internal uncertainty is the RMS of
Δθ over converged fits; the reliability is the fraction of spectra whose labels all
converged (per label too).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["binned_rms", "bootstrap_table3", "converged", "summarize"]


def converged(delta: npt.ArrayLike, criterion: str = "paper") -> np.ndarray:
    """Convergence mask of one label's Δθ (NaN counts as not converged).

    Parameters
    ----------
    delta : array_like, shape (M,)
    criterion : {"paper", "centred"}
        See the module docstring.

    Returns
    -------
    numpy.ndarray of bool, shape (M,)
    """
    d = np.asarray(delta, dtype=float)
    ok = np.isfinite(d)
    if not ok.any():
        return ok
    p16, p50, p84 = np.percentile(d[ok], [16, 50, 84])
    if criterion == "paper":
        lo, hi = 4.0 * (p50 + p16), 4.0 * (p50 + p84)
    elif criterion == "centred":
        lo, hi = p50 - 4.0 * (p50 - p16), p50 + 4.0 * (p84 - p50)
    else:
        raise ValueError(f"unknown criterion {criterion!r}")
    with np.errstate(invalid="ignore"):
        if lo >= hi:  # most fits held the label at the truth (v_micro outside its range):
            same = ok & (np.abs(d - p50) <= 1e-9 * max(1.0, abs(p50)))  # those converge,
            rest = ok & ~same  # the fitted ones by the band of their own spread
            if rest.sum() >= 3:
                return same | converged(np.where(rest, d, np.nan), criterion)
            return same
        return ok & (d > lo) & (d < hi)


def summarize(
    deltas: dict[str, npt.ArrayLike], criterion: str = "paper", all_of: Sequence[str] | None = None
) -> dict[str, dict[str, float]]:
    """RMS over converged fits and reliability, per label and for all labels together.

    Parameters
    ----------
    deltas : dict
        ``{label: Δθ (M,)}``.
    criterion : {"paper", "centred"}
        Convergence criterion for the RMS and ``reliability``; the other criterion's
        reliability is returned too (``reliability_paper`` / ``reliability_centred``).
    all_of : sequence of str, optional
        The labels of the all-label reliability (default: every label of ``deltas``; the
        paper's Table 3 has no v_micro).

    Returns
    -------
    dict
        ``{label: {"rms", "reliability", "n", "p16", "p50", "p84"}, "all": {"reliability", "n"}}``;
        reliabilities are fractions.
    """
    out: dict[str, dict[str, float]] = {}
    masks, others = {}, {}
    other = "centred" if criterion == "paper" else "paper"
    for name, d in deltas.items():
        d = np.asarray(d, dtype=float)
        mask = converged(d, criterion)
        masks[name] = mask
        others[name] = converged(d, other)
        fin = d[np.isfinite(d)]
        p = np.percentile(fin, [16, 50, 84]) if fin.size else [np.nan] * 3
        out[name] = {
            "rms": float(np.sqrt(np.mean(d[mask] ** 2))) if mask.any() else float("nan"),
            "reliability": float(mask.mean()) if mask.size else float("nan"),
            f"reliability_{other}": float(others[name].mean()) if mask.size else float("nan"),
            "n": int(d.size),
            "p16": float(p[0]),
            "p50": float(p[1]),
            "p84": float(p[2]),
        }
    names = [n for n in (all_of if all_of is not None else masks) if n in masks]
    every = np.logical_and.reduce([masks[n] for n in names]) if names else np.zeros(0, bool)
    every_other = np.logical_and.reduce([others[n] for n in names]) if names else np.zeros(0, bool)
    out["all"] = {
        "reliability": float(every.mean()) if every.size else float("nan"),
        f"reliability_{other}": float(every_other.mean()) if every_other.size else float("nan"),
        "n": int(every.size),
    }
    return out


def binned_rms(
    delta: npt.ArrayLike, mask: npt.ArrayLike, x: npt.ArrayLike, edges: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """RMS of converged Δθ in bins of ``x`` (paper Table 2).

    Returns
    -------
    rms : numpy.ndarray, shape (B,)
    count : numpy.ndarray of int, shape (B,)
    """
    d = np.asarray(delta, dtype=float)
    m = np.asarray(mask, dtype=bool)
    xv = np.asarray(x, dtype=float)
    idx = np.clip(np.digitize(xv, edges) - 1, 0, len(edges) - 2)
    rms = np.full(len(edges) - 1, np.nan)
    count = np.zeros(len(edges) - 1, dtype=int)
    for b in range(len(edges) - 1):
        sel = m & (idx == b)
        count[b] = int(sel.sum())
        if count[b]:
            rms[b] = float(np.sqrt(np.mean(d[sel] ** 2)))
    return rms, count


def bootstrap_table3(
    deltas: dict[str, npt.ArrayLike],
    all_of: Sequence[str] | None = None,
    criterion: str = "paper",
    n_boot: int = 1000,
    seed: int = 0,
    levels: Sequence[float] = (16.0, 84.0, 2.5, 97.5),
) -> dict[str, dict[str, tuple[float, ...]]]:
    """Sampling intervals of :func:`summarize`'s RMS and reliabilities, by bootstrap.

    The cases (spectra) are drawn again with replacement, ``n_boot`` times, and the whole
    statistic is recomputed on each draw — the convergence band included, since its
    percentiles come from the same cases. The intervals say how far a Table 3 figure made
    from ``M`` cases could move with another draw of the same kind of cases (truth points,
    noise, v sin i, RV); they say nothing about cases unlike these.

    Parameters
    ----------
    deltas : dict
        ``{label: Δθ (M,)}``, all of one length ``M``.
    all_of : sequence of str, optional
        The labels of the all-label reliability (as :func:`summarize`).
    criterion : {"paper", "centred"}
    n_boot : int
        Bootstrap draws.
    seed : int
        Seed of the draws (the intervals are reproducible).
    levels : sequence of float
        Percentiles [%] of the bootstrap distribution to return.

    Returns
    -------
    dict
        ``{label: {"rms": (p_levels…), "reliability": (…)}, "all": {"reliability": (…)}}``;
        NaN where a draw has no converged fit of a label.
    """
    arrays = {name: np.asarray(d, dtype=float) for name, d in deltas.items()}
    sizes = {a.size for a in arrays.values()}
    if len(sizes) != 1:
        raise ValueError(f"deltas of different lengths: {sorted(sizes)}")
    m = sizes.pop()
    names = [n for n in (all_of if all_of is not None else arrays) if n in arrays]
    rng = np.random.default_rng(seed)
    rms = {name: np.full(n_boot, np.nan) for name in arrays}
    rel = {name: np.full(n_boot, np.nan) for name in arrays}
    rel_all = np.full(n_boot, np.nan)
    for b in range(n_boot):
        pick = rng.integers(0, m, m)
        masks = {}
        for name, d in arrays.items():
            x = d[pick]
            mask = converged(x, criterion)
            masks[name] = mask
            rel[name][b] = mask.mean()
            if mask.any():
                rms[name][b] = np.sqrt(np.mean(x[mask] ** 2))
        if names:
            rel_all[b] = np.logical_and.reduce([masks[n] for n in names]).mean()

    def pct(x: np.ndarray) -> tuple[float, ...]:
        x = x[np.isfinite(x)]
        return tuple(float(v) for v in np.percentile(x, levels)) if x.size else (float("nan"),) * len(levels)

    out: dict[str, dict[str, tuple[float, ...]]] = {
        name: {"rms": pct(rms[name]), "reliability": pct(rel[name])} for name in arrays
    }
    out["all"] = {"reliability": pct(rel_all)}
    return out
