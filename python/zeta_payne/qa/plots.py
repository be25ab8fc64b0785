"""QA figures: a fit with residuals and zooms on the diagnostic lines, a run's labels, and a
run's summary page.

Figures are drawn on an Agg canvas directly (``matplotlib.figure.Figure``), so importing or
calling these never changes matplotlib's global backend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["DIAGNOSTIC_LINES", "INSTRUMENT_STYLE", "RUN_LABELS", "plot_fit", "plot_run", "plot_summary"]

#: Labels shown by :func:`plot_run`, with axis titles.
RUN_LABELS: dict[str, str] = {
    "teff": r"$T_\mathrm{eff}$ [K]",
    "logg": r"$\log g$ [dex]",
    "v_sini": r"$v\sin i$ [km/s]",
    "m_h": "[M/H] [dex]",
    "v_rad": r"$v_\mathrm{rad}$ [km/s]",
}

#: Lines that carry the labels (vacuum wavelength [Å]), zoomed in :func:`plot_fit`.
DIAGNOSTIC_LINES: dict[str, tuple[tuple[str, float], ...]] = {
    "boss": (
        ("He I 4471", 4472.73),
        ("Mg II 4481", 4482.38),
        (r"H$\beta$", 4862.68),
        ("He I 5876", 5877.25),
        (r"H$\alpha$", 6564.61),
        ("He I 6678", 6679.99),
    ),
    "apogee": (
        ("Br 16", 15560.7),
        ("Br 15", 15704.9),
        ("Br 13", 16113.7),
        ("Br 12", 16411.7),
        ("Br 11", 16811.1),
    ),
}

#: Marker and colour of each instrument in the run figures.
INSTRUMENT_STYLE: dict[str, dict[str, str]] = {
    "boss": {"marker": "o", "color": "tab:blue", "name": "BOSS"},
    "apogee": {"marker": "^", "color": "tab:orange", "name": "APOGEE"},
}

_ZOOM_HALF_WIDTH = {"boss": 45.0, "apogee": 35.0}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _segments(wavelength: np.ndarray, observed: np.ndarray, gap: int = 30) -> list[slice]:
    """Contiguous observed ranges: split where the wavelengths jump or where more than ``gap``
    pixels in a row have no data (APOGEE's chip gaps)."""
    step = np.diff(wavelength)
    typical = np.median(step) if step.size else 1.0
    cut = np.zeros(wavelength.size, bool)
    cut[1:] = step > 20 * typical
    segments, start, empty = [], None, 0
    for i in range(wavelength.size):
        if cut[i] and start is not None:
            segments.append(slice(start, i))
            start, empty = None, 0
        if observed[i]:
            start = i if start is None else start
            empty = 0
        elif start is not None:
            empty += 1
            if empty > gap:
                segments.append(slice(start, i - empty + 1))
                start, empty = None, 0
    if start is not None:
        segments.append(slice(start, wavelength.size - empty))
    return [s for s in segments if s.stop - s.start > 10]


def plot_fit(
    wavelength: npt.ArrayLike,
    flux: npt.ArrayLike,
    ivar: npt.ArrayLike,
    model_flux: npt.ArrayLike,
    path: str | os.PathLike,
    used: npt.ArrayLike | None = None,
    title: str = "",
    instrument: str | None = None,
    flux_label: str = r"flux [$10^{-17}$ erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$]",
) -> str:
    """Spectrum and best-fit model, residuals in σ, and zooms on the diagnostic lines.

    Parameters
    ----------
    wavelength, flux, ivar, model_flux : array_like, shape (N,)
        Vacuum wavelength [Å], observed flux, its inverse variance, model flux (NaN where
        not modelled).
    path : path-like
        Figure to write.
    used : array_like of bool, shape (N,), optional
        Pixels that entered χ² (others drawn grey).
    title : str
        Figure title (the star, the labels).
    instrument : str, optional
        ``"boss"`` or ``"apogee"``: which :data:`DIAGNOSTIC_LINES` are zoomed.
    flux_label : str
        Axis title of the flux.

    Returns
    -------
    str
        The path written.

    Notes
    -----
    The model is drawn only where the spectrum has data: across a chip gap or a run of
    pixels without data the panels are split, never bridged.
    """
    lam = np.asarray(wavelength, float)
    f = np.asarray(flux, float)
    iv = np.asarray(ivar, float)
    model = np.asarray(model_flux, float)
    observed = np.isfinite(f) & (iv > 0)
    ok = (np.isfinite(model) & observed) if used is None else np.asarray(used, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = (f - model) * np.sqrt(np.clip(iv, 0, None))
    shown_model = np.where(observed, model, np.nan)
    modelled = observed & np.isfinite(model)
    segments = _segments(lam, modelled) or [slice(0, lam.size)]
    lines = [
        (name, centre)
        for name, centre in DIAGNOSTIC_LINES.get(instrument or "", ())
        if modelled[np.abs(lam - centre) < 2.0].any()
    ][:5]
    fig = _figure(12, 7.5 if lines else 5.5)
    rows = 3 if lines else 2
    outer = fig.add_gridspec(rows, 1, height_ratios=(3, 1.2, 2.4)[:rows])
    top_grid = outer[0].subgridspec(1, len(segments), wspace=0.03)
    bottom_grid = outer[1].subgridspec(1, len(segments), wspace=0.03)
    for k, seg in enumerate(segments):
        sel = np.zeros(lam.size, bool)
        sel[seg] = True
        top = fig.add_subplot(top_grid[0, k])
        bottom = fig.add_subplot(bottom_grid[0, k], sharex=top)
        x = lam[sel]
        top.plot(x, np.where(ok[sel], f[sel], np.nan), c="k", lw=0.6, drawstyle="steps-mid", label="data")
        top.plot(
            x,
            np.where(~ok[sel] & observed[sel], f[sel], np.nan),
            c="0.7",
            lw=0.6,
            drawstyle="steps-mid",
            label="not fitted",
        )
        top.plot(x, shown_model[sel], c="tab:red", lw=0.8, label="model")
        finite = f[sel & ok & np.isfinite(f)]
        if finite.size:
            a, b = np.percentile(finite, [0.5, 99.5])
            top.set_ylim(a - 0.1 * (b - a), b + 0.1 * (b - a))
        for _name, centre in lines:
            if x[0] <= centre <= x[-1]:
                top.axvline(centre, c="tab:blue", lw=0.5, ls=":")
        bottom.plot(x, np.where(ok[sel], resid[sel], np.nan), c="k", lw=0.4, drawstyle="steps-mid")
        for level, style in ((0, "-"), (-3, ":"), (3, ":")):
            bottom.axhline(level, c="tab:red", lw=0.6, ls=style)
        bottom.set_ylim(-6, 6)
        bottom.set_xlabel(r"$\lambda$ [Å, vacuum]")
        top.tick_params(labelbottom=False)
        if k == 0:
            top.set_ylabel(flux_label)
            bottom.set_ylabel(r"(data − model) / $\sigma$")
            top.legend(loc="lower left", fontsize=8)
        else:
            top.tick_params(labelleft=False)
            bottom.tick_params(labelleft=False)
    if lines:
        zoom_grid = outer[2].subgridspec(2, len(lines), height_ratios=(3, 1), hspace=0.0)
        half = _ZOOM_HALF_WIDTH.get(instrument or "", 20.0)
        for k, (name, centre) in enumerate(lines):
            zoom = fig.add_subplot(zoom_grid[0, k])
            res = fig.add_subplot(zoom_grid[1, k], sharex=zoom)
            sel = (np.abs(lam - centre) <= half) & observed
            x = lam[sel]
            zoom.plot(x, np.where(ok[sel], f[sel], np.nan), c="k", lw=0.7, drawstyle="steps-mid")
            zoom.plot(x, shown_model[sel], c="tab:red", lw=1.0)
            zoom.axvline(centre, c="tab:blue", lw=0.5, ls=":")
            zoom.set_title(name, fontsize=9)
            zoom.tick_params(labelbottom=False, labelsize=7)
            res.plot(x, np.where(ok[sel], resid[sel], np.nan), c="k", lw=0.5, drawstyle="steps-mid")
            res.axhline(0, c="tab:red", lw=0.6)
            res.set_ylim(-5, 5)
            res.tick_params(labelsize=7)
            res.set_xlabel(r"$\lambda$ [Å]", fontsize=8)
            if k == 0:
                zoom.set_ylabel("flux", fontsize=8)
                res.set_ylabel(r"$\sigma$", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def _errorbars(ax, x, y, xerr, yerr, style, label, bad=None) -> None:
    if x.size == 0:
        return
    ax.errorbar(
        x, y, xerr=xerr, yerr=yerr, fmt="none", ecolor=style["color"], elinewidth=0.6, alpha=0.6, capsize=0
    )
    ax.scatter(
        x, y, marker=style["marker"], c=style["color"], s=32, edgecolors="k", linewidths=0.4, label=label
    )


def plot_run(
    labels: Mapping[str, npt.ArrayLike],
    path: str | os.PathLike,
    truth: Mapping[str, npt.ArrayLike] | None = None,
    bad: npt.ArrayLike | None = None,
    title: str = "",
    names: Sequence[str] = tuple(RUN_LABELS),
    instruments: Sequence[str] | None = None,
    errors: Mapping[str, npt.ArrayLike] | None = None,
    identifiers: Sequence[str] | None = None,
) -> str:
    """Kiel diagram (per-instrument markers, error bars, star identifiers) and label histograms.

    Parameters
    ----------
    labels : mapping
        ``{label: values}`` with ``teff``, ``logg`` and any of :data:`RUN_LABELS`, shape (M,)
        each (NaN for missing).
    path : path-like
        Figure to write.
    truth : mapping, optional
        True values (same keys and order) drawn as open circles joined to the fits.
    bad : array_like of bool, shape (M,), optional
        Results flagged bad (drawn as crosses, left out of the histograms).
    title : str
        Figure title (the number of points drawn is added).
    names : sequence of str
        Labels to histogram.
    instruments : sequence of str, optional
        Instrument of each result (markers; histograms stacked by instrument).
    errors : mapping, optional
        ``{label: error}`` for error bars (``teff``, ``logg``).
    identifiers : sequence of str, optional
        Star identifier of each result, written beside its point (up to 40 points), so that
        a star fitted from both instruments (two markers) can be told.
    """
    from matplotlib.ticker import MaxNLocator

    data = {k: np.asarray(v, float) for k, v in labels.items()}
    m = len(next(iter(data.values()))) if data else 0
    bad_mask = np.zeros(m, bool) if bad is None else np.asarray(bad, bool)
    inst = np.asarray(instruments if instruments is not None else ["boss"] * m, dtype=object)
    errs = {k: np.asarray(v, float) for k, v in (errors or {}).items()}
    shown = [n for n in names if n in data]
    teff, logg = data.get("teff", np.full(m, np.nan)), data.get("logg", np.full(m, np.nan))
    finite = np.isfinite(teff) & np.isfinite(logg)
    good = ~bad_mask & finite
    drawn_bad = bad_mask & finite
    fig = _figure(13, 7)
    columns = (len(shown) + 1) // 2
    grid = fig.add_gridspec(2, 1 + columns, width_ratios=(2.4, *([1] * columns)))
    kiel = fig.add_subplot(grid[:, 0])
    if truth is not None and "teff" in truth and "logg" in truth:
        t_teff, t_logg = np.asarray(truth["teff"], float), np.asarray(truth["logg"], float)
        for i in np.flatnonzero(good):
            kiel.plot([t_teff[i], teff[i]], [t_logg[i], logg[i]], c="0.6", lw=0.6, zorder=1)
        kiel.scatter(
            t_teff[good], t_logg[good], facecolors="none", edgecolors="0.3", s=40, label="truth", zorder=2
        )
    for key, style in INSTRUMENT_STYLE.items():
        sel = good & (inst == key)
        xerr = errs.get("teff", np.full(m, np.nan))[sel] if "teff" in errs else None
        yerr = errs.get("logg", np.full(m, np.nan))[sel] if "logg" in errs else None
        if xerr is not None:
            xerr = np.where(np.isfinite(xerr), xerr, 0.0)
        if yerr is not None:
            yerr = np.where(np.isfinite(yerr), yerr, 0.0)
        _errorbars(kiel, teff[sel], logg[sel], xerr, yerr, style, f"{style['name']} ({sel.sum()})")
    if drawn_bad.any():
        kiel.scatter(
            teff[drawn_bad],
            logg[drawn_bad],
            marker="x",
            c="tab:red",
            s=36,
            label=f"flagged bad ({drawn_bad.sum()})",
            zorder=3,
        )
    if identifiers is not None and (good | drawn_bad).sum() <= 40:
        for i in np.flatnonzero(good | drawn_bad):
            if identifiers[i]:
                kiel.annotate(
                    str(identifiers[i]),
                    (teff[i], logg[i]),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=6.5,
                    color="0.25",
                )
    kiel.invert_xaxis()
    kiel.invert_yaxis()
    kiel.set_xlabel(RUN_LABELS["teff"])
    kiel.set_ylabel(RUN_LABELS["logg"])
    kiel.legend(fontsize=8, loc="upper left")
    kiel.grid(alpha=0.3)
    present = [k for k in INSTRUMENT_STYLE if (good & (inst == k)).any()]
    for k, name in enumerate(shown):
        ax = fig.add_subplot(grid[k % 2, 1 + k // 2])
        groups = [data[name][good & (inst == key)] for key in present]
        groups = [g[np.isfinite(g)] for g in groups]
        total = sum(g.size for g in groups)
        if total:
            every = np.concatenate(groups)
            bins = np.histogram_bin_edges(every, bins=max(4, min(25, total // 2)))
            ax.hist(
                groups,
                bins=bins,
                stacked=True,
                color=[INSTRUMENT_STYLE[p]["color"] for p in present],
                label=[INSTRUMENT_STYLE[p]["name"] for p in present],
                alpha=0.85,
            )
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(RUN_LABELS.get(name, name))
        ax.set_ylabel("spectra")
        if k == 0 and len(present) > 1:
            ax.legend(fontsize=7)
    n = int((good | drawn_bad).sum())
    heading = (title + ": " if title else "") + f"{n} results drawn ({int(drawn_bad.sum())} flagged bad)"
    if m > n:
        heading += f"; {m - n} without labels not drawn"
    fig.suptitle(heading, fontsize=10)
    return _save(fig, path)


def plot_summary(
    rows: Sequence[Mapping[str, object]],
    path: str | os.PathLike,
    title: str = "ZETA-PAYNE run summary",
) -> str:
    """A run's summary page: labels per instrument, flag counts, χ² distribution, timing.

    Parameters
    ----------
    rows : sequence of mapping
        Result rows with ``instrument``, the labels, ``rchi2``, ``result_flags``,
        ``t_elapsed`` [s] and ``created`` (datetime) where known.
    path : path-like
        Figure to write.
    title : str
        Figure title.
    """
    from matplotlib.ticker import MaxNLocator

    from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, ResultFlags

    def column(name: str) -> np.ndarray:
        return np.array([np.nan if r.get(name) is None else float(r[name]) for r in rows])

    inst = np.array([str(r.get("instrument") or "?") for r in rows], dtype=object)
    flags = np.array([int(r.get("result_flags") or 0) for r in rows], dtype=np.int64)
    bad = (flags & int(BAD_MASK)) != 0
    warn = (flags & int(WARN_MASK)) != 0
    fig = _figure(13, 8.5)
    grid = fig.add_gridspec(3, 4)
    present = [k for k in INSTRUMENT_STYLE if (inst == k).any()]
    for k, name in enumerate(("teff", "logg", "v_sini", "m_h")):
        ax = fig.add_subplot(grid[0, k])
        values = column(name)
        groups = [values[(inst == key) & ~bad & np.isfinite(values)] for key in present]
        if sum(g.size for g in groups):
            bins = np.histogram_bin_edges(np.concatenate(groups), bins=12)
            ax.hist(
                groups,
                bins=bins,
                stacked=True,
                color=[INSTRUMENT_STYLE[p]["color"] for p in present],
                label=[INSTRUMENT_STYLE[p]["name"] for p in present],
            )
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(RUN_LABELS[name])
        ax.set_ylabel("spectra (not bad)")
        if k == 0 and present:
            ax.legend(fontsize=7)
    counts = {b.name.lower(): int(((flags & int(b)) != 0).sum()) for b in ResultFlags}
    counts = {k: v for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v}
    ax = fig.add_subplot(grid[1:, :2])
    if counts:
        names = list(counts)[:16]
        colours = ["tab:red" if int(ResultFlags[n.upper()]) & int(BAD_MASK) else "tab:olive" for n in names]
        ax.barh(names[::-1], [counts[n] for n in names][::-1], color=colours[::-1])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("spectra with the flag (red: bad, olive: warning)")
    ax.set_title("result flags", fontsize=9)
    ax = fig.add_subplot(grid[1, 2:])
    rchi2 = column("rchi2")
    ok = np.isfinite(rchi2) & (rchi2 > 0)
    chi_bins = np.histogram_bin_edges(np.log10(rchi2[ok]), bins=15) if ok.any() else 15
    for key in present:
        sel = ok & (inst == key)
        if sel.any():
            ax.hist(
                np.log10(rchi2[sel]),
                bins=chi_bins,
                histtype="step",
                lw=1.5,
                color=INSTRUMENT_STYLE[key]["color"],
                label=INSTRUMENT_STYLE[key]["name"],
            )
    ax.axvline(0, c="k", lw=0.6, ls=":")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(r"$\log_{10}$ reduced $\chi^2$")
    ax.set_ylabel("spectra")
    if present:
        ax.legend(fontsize=7)
    ax = fig.add_subplot(grid[2, 2:])
    seconds = column("t_elapsed")
    timed = np.isfinite(seconds)
    time_bins = np.histogram_bin_edges(seconds[timed], bins=15) if timed.any() else 15
    for key in present:
        sel = timed & (inst == key)
        if sel.any():
            ax.hist(
                seconds[sel],
                bins=time_bins,
                histtype="step",
                lw=1.5,
                color=INSTRUMENT_STYLE[key]["color"],
                label=INSTRUMENT_STYLE[key]["name"],
            )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time per spectrum [s]")
    ax.set_ylabel("spectra")
    created = [r.get("created") for r in rows if hasattr(r.get("created"), "timestamp")]
    rate = ""
    if len(created) > 1:
        span = (max(created) - min(created)).total_seconds()
        if span > 0:
            rate = f"; {len(created) / span * 3600:,.0f} spectra/hour over {span / 60:.1f} min"
    finite_s = seconds[np.isfinite(seconds)]
    median = f"; median {np.median(finite_s):.2f} s per spectrum" if finite_s.size else ""
    per_inst = ", ".join(
        f"{INSTRUMENT_STYLE.get(k, {'name': k})['name']} {int((inst == k).sum())}" for k in present
    )
    fig.suptitle(
        f"{title}: {len(rows)} results ({per_inst}); {int(bad.sum())} bad, {int((warn & ~bad).sum())} "
        f"warning only{median}{rate}",
        fontsize=10,
    )
    return _save(fig, path)
