"""What is pending and what is done, per instrument, spectrum model and bundle version."""

from __future__ import annotations

from typing import Any

from peewee import fn

from zeta_payne.astra import compat
from zeta_payne.astra.database import present_models
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.pipeline import PIPELINES
from zeta_payne.astra.routing import Routing, pending_query, routed_query

__all__ = ["pending_table", "results_table"]


def pending_table(
    routing: Routing | None = None, bundles: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Per instrument and spectrum model: spectra, routed, pending (for the chosen bundle).

    ``pending`` is ``None`` when the instrument's bundle cannot be loaded.
    """
    routing = routing or Routing()
    rows = []
    for instrument, klass in PIPELINES.items():
        try:
            bundle = klass((bundles or {}).get(instrument), output_dir=None).bundle
        except Exception:  # no bundle: pending cannot be told
            bundle = None
        for model in present_models(klass.models):
            total = model.select().count()
            if not total:
                continue
            rows.append(
                {
                    "instrument": instrument,
                    "model": model.__name__,
                    "spectra": total,
                    "routed": routed_query(model, routing).count(),
                    "pending": None if bundle is None else pending_query(model, bundle, routing).count(),
                    "bundle": None if bundle is None else f"{bundle.name}@{bundle.version}",
                }
            )
    return rows


def results_table() -> list[dict[str, Any]]:
    """Result rows per instrument, bundle name and version, and ASTRA version: done, bad, warn."""
    z = ZetaPayne
    query = (
        z.select(
            z.instrument,
            z.bundle_name,
            z.bundle_version,
            z.v_astra,
            fn.COUNT(z.task_pk).alias("done"),
            fn.SUM(z.flag_bad.cast("INTEGER")).alias("bad"),
            fn.SUM(z.flag_warn.cast("INTEGER")).alias("warn"),
        )
        .group_by(z.instrument, z.bundle_name, z.bundle_version, z.v_astra)
        .order_by(z.instrument, z.bundle_name, z.bundle_version, z.v_astra)
        .dicts()
    )
    out = []
    for row in query:
        row["v_astra"] = compat.version_integer_to_string(row["v_astra"])
        row["bad"] = int(row["bad"] or 0)
        row["warn"] = int(row["warn"] or 0)
        out.append(row)
    return out
