"""Fitting the pending spectra of the database (the ``zeta-payne run`` and demo workhorse)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zeta_payne.astra.database import present_models
from zeta_payne.astra.pipeline import PIPELINES
from zeta_payne.astra.products import DEFAULT_PRODUCT_DIR
from zeta_payne.astra.queue.summary import RowCounts
from zeta_payne.astra.routing import Routing, check_routing, pending_query
from zeta_payne.astra.tasks import zeta_payne_apogee, zeta_payne_boss

__all__ = ["RunSummary", "run_pending"]

log = logging.getLogger(__name__)

_TASKS = {"boss": zeta_payne_boss, "apogee": zeta_payne_apogee}

#: ``progress(label, done, total)`` after each spectrum (``done == 0`` announces a model).
Progress = Callable[[str, int, int], None]


@dataclass
class RunSummary(RowCounts):
    """Counts of one run (see :class:`RowCounts`) and, on request, the rows themselves."""

    rows: list[Any] = field(default_factory=list)


def run_pending(
    instruments: Sequence[str] = ("boss", "apogee"),
    bundles: Mapping[str, Any] | None = None,
    fit_options: Any = None,
    device: str = "cpu",
    output_dir: str | None = DEFAULT_PRODUCT_DIR,
    routing: Routing | None = None,
    reprocess: bool = False,
    limit: int | None = None,
    chunk_size: int | None = None,
    batch_size: int = 100,
    progress: Progress | None = None,
    keep_rows: bool = False,
) -> RunSummary:
    """Fit every pending spectrum of the bound database, instrument by instrument.

    Parameters
    ----------
    instruments : sequence of str
        ``"boss"`` and/or ``"apogee"``.
    bundles : mapping, optional
        ``{instrument: bundle spec or Bundle}`` (default: the default bundles).
    fit_options, device, output_dir, chunk_size :
        As the task functions' (``chunk_size`` ``None``: chosen from the device's memory).
    routing : Routing, optional
        Routing rule (default :class:`Routing()`).
    reprocess : bool
        Refit every routed spectrum.
    limit : int, optional
        At most this many spectra per instrument.
    batch_size : int
        Results written per database transaction.
    progress : callable, optional
        See :data:`Progress`.
    keep_rows : bool
        Keep the written rows in the summary.

    An instrument whose bundle cannot be loaded is skipped and reported in ``errors``.

    Raises
    ------
    RoutingDataMissing
        Routing is on and there is no routing data at all.
    """
    routing = routing or Routing()
    check_routing(routing)
    summary = RunSummary()
    for instrument in instruments:
        pipeline = PIPELINES[instrument]((bundles or {}).get(instrument), fit_options, device, output_dir)
        error = pipeline.prepare()
        if error is not None:
            summary.errors[instrument] = error
            continue
        remaining = limit
        for model in present_models(pipeline.models):
            if remaining is not None and remaining <= 0:
                break
            spectra = list(pending_query(model, pipeline.bundle, routing, reprocess, limit=remaining))
            counts = summary.add(instrument, model.__name__)
            if not spectra:
                continue
            if remaining is not None:
                remaining -= len(spectra)
            label = f"{instrument} {model.__name__}"
            if progress:
                progress(label, 0, len(spectra))
            rows = _TASKS[instrument](
                spectra,
                bundle=pipeline.bundle,
                fit_options=fit_options,
                device=device,
                output_dir=output_dir,
                route=False,
                chunk_size=chunk_size,
                batch_size=batch_size,
            )
            for row in rows:
                summary.add(instrument, model.__name__, [row])
                if keep_rows:
                    summary.rows.append(row)
                if progress:
                    progress(label, counts["fitted"], len(spectra))
    return summary
