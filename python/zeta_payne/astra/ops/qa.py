"""QA plots of database results (the data come from here, the drawing from :mod:`zeta_payne.qa`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.ops.export import result_rows
from zeta_payne.astra.products import read_model_flux
from zeta_payne.exceptions import ZetaPayneError
from zeta_payne.fitting.flags import BAD_MASK, flag_names
from zeta_payne.qa.plots import RUN_LABELS, plot_fit, plot_run
from zeta_payne.qa.plots import plot_summary as draw_summary

__all__ = ["plot_result", "plot_results", "plot_summary"]


def _result(task_pk: int | None, spectrum_pk: int | None) -> ZetaPayne:
    query = ZetaPayne.select().order_by(ZetaPayne.task_pk.desc())
    if task_pk is not None:
        query = query.where(ZetaPayne.task_pk == task_pk)
    elif spectrum_pk is not None:
        query = query.where(ZetaPayne.spectrum_pk == spectrum_pk)
    else:
        raise ZetaPayneError("give task_pk or spectrum_pk")
    row = query.first()
    if row is None:
        raise ZetaPayneError(f"no result for task_pk={task_pk} spectrum_pk={spectrum_pk}")
    return row


def plot_result(path: str | os.PathLike, task_pk: int | None = None, spectrum_pk: int | None = None) -> str:
    """Fit overlay with residuals for one result (by ``task_pk``, or the latest of ``spectrum_pk``)."""
    row = _result(task_pk, spectrum_pk)
    if not row.model_flux_path:
        raise ZetaPayneError(
            f"result {row.task_pk} (spectrum {row.spectrum_pk}) has no model-flux product "
            f"(flags: {','.join(flag_names(int(row.result_flags))) or 'none'})"
        )
    product = read_model_flux(row.model_flux_path)

    def fmt(value: float | None, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    star = _sdss_id(row.source_pk)
    who = f"sdss_id {star}" if star is not None else f"spectrum {row.spectrum_pk}"
    title = (
        f"{who} — {str(row.instrument).upper()} ({row.bundle_name}@{row.bundle_version}): "
        f"Teff={fmt(row.teff, '.0f')} K, log g={fmt(row.logg, '.2f')}, "
        f"v sin i={fmt(row.v_sini, '.0f')} km/s, "
        f"[M/H]={fmt(row.m_h, '+.2f')}, v_rad={fmt(row.v_rad, '.1f')} km/s, rχ²={fmt(row.rchi2, '.2f')}"
    )
    names = flag_names(int(row.result_flags))
    if names:
        title += "\nflags: " + ", ".join(names)
    return plot_fit(
        product["wavelength"],
        product["flux"],
        product["ivar"],
        product["model_flux"],
        path,
        used=product.get("used"),
        title=title,
        instrument=row.instrument,
    )


def _sdss_id(source_pk: int | None) -> int | None:
    from zeta_payne.astra import compat

    if source_pk is None:
        return None
    source = compat.Source.select(compat.Source.sdss_id).where(compat.Source.pk == source_pk).first()
    return None if source is None else source.sdss_id


def plot_results(
    path: str | os.PathLike,
    instrument: str | None = None,
    truth: Mapping[int, Mapping[str, float]] | None = None,
) -> str:
    """Kiel diagram and label histograms of the current results.

    Parameters
    ----------
    path : path-like
        PNG to write.
    instrument : str, optional
        Only this instrument.
    truth : mapping, optional
        ``{spectrum_pk: {label: true value}}`` drawn for comparison.
    """
    _, rows = result_rows(instrument)
    if not rows:
        raise ZetaPayneError("no results to plot (run `zeta-payne db run` first)")

    def values(name: str) -> np.ndarray:
        return np.array([np.nan if r.get(name) is None else r[name] for r in rows], dtype=float)

    labels = {name: values(name) for name in RUN_LABELS}
    bad = np.array([bool(int(r["result_flags"] or 0) & int(BAD_MASK)) for r in rows])
    true = None
    if truth:
        true = {
            name: np.array([truth.get(r["spectrum_pk"], {}).get(name, np.nan) for r in rows])
            for name in RUN_LABELS
        }
    return plot_run(
        labels,
        path,
        truth=true,
        bad=bad,
        title="ZETA-PAYNE" + (f" ({instrument})" if instrument else ""),
        instruments=[str(r.get("instrument") or "") for r in rows],
        errors={"teff": values("e_teff"), "logg": values("e_logg")},
        identifiers=["" if r.get("sdss_id") is None else str(r["sdss_id"]) for r in rows],
    )


def plot_summary(path: str | os.PathLike) -> str:
    """The run's summary page (:func:`zeta_payne.qa.plots.plot_summary`) of the current results."""
    _, rows = result_rows()
    if not rows:
        raise ZetaPayneError("no results to summarise (run `zeta-payne db run` first)")
    return draw_summary(rows, path)
