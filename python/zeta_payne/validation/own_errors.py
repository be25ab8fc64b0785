"""How a study's fits compare with their own errors: formal (Cramér–Rao) and reported.

Per-fit quantities behind Table 3's extra rows (:mod:`zeta_payne.validation.report`): the
*formal* error of each label, ``sqrt(diag((JᵀJ)⁻¹))`` at the fitted labels — the bound an
unbiased fit of the network's spectra with the stated noise cannot beat —, whether each fit
lies within a few of its *reported* (calibrated) errors of the truth, and the reliability
that fits scattering exactly as their formal errors would reach (the information limit of
the paper's one-band-for-every-star criterion).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr

from zeta_payne.fitting.flags import label_flag
from zeta_payne.validation.runner import StudyResult
from zeta_payne.validation.statistics import summarize

__all__ = [
    "OWN_ERRORS_K",
    "formal_errors",
    "formal_rank_correlation",
    "information_limit_reliability",
    "within_own_errors",
]


def formal_errors(study: StudyResult, label: str) -> np.ndarray:
    """Each fit's formal error of one label: ``sqrt(diag((JᵀJ)⁻¹))`` at the fitted labels.

    The covariance error divided by ``sqrt(rchi2)``: the Cramér–Rao bound of an unbiased
    estimate of the label when the model is the bundle's network and the noise is the
    spectrum's stated inverse variance, with every other label, the RV and the response
    polynomial fitted too. A fit whose scatter about the truth equals it extracts all the
    information the pixels hold about that label; the scatter cannot be smaller at that S/N
    except by bias (a box edge, a prior).

    Parameters
    ----------
    study : StudyResult
    label : str
        A label name or ``"v_rad"`` [the label's unit].

    Returns
    -------
    numpy.ndarray, shape (M,)
        NaN where the study stored no covariance error.
    """
    rchi2 = np.asarray(study.rchi2, dtype=float)
    if label == "v_rad":
        cov = study.cov_e_v_rad
        if cov is None:
            return np.full(rchi2.shape, np.nan)
        cov = np.asarray(cov, dtype=float)
    else:
        cov = np.asarray(study.cov_e_labels, dtype=float)[:, study.label_names.index(label)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rchi2 > 0, cov / np.sqrt(rchi2), np.nan)


#: A fit lies within its own errors when every |Δθ| ≤ OWN_ERRORS_K · e (the reported e_*)
OWN_ERRORS_K = 4.0


def within_own_errors(study: StudyResult, label: str, k: float = OWN_ERRORS_K) -> np.ndarray:
    """Which fits lie within ``k`` of their own reported error: ``|Δθ| ≤ k · e``.

    The paper's convergence band is one band for every star, set by the percentiles of the
    whole set; a star whose spectrum holds little information about a label (a hot fast
    rotator's [M/H] or RV) falls outside it although its fit agrees with its own error. This
    criterion asks each fit to agree with the error it reports. A label held at the true value
    (``Δθ = 0``) lies within, and so does one the fit reports without an error and with its
    ``<LABEL>_UNCONSTRAINED`` flag (held because the spectrum does not constrain it: no claim).

    Parameters
    ----------
    study : StudyResult
    label : str
        A label name or ``"v_rad"``.
    k : float
        How many reported errors.

    Returns
    -------
    numpy.ndarray of bool, shape (M,)
    """
    d = study.deltas([] if label == "v_rad" else [label])[label]
    if label == "v_rad":
        e = np.asarray(study.e_v_rad, dtype=float)
        no_claim = np.zeros(d.shape, dtype=bool)
    else:  # held because unconstrained: no error, and a flag that says why
        e = np.asarray(study.e_labels, dtype=float)[:, study.label_names.index(label)]
        flagged = (np.asarray(study.flags, dtype=np.int64) & int(label_flag(label, "unconstrained"))) != 0
        no_claim = flagged & ~np.isfinite(e)
    with np.errstate(invalid="ignore"):
        return (d == 0) | (np.abs(d) <= k * e) | no_claim


def information_limit_reliability(
    study: StudyResult, labels: Sequence[str], draws: int = 200, seed: int = 0
) -> dict[str, np.ndarray]:
    """Table 3's reliability for fits at the information limit of these spectra.

    Each draw replaces every fit's Δθ by ``σ · z`` with σ its formal error
    (:func:`formal_errors`) and ``z`` a standard normal deviate, independently per label and
    fit, and applies the paper's convergence criterion
    (:func:`zeta_payne.validation.statistics.converged`) to the drawn set. That is what an
    unbiased fitter with Gaussian errors at the Cramér–Rao bound would score on the same
    stars: the criterion is one band for every star, set by the percentiles of the whole
    set, so where the stars' own errors differ widely (a hot fast rotator's [M/H] or RV
    against a cool slow rotator's) the stars with the widest errors fall outside it however
    good the fit. A label without a formal error (held at a fixed value) keeps its actual Δθ.
    Labels are drawn independently; whatever their correlation, the all-label figure cannot
    exceed the lowest per-label one.

    The criterion scales with the errors, so the figure depends only on how the errors
    differ from star to star, not on their size. At S/N ∞ the formal errors are those of the
    noiseless spectra's nominal weights: the figure is then what any error that reaches the
    labels as noise does (through each star's own sensitivity) would score, whatever its
    size — which is how the model error behaves where :func:`formal_rank_correlation` is
    high.

    Parameters
    ----------
    study : StudyResult
    labels : sequence of str
        The labels of the all-label reliability (label names and ``"v_rad"``).
    draws : int
        Monte-Carlo draws.
    seed : int
        Seed of the draws.

    Returns
    -------
    dict
        ``{label: reliabilities (draws,), "all": (draws,)}``, fractions.
    """
    actual = study.deltas([n for n in labels if n != "v_rad"])
    sigma = {n: formal_errors(study, n) for n in labels}
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {n: [] for n in [*labels, "all"]}
    for _ in range(draws):
        drawn = {
            n: np.where(np.isfinite(s), s * rng.standard_normal(s.size), np.asarray(actual[n], float))
            for n, s in sigma.items()
        }
        stats = summarize(drawn, all_of=list(labels))
        for n in out:
            out[n].append(stats[n]["reliability"])
    return {n: np.asarray(v) for n, v in out.items()}


def formal_rank_correlation(study: StudyResult, label: str) -> float:
    """Rank (Spearman) correlation of each fit's ``|Δθ|`` with its formal error.

    Near 0 when the fits' errors are the same size for every star whatever its spectrum
    holds about the label; high when they follow each star's sensitivity, as noise does —
    at S/N ∞, where there is no noise, a high value says the model error reaches the labels
    the same way.

    Parameters
    ----------
    study : StudyResult
    label : str
        A label name or ``"v_rad"``.

    Returns
    -------
    float
        NaN with fewer than three fits that have both, or when either is the same for all.
    """
    d = np.abs(np.asarray(study.deltas([] if label == "v_rad" else [label])[label], dtype=float))
    sigma = formal_errors(study, label)
    ok = np.isfinite(d) & np.isfinite(sigma)
    if ok.sum() < 3 or np.ptp(d[ok]) == 0 or np.ptp(sigma[ok]) == 0:  # undefined: one value
        return float("nan")
    return float(spearmanr(d[ok], sigma[ok]).statistic)
