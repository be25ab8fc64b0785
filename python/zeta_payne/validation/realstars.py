"""The real-star benchmark: fit observed library spectra with literature labels, report raw offsets.

The sample (``data/real/``, made by ``data/real/make_real.py``) holds flux-calibrated spectra
of hot stars from empirical libraries in the ``zeta-payne fit`` .npz format and a table
``stars.csv`` of their literature labels. :func:`run_benchmark` fits them with one bundle
and writes to a folder:

* ``results.csv`` — one row per star: reference and fitted labels, offsets, flags, class;
* ``bins.csv`` — per Teff bin and sample (in-box, out-of-box): n, median offset and robust
  scatter (1.4826 × MAD) of every label;
* ``flags.csv`` — per group (in-box, each out-of-box reason): how often the fit was flagged
  and how often it went wrong silently;
* ``report.md`` and ``worst_*.png`` — the tables, the truth source of every reference label,
  what the comparison cannot see, and the worst cases plotted.

Nothing is calibrated on these stars: offsets are raw (fit − reference).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeta_payne.environment import machine, package_versions
from zeta_payne.validation.realstars_classes import (
    BOSS_BOX,
    EDGE_MARGIN,
    SCORED_SETS,
    Classification,
    classify,
    scored_set,
    spectral_type_teff,
)
from zeta_payne.validation.realstars_stats import (
    COMPARED,
    TEFF_BINS,
    WRONG,
    bin_statistics,
    detection_statistics,
    flag_columns,
    flag_statistics,
    robust_scatter,
)
from zeta_payne.validation.realstars_tuning import TUNING_GRID, rediagnose, reflag, tune_out_of_box

__all__ = [
    "BOSS_BOX",
    "COMPARED",
    "SCORED_SETS",
    "TUNING_GRID",
    "WRONG",
    "Classification",
    "RealStar",
    "TEFF_BINS",
    "EDGE_MARGIN",
    "bin_statistics",
    "classify",
    "detection_statistics",
    "scored_set",
    "spectral_type_teff",
    "tune_out_of_box",
    "flag_statistics",
    "fit_sample",
    "load_models",
    "load_sample",
    "read_results",
    "rediagnose",
    "reflag",
    "robust_scatter",
    "run_benchmark",
    "write_outputs",
]

log = logging.getLogger(__name__)

@dataclass
class RealStar:
    """One star of the sample: its spectrum and its reference row of ``stars.csv``."""

    spectrum: Any
    reference: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.reference["name"])


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def sample_blue_limit(folder: str | os.PathLike) -> float | None:
    """The bluest finite-flux wavelength [Å, vacuum] of a real-star sample's spectra (its
    ``make_real.py --min-wave``), or None where the folder holds no readable spectra."""
    import numpy as np

    lowest = []
    try:
        names = sorted(f for f in os.listdir(folder) if f.endswith(".npz"))
        for fname in names:
            with np.load(os.path.join(folder, fname), allow_pickle=False) as data:
                flux = np.asarray(data["flux"])  # (N_star, N_pix) or (N_pix,)
                lam = np.broadcast_to(np.asarray(data["wavelength"]), flux.shape)  # shared or per star
                good = np.isfinite(flux) & (flux != 0) & (lam > 0)
                if good.any():
                    lowest.append(float(lam[good].min()))
    except (OSError, ValueError, KeyError):
        return None
    return min(lowest) if lowest else None


def load_sample(folder: str | os.PathLike, names: Iterable[str] | None = None) -> list[RealStar]:
    """Read ``stars.csv`` and the .npz files of a real-star sample folder.

    Parameters
    ----------
    folder : path-like
        ``data/real`` or a folder of the same layout.
    names : iterable of str, optional
        Keep only these stars (``name`` column), in this order.

    Returns
    -------
    list of RealStar
    """
    from zeta_payne.io.npz import read_npz

    folder = os.fspath(folder)
    with open(os.path.join(folder, "stars.csv"), newline="") as fh:
        table = {row["name"]: row for row in csv.DictReader(fh)}
    spectra = {}
    for fname in sorted(os.listdir(folder)):
        if fname.endswith(".npz"):
            for s in read_npz(os.path.join(folder, fname)):
                spectra[s.meta["name"]] = s
    order = list(names) if names is not None else [n for n in table if n in spectra]
    out = []
    for name in order:
        if name not in table or name not in spectra:
            raise KeyError(f"{name}: not in {folder}")
        row = dict(table[name])
        for key in ("teff_ref", "logg_ref", "m_h_ref", "v_rad_ref", "snr_model"):
            row[key] = _float(row.get(key))
        out.append(RealStar(spectra[name], row))
    return out


def _fit_rows(stars: list[RealStar], bundle: Any, device: str = "cpu") -> tuple[list[dict[str, Any]], dict]:
    """Fit every star with one bundle: (result rows, {name: model flux})."""
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import merge_options

    box = {
        spec.name: (spec.lower, spec.upper)
        for spec in bundle.manifest.labels
        if spec.name in ("teff", "logg", "m_h")
    }
    floor = bundle.manifest.fit_defaults.get("logg_floor") or ()
    fitters: dict[str, Any] = {}
    rows, models = [], {}
    for i, star in enumerate(stars):
        spectrum = star.spectrum
        frame = spectrum.frame or "observed"
        if frame not in fitters:
            options = merge_options(bundle.manifest.fit_defaults, {}, frame=frame)
            fitters[frame] = Fitter(bundle, options, device=device)
        t0 = time.perf_counter()
        result = fitters[frame].fit(spectrum)
        ref = star.reference
        cls = classify(ref["teff_ref"], ref["logg_ref"], ref["m_h_ref"], ref.get("spectral_type", ""), box,
                       floor)
        fit = result.as_row()
        row: dict[str, Any] = {
            "name": star.name,
            "library": ref.get("library", ""),
            "spectral_type": ref.get("spectral_type", ""),
            "teff_class": cls.teff_class,
            "in_box": int(cls.in_box),
            "out_of_box": ";".join(cls.reasons),
            "scored": scored_set(ref["teff_ref"], ref["logg_ref"], ref["m_h_ref"], cls.reasons, box,
                                 floor=floor),
            "teff_spt": spectral_type_teff(ref.get("spectral_type", "")),
            "teff_ref": ref["teff_ref"],
            "logg_ref": ref["logg_ref"],
            "m_h_ref": ref["m_h_ref"],
            "v_rad_ref": ref["v_rad_ref"],
            "snr_model": ref["snr_model"],
            "frame": frame,
        }
        for label in ("teff", "logg", "v_sini", "m_h", "v_micro", "v_rad"):
            row[label] = fit.get(label, float("nan"))
            row[f"e_{label}"] = fit.get(f"e_{label}", float("nan"))
        for label, ref_col, _ in COMPARED:
            row[f"d_{label}"] = row[label] - row[ref_col]
        flags = int(fit.get("result_flags", 0))
        row.update(
            rchi2=fit.get("rchi2", float("nan")),
            edge_chi2_v_micro=fit.get("edge_chi2_v_micro", float("nan")),
            snr=fit.get("snr", float("nan")),
            result_flags=flags,
            flag_names=fit.get("flag_names", ""),
            seconds=round(time.perf_counter() - t0, 2),
        )
        flag_columns(row)
        rows.append(row)
        models[star.name] = (
            None if result.model_flux is None else np.asarray(result.model_flux, dtype=np.float32)
        )
        log.info("%d/%d %s: teff %.0f (ref %.0f)", i + 1, len(stars), star.name, row["teff"], row["teff_ref"])
    return rows, models


_WORKER: dict[str, Any] = {}


def _init_worker(bundle_path: str, sample: str, device: str) -> None:
    """Pool initializer: one bundle and the sample per worker process, one thread each."""
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.threads import pin_threads

    pin_threads(1)
    _WORKER.update(
        bundle=find_bundle(bundle_path), stars={s.name: s for s in load_sample(sample)}, device=device
    )


def _fit_named(name: str) -> tuple[dict[str, Any], Any]:
    rows, models = _fit_rows([_WORKER["stars"][name]], _WORKER["bundle"], device=_WORKER["device"])
    return rows[0], models[name]


def fit_sample(
    bundle: Any,
    sample: str | os.PathLike,
    names: Sequence[str],
    processes: int = 1,
    device: str = "cpu",
) -> tuple[list[dict[str, Any]], dict]:
    """Fit the named stars of a sample, in ``processes`` worker processes (1: in this one).

    Returns the result rows in the order of ``names`` and {name: model flux}.
    """
    if processes <= 1 or len(names) < 2:
        return _fit_rows(load_sample(sample, names), bundle, device=device)
    import multiprocessing

    by_name: dict[str, dict[str, Any]] = {}
    models: dict[str, Any] = {}
    init = (os.fspath(bundle.path), os.fspath(sample), device)
    with multiprocessing.get_context("spawn").Pool(
        processes, initializer=_init_worker, initargs=init
    ) as pool:
        for row, model in pool.imap_unordered(_fit_named, list(names)):
            by_name[row["name"]] = row
            models[row["name"]] = model
            log.info(
                "%d/%d %s: teff %.0f (ref %.0f), %.1f s",
                len(by_name),
                len(names),
                row["name"],
                row["teff"],
                row["teff_ref"],
                row["seconds"],
            )
    return [by_name[n] for n in names], {n: models[n] for n in names}


RESULT_COLUMNS = [
    "name",
    "library",
    "spectral_type",
    "teff_class",
    "in_box",
    "out_of_box",
    "scored",
    "teff_spt",
    "teff_ref",
    "logg_ref",
    "m_h_ref",
    "v_rad_ref",
    "teff",
    "e_teff",
    "logg",
    "e_logg",
    "v_sini",
    "e_v_sini",
    "m_h",
    "e_m_h",
    "v_micro",
    "e_v_micro",
    "v_rad",
    "e_v_rad",
    "d_teff",
    "d_logg",
    "d_m_h",
    "d_v_rad",
    "rchi2",
    "edge_chi2_v_micro",
    "snr",
    "snr_model",
    "frame",
    "result_flags",
    "flag_names",
    "seconds",
]


def _write_csv(path: str, rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    columns = list(columns or rows[0].keys()) if rows else list(columns or [])

    def fmt(v: Any) -> Any:
        if isinstance(v, float):
            return "" if not np.isfinite(v) else f"{v:.6g}"
        return v

    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: fmt(r.get(k, "")) for k in columns})


def _worst(rows: list[dict[str, Any]], in_box: bool, n: int) -> list[dict[str, Any]]:
    sel = [r for r in rows if bool(r["in_box"]) == in_box and np.isfinite(r["d_teff"])]
    return sorted(sel, key=lambda r: -abs(r["d_teff"]) / r["teff_ref"])[:n]


def _plot_worst(
    path: str, cases: list[dict[str, Any]], stars: dict[str, RealStar], models: dict, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not cases:
        return
    fig, axes = plt.subplots(
        2 * len(cases), 1, figsize=(11, 3.1 * len(cases)), gridspec_kw={"height_ratios": [3, 1] * len(cases)}
    )
    for k, r in enumerate(cases):
        ax, axr = axes[2 * k], axes[2 * k + 1]
        s = stars[r["name"]].spectrum
        model = models.get(r["name"])
        ok = s.usable()
        lam = s.wavelength
        # NaN where a pixel is not used, so that masked bands show as gaps
        ax.plot(lam, np.where(ok, s.flux, np.nan), color="k", lw=0.6, label="observed")
        if model is not None and np.size(model) == lam.size:
            m = np.isfinite(model) & ok
            ax.plot(lam, np.where(m, model, np.nan), color="tab:red", lw=0.6, label="best fit")
            sigma = 1.0 / np.sqrt(np.where(s.ivar > 0, s.ivar, np.nan))
            axr.plot(lam, np.where(m, (s.flux - model) / sigma, np.nan), color="tab:blue", lw=0.5)
        axr.axhline(0, color="grey", lw=0.5)
        axr.set_ylabel("(obs−fit)/σ", fontsize=8)
        ax.set_title(
            f"{r['name']} ({r['spectral_type']}; {r['out_of_box'] or 'in box'}): "
            f"ref Teff {r['teff_ref']:.0f} logg {r['logg_ref']:.2f} [Fe/H] {r['m_h_ref']:.2f} → "
            f"fit {r['teff']:.0f} {r['logg']:.2f} {r['m_h']:.2f}, v sin i {r['v_sini']:.0f}, "
            f"RV {r['v_rad']:.1f}; rχ² {r['rchi2']:.2f}; flags: {r['flag_names'] or '—'}",
            fontsize=7.5,
        )
        ax.tick_params(labelsize=7)
        axr.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("vacuum wavelength [Å]")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.99))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_offsets(path: str, rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    panels = [
        ("d_teff_pct", "ΔTeff [%]"),
        ("d_logg", "Δlog g"),
        ("d_m_h", "Δ[M/H]"),
        ("d_v_rad", "ΔRV [km/s]"),
    ]
    for ax, (key, label) in zip(axes.ravel(), panels, strict=False):
        for in_box, color, name in ((True, "tab:blue", "in box"), (False, "tab:orange", "out of box")):
            sel = [r for r in rows if bool(r["in_box"]) == in_box and not r["bad"]]
            x = np.array([r["teff_ref"] for r in sel])
            if key == "d_teff_pct":
                y = np.array([100 * r["d_teff"] / r["teff_ref"] for r in sel])
            else:
                y = np.array([r[key] for r in sel])
            ax.scatter(x, y, s=9, color=color, alpha=0.7, label=name)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xscale("log")
        ax.set_ylabel(label)
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].set_ylim(-1.5, 1.5)
    axes[1, 0].set_ylim(-2.5, 1.5)
    axes[1, 1].set_ylim(-60, 60)
    axes[0, 0].set_ylim(-40, 60)
    for ax in axes[1]:
        ax.set_xlabel("reference Teff [K]")
    fig.suptitle("fit − reference vs reference Teff (BAD-flagged fits left out)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a ``results.csv`` written by :func:`run_benchmark` back into result rows."""
    text = {"name", "library", "spectral_type", "teff_class", "out_of_box", "scored", "frame", "flag_names"}
    rows = []
    with open(path, newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if key in text:
                    row[key] = value or ""
                elif key in ("in_box", "result_flags"):
                    row[key] = int(value)
                else:
                    row[key] = _float(value)
            if not row.get("scored"):  # written before the scored sets existed
                reasons = tuple(x for x in row["out_of_box"].split(";") if x)
                row["scored"] = scored_set(row["teff_ref"], row["logg_ref"], row["m_h_ref"], reasons)
            if "teff_spt" not in row:
                row["teff_spt"] = spectral_type_teff(row["spectral_type"])
            flag_columns(row)
            rows.append(row)
    return rows


def _save_models(path: str, models: dict) -> None:
    arrays = {
        f"m{i}": (m if m is not None else np.zeros(0, np.float32)) for i, m in enumerate(models.values())
    }
    np.savez_compressed(path, name=np.array(list(models), dtype=str), **arrays)


def load_models(path: str | os.PathLike) -> dict:
    """``{name: model flux}`` from a run's ``models.npz`` (empty when there is none)."""
    if not os.path.isfile(path):
        return {}
    with np.load(path, allow_pickle=False) as npz:
        return {str(n): npz[f"m{i}"] for i, n in enumerate(npz["name"])}


def write_outputs(
    rows: list[dict[str, Any]],
    models: dict,
    sample: str | os.PathLike,
    output: str | os.PathLike,
    bundle: Any,
    n_worst: int = 6,
    plots: bool = True,
    seconds: float = float("nan"),
    processes: int = 1,
    environment: dict | None = None,
    machine: dict | None = None,
) -> dict[str, Any]:
    """Write the tables, the figures and ``report.md`` from fitted rows (see the module doc).

    ``seconds``, ``processes``, ``environment`` (:func:`zeta_payne.environment.package_versions`)
    and ``machine`` (:func:`zeta_payne.environment.machine`) describe the run that fitted the
    rows (``run.json``)."""
    from zeta_payne.validation.realstars_report import write_report

    output = os.fspath(output)
    bins = bin_statistics(rows)
    flags = flag_statistics(rows)
    detection = detection_statistics(rows)
    _write_csv(os.path.join(output, "results.csv"), rows, RESULT_COLUMNS)
    _write_csv(os.path.join(output, "bins.csv"), bins)
    _write_csv(os.path.join(output, "flags.csv"), flags)
    _write_csv(os.path.join(output, "detection.csv"), detection)
    worst = {"in": _worst(rows, True, n_worst), "out": _worst(rows, False, n_worst)}
    if plots:
        wanted = [r["name"] for r in worst["in"] + worst["out"]]
        by_name = {s.name: s for s in load_sample(sample, wanted)}
        _plot_offsets(os.path.join(output, "offsets.png"), rows)
        _plot_worst(
            os.path.join(output, "worst_in_box.png"), worst["in"], by_name, models, "worst in-box fits"
        )
        _plot_worst(
            os.path.join(output, "worst_out_of_box.png"),
            worst["out"],
            by_name,
            models,
            "worst out-of-box fits",
        )
    summary = {
        "rows": rows,
        "bins": bins,
        "flags": flags,
        "detection": detection,
        "seconds": seconds,
        "processes": processes,
        "environment": environment,
        "machine": machine,
        "worst": worst,
        "sample": os.fspath(sample),
        "sample_blue_limit": sample_blue_limit(sample),
        "output": output,
    }
    write_report(os.path.join(output, "report.md"), bundle, summary, plots=plots)
    return summary


def run_benchmark(
    bundle: Any,
    sample: str | os.PathLike,
    output: str | os.PathLike,
    names: Iterable[str] | None = None,
    n_worst: int = 6,
    plots: bool = True,
    device: str = "cpu",
    processes: int = 1,
    report_only: bool = False,
) -> dict[str, Any]:
    """Fit the real-star sample with ``bundle`` and write the benchmark to ``output``.

    Parameters
    ----------
    bundle : Bundle
        The bundle (``zeta_payne.bundles``) to test.
    sample : path-like
        The sample folder (``data/real``).
    output : path-like
        Folder to write (created).
    names : iterable of str, optional
        Fit only these stars.
    n_worst : int
        Worst cases (by |ΔTeff|/Teff) plotted for the in-box and for the out-of-box stars.
    plots : bool
        Write the PNG figures.
    device : str
        Torch device of the fits.
    processes : int
        Worker processes of the fits.
    report_only : bool
        Do not fit: read ``results.csv`` (and ``models.npz``, for the plots) from ``output``
        and write the tables, figures and report again (the run's time from ``run.json``).

    Returns
    -------
    dict
        ``rows`` (results), ``bins``, ``flags``, ``worst`` and ``seconds``.
    """
    output = os.fspath(output)
    os.makedirs(output, exist_ok=True)
    run_file = os.path.join(output, "run.json")
    if report_only:
        rows = read_results(os.path.join(output, "results.csv"))
        models = load_models(os.path.join(output, "models.npz"))
        run = {"seconds": float("nan"), "processes": 1}
        if os.path.isfile(run_file):
            with open(run_file) as fh:
                run.update(json.load(fh))
        return write_outputs(rows, models, sample, output, bundle, n_worst=n_worst, plots=plots, **run)
    wanted = list(names) if names is not None else [s.name for s in load_sample(sample)]
    t0 = time.perf_counter()
    rows, models = fit_sample(bundle, sample, wanted, processes=processes, device=device)
    seconds = time.perf_counter() - t0
    _save_models(os.path.join(output, "models.npz"), models)
    run = {"seconds": round(seconds, 1), "processes": processes, "environment": package_versions(),
           "machine": machine()}
    with open(run_file, "w") as fh:
        json.dump(run, fh)
    return write_outputs(rows, models, sample, output, bundle, n_worst=n_worst, plots=plots, **run)
