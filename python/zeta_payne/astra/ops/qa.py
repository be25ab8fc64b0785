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

__all__ = ["plot_result", "plot_results"]


def _result(task_pk: int | None, spectrum_pk: int | None) -> ZetaPayne:
    query = ZetaPayne.select().order_by(ZetaPayne.task_pk.desc())
    if task_pk is not None:
        query = query.where(ZetaPayne.task_pk == task_pk)
    elif spectrum_pk is not None:
        query = query.where(ZetaPayne.spectrum_pk == spectrum_pk)
    else:
        raise ValueError("give task_pk or spectrum_pk")
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

    title = (
        f"spectrum {row.spectrum_pk} ({row.instrument}, {row.bundle_name}@{row.bundle_version}): "
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
    )


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
        raise ZetaPayneError("no results to plot")
    labels = {name: np.array([np.nan if r[name] is None else r[name] for r in rows]) for name in RUN_LABELS}
    bad = np.array([bool(int(r["result_flags"] or 0) & int(BAD_MASK)) for r in rows])
    true = None
    if truth:
        true = {
            name: np.array([truth.get(r["spectrum_pk"], {}).get(name, np.nan) for r in rows])
            for name in RUN_LABELS
        }
    title = f"ZETA-PAYNE: {len(rows)} results" + (f" ({instrument})" if instrument else "")
    return plot_run(labels, path, truth=true, bad=bad, title=title)
