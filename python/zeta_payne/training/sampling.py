"""Training labels (paper Table 1): Sobol points over the box plus a Gaussian cool/slow set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from zeta_payne.fitting.presearch import sobol_unit

__all__ = ["PAPER_BOX", "training_labels", "split_indices"]

#: The paper's training box (Table 1).
PAPER_BOX: dict[str, tuple[float, float]] = {
    "teff": (6000.0, 25000.0),
    "logg": (3.0, 5.0),
    "v_sini": (0.0, 400.0),
    "m_h": (-0.8, 0.8),
}


def _fold(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflect values into [lo, hi] (repeatedly, so any real maps inside)."""
    width = hi - lo
    y = np.mod(x - lo, 2 * width)
    return lo + np.where(y > width, 2 * width - y, y)


def training_labels(
    label_names: Sequence[str],
    box: Mapping[str, tuple[float, float]],
    n_sobol: int = 5000,
    n_gauss: int = 5000,
    gauss: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Labels of a training set: ``n_sobol`` Sobol points + ``n_gauss`` Gaussian points.

    The Gaussian part draws the labels in ``gauss`` (default teff ~ N(6000, 3000),
    v_sini ~ N(0, 25)) from normal distributions folded into the box, the others uniformly
    (Sobol); labels in ``fixed`` take their fixed value.

    Parameters
    ----------
    label_names : sequence of str
        Column order of the output.
    box : mapping
        ``{label: (min, max)}`` for the free labels.
    n_sobol, n_gauss : int
        Sizes of the two parts.
    gauss : mapping, optional
        ``{label: (mean, sigma)}``.
    fixed : mapping, optional
        ``{label: value}``.
    seed : int
        Seed (Sobol scrambling and the Gaussian draws).

    Returns
    -------
    numpy.ndarray, shape (n_sobol + n_gauss, L)
    """
    gauss = dict(gauss if gauss is not None else {"teff": (6000.0, 3000.0), "v_sini": (0.0, 25.0)})
    fixed = dict(fixed or {})
    free = [n for n in label_names if n not in fixed]
    missing = set(free) - set(box)
    if missing:
        raise ValueError(f"no box for labels {sorted(missing)}")
    lo = np.array([box[n][0] for n in free])
    hi = np.array([box[n][1] for n in free])
    parts = []
    if n_sobol:
        parts.append(lo + sobol_unit(len(free), n_sobol, seed) * (hi - lo))
    if n_gauss:
        unit = sobol_unit(len(free), n_gauss, seed + 1)
        g = lo + unit * (hi - lo)
        rng = np.random.default_rng(seed + 2)
        for j, name in enumerate(free):
            if name in gauss:
                mean, sigma = gauss[name]
                g[:, j] = _fold(rng.normal(mean, sigma, n_gauss), lo[j], hi[j])
        parts.append(g)
    free_part = np.concatenate(parts) if parts else np.zeros((0, len(free)))
    out = np.empty((free_part.shape[0], len(label_names)))
    for j, name in enumerate(label_names):
        out[:, j] = fixed[name] if name in fixed else free_part[:, free.index(name)]
    return out


def split_indices(n: int, validation_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split into training and validation indices."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_val = max(1, int(round(validation_fraction * n)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])
