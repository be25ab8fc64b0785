"""``zeta-payne demo``: ingest the shipped demo spectra, fit them, compare with the truth.

The demo folder (default ``data/demo``) holds mwmStar files made from the forward model
(``data/demo/make_demo.py``), some corrupt on purpose, and ``truth.csv`` with one row per
spectrum: ``file, instrument, telescope``, the true labels, and the classifier
probabilities ``p_<class>`` (some spectra are routed to other pipelines).
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zeta_payne.astra import compat
from zeta_payne.astra.database import bound_database
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.ops.ingest import IngestReport, ingest_files, read_classification_table
from zeta_payne.astra.ops.qa import plot_result, plot_results, plot_summary
from zeta_payne.astra.ops.run import Progress, RunSummary, run_pending
from zeta_payne.astra.routing import Routing, routed_query
from zeta_payne.exceptions import ZetaPayneError
from zeta_payne.fitting.flags import flag_names

__all__ = ["DEMO_DATA_DIR", "DemoReport", "read_truth", "run_demo"]

log = logging.getLogger(__name__)

#: The shipped demo spectra (``data/demo`` of the repository).
DEMO_DATA_DIR: Path = Path(__file__).resolve().parents[4] / "data" / "demo"
#: Database file of the demo inside its output folder.
DEMO_DATABASE = "zeta-payne-demo.sqlite"

_LABELS = ("teff", "logg", "v_sini", "m_h", "v_rad")


@dataclass
class DemoReport:
    """What the demo did: ingestion, the run, the comparison table and the plots."""

    database: str
    ingest: IngestReport
    run: RunSummary
    table: list[dict[str, Any]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)



def _file_of(spectrum: Any) -> str:
    """The data product of a spectrum row (stand-in ``file_path``, else the model's path)."""
    return getattr(spectrum, "file_path", None) or spectrum.path

def read_truth(path: str | os.PathLike) -> dict[tuple[str, str], dict[str, Any]]:
    """``truth.csv`` as ``{(file, instrument): row}`` (numbers as floats)."""
    out = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            values: dict[str, Any] = {}
            for key, value in row.items():
                try:
                    values[key] = float(value)
                except (TypeError, ValueError):
                    values[key] = value
            out[(row["file"], row["instrument"])] = values
    return out


def _comparison(spectra: list[Any], truth: Mapping[tuple[str, str], Mapping[str, Any]], routing: Routing):
    from zeta_payne.astra import compat
    from zeta_payne.astra.convert import instrument_of

    version = compat.current_v_astra() // 1000
    rows = []
    for spectrum in sorted(spectra, key=lambda s: (instrument_of(s), os.path.basename(_file_of(s)))):
        instrument = instrument_of(spectrum)
        name = os.path.basename(_file_of(spectrum))
        true = truth.get((name, instrument), {})
        model = type(spectrum)
        routed = routed_query(model, routing).where(model.pk == spectrum.pk).exists()
        result = (
            ZetaPayne.select()
            .where(
                (ZetaPayne.spectrum_pk == spectrum.spectrum_pk) & (ZetaPayne.v_astra_major_minor == version)
            )
            .first()
        )
        row: dict[str, Any] = {"spectrum": name.replace(".fits", ""), "inst": instrument}
        for label in _LABELS:
            row[f"{label}_true"] = true.get(label, "")
            row[label] = "" if result is None or getattr(result, label) is None else getattr(result, label)
        if result is None:
            row["flags"] = "routed elsewhere" if not routed else "not fitted"
        else:
            names = flag_names(int(result.result_flags))
            row["flags"] = ",".join(names) if names else "ok"
        row["spectrum_pk"] = spectrum.spectrum_pk
        row["note"] = true.get("note", "")
        rows.append(row)
    return rows


def run_demo(
    output: str | os.PathLike = "zeta-payne-demo",
    data_dir: str | os.PathLike | None = None,
    bundles: Mapping[str, Any] | None = None,
    fit_options: Any = None,
    database: str | None = None,
    fresh: bool = False,
    plots: bool = True,
    progress: Progress | None = None,
) -> DemoReport:
    """Run the demo (see the module docstring).

    Parameters
    ----------
    output : path-like
        Folder for the database (unless ``database``), model-flux products and plots.
    data_dir : path-like, optional
        Demo spectra and ``truth.csv`` (default :data:`DEMO_DATA_DIR`).
    bundles : mapping, optional
        ``{instrument: bundle}`` (default: the shipped bundles).
    fit_options : FitOptions or dict, optional
        Overrides of the bundles' fit options.
    database : str, optional
        Database URL (default ``sqlite:///<output>/zeta-payne-demo.sqlite``).
    fresh : bool
        Start from an empty database and product folder.
    plots : bool
        Write the QA plots.
    progress : callable, optional
        Progress callback of :func:`zeta_payne.astra.ops.run.run_pending`.
    """
    out = Path(output)
    data = Path(data_dir) if data_dir else DEMO_DATA_DIR
    truth_path = data / "truth.csv"
    if not truth_path.is_file():
        raise ZetaPayneError(
            f"{truth_path}: no demo data. The demo spectra are made from the shipped bundles "
            "(python data/demo/make_demo.py); see data/demo/README.md"
        )
    if fresh:
        if database is None and (out / DEMO_DATABASE).exists():
            (out / DEMO_DATABASE).unlink()
        shutil.rmtree(out / "products", ignore_errors=True)
        shutil.rmtree(out / "mwm_astra", ignore_errors=True)
        shutil.rmtree(out / "plots", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    url = database or f"sqlite:///{(out / DEMO_DATABASE).resolve()}"
    files = sorted(str(p) for p in data.glob("*.fits"))
    truth = read_truth(truth_path)
    routing = Routing()
    with bound_database(url, create=True, inputs=True):
        ingest = ingest_files(
            files,
            classifications=read_classification_table(truth_path),
            product_root=(out / "mwm_astra") if compat.HAVE_ASTRA else None,
        )
        summary = run_pending(
            bundles=bundles,
            fit_options=fit_options,
            output_dir=str((out / "products").resolve()),
            routing=routing,
            progress=progress,
        )
        report = DemoReport(url, ingest, summary, _comparison(ingest.spectra, truth, routing))
        if plots:
            report.plots.extend(_plots(out / "plots", report.table, truth))
    return report


def _plots(folder: Path, table: list[dict[str, Any]], truth: Mapping[tuple[str, str], Any]) -> list[str]:
    written = []
    true_by_pk = {}
    for row in table:
        true = {k[: -len("_true")]: v for k, v in row.items() if k.endswith("_true") and v != ""}
        true_by_pk[row["spectrum_pk"]] = true
    try:
        written.append(plot_results(folder / "kiel-and-histograms.png", truth=true_by_pk))
        written.append(plot_summary(folder / "run-summary.png"))
    except Exception as exc:  # plots are a convenience: never fail the demo for them
        log.warning("run plot failed: %s", exc)
    for row in table:
        if row["flags"] in ("routed elsewhere", "not fitted") or row["teff"] == "":
            continue
        try:
            written.append(
                plot_result(
                    folder / f"fit-{row['spectrum']}-{row['inst']}.png", spectrum_pk=row["spectrum_pk"]
                )
            )
        except Exception as exc:
            log.info("no fit plot for %s: %s", row["spectrum"], exc)
    return written
