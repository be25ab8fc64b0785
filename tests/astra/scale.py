"""Many spectra for scale tests and the soak benchmark (``benchmarks/soak.py``).

A few distinct mwmStar files are written and ingested; further spectrum rows point at the
same files (each with its own ``Spectrum`` registry row and ``spectrum_pk``), so thousands
of spectra cost a few files. With real ASTRA, whose rows find their file by a path template
and must differ in their unique columns, each further row gets its own ``sdss_id`` and a
link to the file at that row's path. Every spectrum is classified as ``oba`` (routed).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from tests.astra.fixtures import spectrum_row, write_star

__all__ = ["CHEAP", "populate"]

#: Fit options for bookkeeping runs (labels not checked; a fit takes a fraction of a second).
CHEAP: dict[str, dict[str, Any]] = {
    "boss": {
        "presearch_points": 64,
        "compute_uncertainties": False,
        "n_chebyshev": 4,
        "wavelength_range": (5000.0, 5600.0),
    },
    "apogee": {
        "presearch_points": 64,
        "compute_uncertainties": False,
        "n_chebyshev": 4,
        "wavelength_range": (15200.0, 15500.0),
    },
}


def write_files(folder: Path, bundles: dict[str, Any], n_files: int = 4) -> list[Path]:
    """``n_files`` mwmStar files per instrument in ``bundles``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for instrument, bundle in sorted(bundles.items()):
        for i in range(n_files):
            sdss_id = next(_FILE_IDS)  # unique: real ASTRA finds a file by its sdss_id
            row = spectrum_row(bundle, instrument, seed=i % 4, telescope="apo25m")
            paths.append(write_star(folder, sdss_id, [row]))
    return paths


_IDS = itertools.count(70_000_000)
_FILE_IDS = itertools.count(10_000)


def _link_like(template: Any, row: Any) -> None:
    """Make ``row``'s templated path a link to ``template``'s file (real ASTRA models)."""
    from zeta_payne.io.sdss.paths import expand_path

    target = expand_path(row.path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.symlink(os.path.realpath(expand_path(template.path)), target)


def populate(folder: Path, bundles: dict[str, Any], n: dict[str, int], n_files: int = 4) -> dict[str, int]:
    """Register ``n[instrument]`` routed spectra per instrument in the bound database.

    Returns the number registered per instrument.
    """
    from zeta_payne.astra import compat
    from zeta_payne.astra.ops.ingest import class_probabilities, classify, ingest_files

    report = ingest_files(write_files(folder, bundles, n_files), chosen_class="oba")
    templates: dict[str, list[Any]] = {}
    for row in report.spectra:
        instrument = "boss" if "Boss" in type(row).__name__ else "apogee"
        templates.setdefault(instrument, []).append(row)
    registry = compat.Spectrum
    out = {}
    database = registry._meta.database
    for instrument, rows in templates.items():
        extra = max(0, n.get(instrument, 0) - len(rows))
        model = type(rows[0])
        skip = {"pk", "spectrum_pk"}
        with database.atomic():
            new = []
            for start in range(0, extra, 500):
                count = min(500, extra - start)
                pks = registry.insert_many([{"spectrum_flags": 0}] * count).returning(registry.pk).tuples()
                values = []
                for j, (pk,) in enumerate(pks.execute()):
                    template = rows[(start + j) % len(rows)]
                    data = {k: v for k, v in template.__data__.items() if k not in skip}
                    if "file_path" not in model._meta.fields:
                        data["sdss_id"] = next(_IDS)
                        _link_like(template, model(**data))
                    values.append({**data, "spectrum_pk": pk})
                model.insert_many(values).execute()
                new.extend(v["spectrum_pk"] for v in values)
            if new:
                added = list(model.select().where(model.spectrum_pk.in_(new)))
                for i in range(0, len(added), 500):
                    classify(added[i : i + 500], class_probabilities("oba"))
        out[instrument] = len(rows) + extra
    return out
