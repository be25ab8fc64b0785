"""QA figures: a fit overlaid on its spectrum with residuals, and a run's label distributions.

Figures are drawn on an Agg canvas directly (``matplotlib.figure.Figure``), so importing or
calling these never changes matplotlib's global backend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["plot_fit", "plot_run"]

#: Labels shown by :func:`plot_run`, with axis titles.
RUN_LABELS: dict[str, str] = {
    "teff": r"$T_\mathrm{eff}$ [K]",
    "logg": r"$\log g$ [dex]",
    "v_sini": r"$v\sin i$ [km/s]",
    "m_h": "[M/H] [dex]",
    "v_rad": r"$v_\mathrm{rad}$ [km/s]",
}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), constrained_layout=True)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _segments(wavelength: np.ndarray, gap: float = 20.0) -> list[slice]:
    """Contiguous wavelength ranges (split where pixels jump by more than ``gap`` pixels)."""
    step = np.diff(wavelength)
    typical = np.median(step) if step.size else 1.0
    breaks = np.flatnonzero(step > gap * typical) + 1
    edges = [0, *breaks.tolist(), wavelength.size]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b - a > 1]


def plot_fit(
    wavelength: npt.ArrayLike,
    flux: npt.ArrayLike,
    ivar: npt.ArrayLike,
    model_flux: npt.ArrayLike,
    path: str | os.PathLike,
    used: npt.ArrayLike | None = None,
    title: str = "",
) -> str:
    """Spectrum with the best-fit model (top) and normalised residuals (bottom).

    Parameters
    ----------
    wavelength, flux, ivar, model_flux : array_like, shape (N,)
        Vacuum wavelength [Å], observed flux, its inverse variance, model flux (NaN where
        not modelled).
    path : path-like
        PNG to write.
    used : array_like of bool, shape (N,), optional
        Pixels that entered χ² (others drawn grey).
    title : str
        Figure title.

    Returns
    -------
    str
        The path written.
    """
    lam = np.asarray(wavelength, float)
    f = np.asarray(flux, float)
    iv = np.asarray(ivar, float)
    model = np.asarray(model_flux, float)
    ok = np.isfinite(model) if used is None else np.asarray(used, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = (f - model) * np.sqrt(np.clip(iv, 0, None))
    modelled = np.flatnonzero(np.isfinite(model))
    lo, hi = (lam[modelled[0]], lam[modelled[-1]]) if modelled.size else (lam[0], lam[-1])
    window = (lam >= lo) & (lam <= hi)
    segments = [s for s in _segments(lam) if window[s].any()] or [slice(0, lam.size)]
    fig = _figure(11, 5.5)
    grid = fig.add_gridspec(2, len(segments), height_ratios=(3, 1))
    for k, seg in enumerate(segments):
        sel = np.zeros(lam.size, bool)
        sel[seg] = True
        sel &= window
        top = fig.add_subplot(grid[0, k])
        bottom = fig.add_subplot(grid[1, k], sharex=top)
        top.plot(
            lam[sel], np.where(ok[sel], f[sel], np.nan), c="k", lw=0.6, drawstyle="steps-mid", label="data"
        )
        top.plot(lam[sel], np.where(ok[sel], np.nan, f[sel]), c="0.7", lw=0.6, drawstyle="steps-mid")
        top.plot(lam[sel], model[sel], c="tab:red", lw=0.8, label="model")
        finite = f[sel & ok & np.isfinite(f)]
        if finite.size:
            a, b = np.percentile(finite, [0.5, 99.5])
            top.set_ylim(a - 0.1 * (b - a), b + 0.1 * (b - a))
        bottom.plot(lam[sel], np.where(ok[sel], resid[sel], np.nan), c="k", lw=0.4)
        bottom.axhline(0, c="tab:red", lw=0.6)
        bottom.set_ylim(-6, 6)
        bottom.set_xlabel(r"$\lambda$ [Å]")
        if k == 0:
            top.set_ylabel("flux")
            bottom.set_ylabel(r"resid. / $\sigma$")
            top.legend(loc="lower left", fontsize=8)
        top.tick_params(labelbottom=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_run(
    labels: Mapping[str, npt.ArrayLike],
    path: str | os.PathLike,
    truth: Mapping[str, npt.ArrayLike] | None = None,
    bad: npt.ArrayLike | None = None,
    title: str = "",
    names: Sequence[str] = tuple(RUN_LABELS),
) -> str:
    """Kiel diagram (colour: [M/H]) and histograms of the labels of a run.

    Parameters
    ----------
    labels : mapping
        ``{label: values}`` with ``teff``, ``logg`` and any of :data:`RUN_LABELS`, shape (M,)
        each (NaN for missing).
    path : path-like
        PNG to write.
    truth : mapping, optional
        True values (same keys and order) drawn as open circles joined to the fits.
    bad : array_like of bool, shape (M,), optional
        Results flagged bad (drawn as crosses, left out of the histograms).
    title : str
        Figure title.
    names : sequence of str
        Labels to histogram.
    """
    data = {k: np.asarray(v, float) for k, v in labels.items()}
    m = len(next(iter(data.values()))) if data else 0
    bad_mask = np.zeros(m, bool) if bad is None else np.asarray(bad, bool)
    shown = [n for n in names if n in data]
    fig = _figure(12, 6.5)
    grid = fig.add_gridspec(
        2, 1 + (len(shown) + 1) // 2, width_ratios=(2.2, *([1] * ((len(shown) + 1) // 2)))
    )
    kiel = fig.add_subplot(grid[:, 0])
    teff, logg = data.get("teff", np.full(m, np.nan)), data.get("logg", np.full(m, np.nan))
    good = ~bad_mask
    if truth is not None and "teff" in truth and "logg" in truth:
        t_teff, t_logg = np.asarray(truth["teff"], float), np.asarray(truth["logg"], float)
        for i in np.flatnonzero(good):
            kiel.plot([t_teff[i], teff[i]], [t_logg[i], logg[i]], c="0.6", lw=0.6)
        kiel.scatter(t_teff[good], t_logg[good], facecolors="none", edgecolors="0.4", s=30, label="truth")
    colour = data.get("m_h", np.zeros(m))
    points = kiel.scatter(teff[good], logg[good], c=colour[good], cmap="viridis", s=28, label="fit")
    if bad_mask.any():
        kiel.scatter(teff[bad_mask], logg[bad_mask], marker="x", c="tab:red", s=30, label="flagged bad")
    fig.colorbar(points, ax=kiel, label="[M/H]")
    kiel.invert_xaxis()
    kiel.invert_yaxis()
    kiel.set_xlabel(RUN_LABELS["teff"])
    kiel.set_ylabel(RUN_LABELS["logg"])
    kiel.legend(fontsize=8, loc="upper left")
    for k, name in enumerate(shown):
        ax = fig.add_subplot(grid[k % 2, 1 + k // 2])
        values = data[name][good]
        values = values[np.isfinite(values)]
        if values.size:
            ax.hist(values, bins=max(5, min(30, values.size // 2)), color="tab:blue", alpha=0.8)
        ax.set_xlabel(RUN_LABELS.get(name, name))
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
