"""Out-of-box detection on synthesis truth: fit every stored truth point, keep what the detector sees.

The companion of the real-star benchmark (:mod:`zeta_payne.validation.realstars`) for the
out-of-box detector (:mod:`zeta_payne.fitting.outofbox`): each stored synthesis-truth point
(``data/truth/synth-truth-v1``, in and out of the bundle's box) is observed realistically
(:func:`zeta_payne.validation.observe.realistic_spectrum`) at one S/N, fitted with the
production fitter, and its row (true and fitted labels, flags) written to ``results.csv``; the
observed spectra and best models go to ``spectra.npz`` so that the detector's statistics can be
recomputed without fitting again (:func:`rediagnose`). Scoring uses the same sets as the
real-star benchmark (:func:`zeta_payne.validation.realstars.scored_set`).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zeta_payne.environment import machine, package_versions

__all__ = [
    "NP_LAMBDA",
    "detectability",
    "write_detectability_report",
    "select_points",
    "rediagnose",
    "reflag_synthetic",
    "run_synthetic",
    "read_synthetic",
    "scoring_box",
    "synthetic_detection",
    "write_synthetic_report",
    "run_environment",
]

log = logging.getLogger(__name__)

#: The non-centrality λ one out-of-box case needs for *any* test at ≤ 5 % false positives to
#: flag it ≥ 95 % of the time: two simple Gaussian hypotheses (the case's spectrum and the best
#: in-box model, known exactly — the most favourable case), power Φ(√λ − z₀.₉₅) ≥ 0.95 ⇔
#: √λ ≥ 2 z₀.₉₅ = 3.29.
NP_LAMBDA = (2.0 * 1.6448536269514722) ** 2


def run_synthetic(
    bundle: Any,
    truth: str | os.PathLike,
    output: str | os.PathLike,
    snr: float = 50.0,
    seed: int = 0,
    limit: int | None = None,
    noiseless: bool = False,
) -> list[dict[str, Any]]:
    """Fit one realistic observation of every stored truth point with ``bundle``.

    Parameters
    ----------
    bundle : Bundle
        The bundle under test (its instrument selects the truth spectra).
    truth : path-like
        Synthesis-truth folder (node-grid format with a ``manifest.json``).
    output : path-like
        Folder for ``results.csv`` and ``spectra.npz`` (created).
    snr : float
        S/N of the simulated observations.
    seed : int
        Seed of the v sin i / RV draws and of the noise.
    limit : int, optional
        Fit about ``limit`` points (:func:`select_points`: every out-of-box point first).
    noiseless : bool
        Observe without noise but with the pixel weights of S/N ``snr`` (every other
        realistic effect kept): the fit's ``chi2`` is then the non-centrality λ of the best
        model in the bundle's box, in units of that S/N's noise (:func:`detectability`).

    Returns
    -------
    list of dict
        One row per point: ``point``, ``kind`` (the truth file's in/out:<group>), true and
        fitted teff/logg/m_h/v_sini, ``rchi2``, ``chi2``, ``n_pixels``, ``result_flags``.
    """
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import merge_options
    from zeta_payne.grids.nodes import load_node_grid
    from zeta_payne.validation.observe import ObservationModel, realistic_spectrum
    from zeta_payne.validation.truth import (
        SynthesisGenerator,
        default_points_file,
        point_kinds,
        read_truth_points,
        synthesis_cases,
    )

    truth = Path(truth)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    instrument = bundle.instrument
    grid = load_node_grid(truth, instrument)
    points_file = default_points_file(truth)
    points = read_truth_points(points_file) if points_file else None
    names = list(bundle.manifest.label_names)
    specs = {s.name: s for s in bundle.manifest.labels}
    box = [(specs[n].lower, specs[n].upper) for n in ("teff", "logg", "m_h")]
    kinds = point_kinds(grid.labels, points, box)
    chosen = select_points(kinds, limit)
    n = len(chosen)
    labels, rv, point = synthesis_cases(grid.labels[chosen], bundle, n, seed)
    point = chosen[point]
    r_model = grid.manifest["instruments"][instrument].get("R_model")
    generator = SynthesisGenerator(grid, names, resolution=r_model)
    observation = ObservationModel(reference_snr=snr) if noiseless else ObservationModel()
    fitter = Fitter(bundle, merge_options(bundle.manifest.fit_defaults, {}, frame="observed"))
    rows: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for i in range(n):
        rng = np.random.default_rng(seed * 1_000_003 + i)
        flux = generator(labels[i][None, :])[0]
        teff = float(labels[i, names.index("teff")])
        spectrum, _ = realistic_spectrum(
            generator.wavelength,
            flux,
            generator.resolution,
            instrument,
            teff,
            float(rv[i]),
            None if noiseless else snr,
            rng,
            observation,
        )
        t0 = time.perf_counter()
        result = fitter.fit(spectrum)
        fit = result.as_row()
        row: dict[str, Any] = {"point": int(point[i]), "kind": kinds[point[i]], "snr": snr}
        for label in ("teff", "logg", "m_h", "v_sini"):
            row[f"{label}_ref"] = float(labels[i, names.index(label)]) if label in names else float("nan")
            row[label] = float(fit.get(label, float("nan")))
        row.update(
            v_rad_ref=float(rv[i]),
            v_rad=float(fit.get("v_rad", float("nan"))),
            v_micro=float(fit.get("v_micro", float("nan"))),
            edge_chi2_v_micro=float(fit.get("edge_chi2_v_micro", float("nan"))),
            rchi2=float(fit.get("rchi2", float("nan"))),
            chi2=float(result.chi2),
            n_pixels=int(result.n_pixels),
            result_flags=int(fit.get("result_flags", 0)),
            flag_names=fit.get("flag_names", ""),
            seconds=round(time.perf_counter() - t0, 2),
        )
        rows.append(row)
        arrays[f"w{i}"] = spectrum.wavelength
        arrays[f"f{i}"] = spectrum.flux
        arrays[f"i{i}"] = np.where(spectrum.usable(), spectrum.ivar, 0.0)
        model = result.model_flux if result.model_flux is not None else np.full(spectrum.n_pixels, np.nan)
        arrays[f"m{i}"] = np.asarray(model, dtype=float)
        log.info(
            "%d/%d %s: teff %.0f (true %.0f) %s",
            i + 1,
            n,
            row["kind"],
            row["teff"],
            row["teff_ref"],
            row["flag_names"],
        )
    np.savez_compressed(output / "spectra.npz", **arrays)
    with open(output / "results.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (output / "run.json").write_text(json.dumps({"environment": package_versions(), "machine": machine()}))
    return rows


def run_environment(folder: str | os.PathLike, key: str = "environment") -> dict | None:
    """The software (``key="environment"``) or the machine (``"machine"``) a
    :func:`run_synthetic` folder's fits were made with (None: not recorded)."""
    path = Path(folder) / "run.json"
    return json.loads(path.read_text()).get(key) if path.is_file() else None


def scoring_box(bundle: Any) -> tuple[dict[str, tuple[float, float]], Sequence[Sequence[float]]]:
    """The box and log g floor a bundle's synthetic cases are scored against
    (:func:`synthetic_detection`): teff, log g, [M/H] and v sin i bounds from its labels, and
    its ``logg_floor`` fit default."""
    specs = {s.name: s for s in bundle.manifest.labels}
    box = {k: (specs[k].lower, specs[k].upper) for k in ("teff", "logg", "m_h", "v_sini")}
    return box, bundle.manifest.fit_defaults.get("logg_floor") or ()


def synthetic_detection(
    rows: list[dict[str, Any]],
    box: dict[str, tuple[float, float]],
    floor: Sequence[Sequence[float]] = (),
) -> list[dict[str, Any]]:
    """Flag rates per scored set (:func:`~zeta_payne.validation.realstars.scored_set` of the true
    labels and v sin i, against ``box`` raised to the bundle's log g ``floor`` as for the real stars) and
    per truth group, all cases and per half (even/odd rows).

    The set ``box`` splits the cases plainly by the truth file (``in``: every point it marks
    in the box; ``out``: every other), margins ignored.

    Returns
    -------
    list of dict
        ``set``, ``group`` (``all`` or the truth file's out:<group>), ``n``, ``n_oob``,
        ``n_bad`` and the same per half (``_half0``, ``_half1``).
    """
    from zeta_payne.fitting.flags import BAD_MASK, ResultFlags
    from zeta_payne.validation.realstars import SCORED_SETS, scored_set

    for i, r in enumerate(rows):
        r["half"] = i % 2
        r["scored"] = scored_set(r["teff_ref"], r["logg_ref"], r["m_h_ref"], (), box, floor=floor,
                                 v_sini=float(r.get("v_sini_ref", math.nan)))
        r["oob"] = bool(r["result_flags"] & int(ResultFlags.OUT_OF_BOX))
        r["bad"] = bool(r["result_flags"] & int(BAD_MASK))
    groups: list[tuple[str, str, list[dict[str, Any]]]] = []
    for name in SCORED_SETS:
        sel = [r for r in rows if r["scored"] == name]
        if sel:
            groups.append((name, "all", sel))
            kinds = sorted({r["kind"] for r in sel} - {"in"})
            groups += [(name, k, [r for r in sel if r["kind"] == k]) for k in kinds]
    groups.append(("box", "in", [r for r in rows if r["kind"] == "in"]))
    groups.append(("box", "out", [r for r in rows if r["kind"] != "in"]))
    table = []
    for name, group, members in groups:
        entry: dict[str, Any] = {"set": name, "group": group}
        halves = [("", members)] + [(f"_half{h}", [r for r in members if r["half"] == h]) for h in (0, 1)]
        for suffix, part in halves:
            entry[f"n{suffix}"] = len(part)
            entry[f"n_oob{suffix}"] = sum(r["oob"] for r in part)
            entry[f"n_bad{suffix}"] = sum(r["bad"] for r in part)
        table.append(entry)
    return table


def write_synthetic_report(
    path: str | os.PathLike,
    rows: list[dict[str, Any]],
    table: list[dict[str, Any]],
    title: str,
    note: str = "",
) -> None:
    """A short Markdown page: the detection table and every out-of-box case (``note`` under the title)."""
    from zeta_payne.validation.realstars_report import _pct

    lines = [
        f"# {title}",
        "",
        *([note, ""] if note else []),
        "| set | group | OUT_OF_BOX: half 0 | half 1 | any BAD: half 0 | half 1 | "
        "all: OUT_OF_BOX / any BAD |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in table:
        lines.append(
            f"| {d['set']} | {d['group']} | {_pct(d['n_oob_half0'], d['n_half0'])} | "
            f"{_pct(d['n_oob_half1'], d['n_half1'])} | {_pct(d['n_bad_half0'], d['n_half0'])} | "
            f"{_pct(d['n_bad_half1'], d['n_half1'])} | {d['n_oob']} / {d['n_bad']} of {d['n']} |"
        )
    lines += [
        "",
        "Cases outside the box or at its edge:",
        "",
        "| group | set | true Teff / log g / [M/H] | fit Teff / log g / [M/H] | rχ² | flags |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for r in rows:
        if r["scored"] == "in":
            continue
        lines.append(
            f"| {r['kind']} | {r['scored']} | "
            f"{r['teff_ref']:.0f} / {r['logg_ref']:.2f} / {r['m_h_ref']:.2f} | "
            f"{r['teff']:.0f} / {r['logg']:.2f} / {r['m_h']:.2f} | {r['rchi2']:.2f} | "
            f"{r['flag_names'] or '—'} |"
        )
    Path(path).write_text("\n".join(lines) + "\n")


def select_points(kinds: list[str], limit: int | None = None) -> np.ndarray:
    """Rows of the truth points to fit: all, or about ``limit`` with every out-of-box one.

    With ``limit``: every point not marked ``in`` (the first ``limit`` of them where there are
    more), then in-box points evenly spaced through the list up to ``limit`` in all; returned
    in the list's order.
    """
    every = np.arange(len(kinds))
    if limit is None or limit >= len(kinds):
        return every
    out = every[[k != "in" for k in kinds]][:limit]
    inside = every[[k == "in" for k in kinds]]
    room = limit - out.size
    if room > 0 and inside.size:
        inside = inside[np.unique(np.linspace(0, inside.size - 1, room).round().astype(int))]
    else:
        inside = inside[:0]
    return np.sort(np.concatenate([out, inside]))


def read_synthetic(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``results.csv`` written by :func:`run_synthetic` (numbers as numbers)."""
    out = []
    with open(Path(folder) / "results.csv", newline="") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if key in ("kind", "flag_names"):
                    row[key] = value
                elif key in ("point", "result_flags"):
                    row[key] = int(value)
                else:
                    row[key] = float(value) if value not in ("", None) else float("nan")
            out.append(row)
    return out


def rediagnose(folder: str | os.PathLike, rows: list[dict[str, Any]]) -> list[Any]:
    """The detector's statistics (:func:`~zeta_payne.fitting.outofbox.diagnose`) of every row again."""
    from zeta_payne.fitting.outofbox import diagnose

    out = []
    with np.load(Path(folder) / "spectra.npz") as npz:
        for i, row in enumerate(rows):
            model = npz[f"m{i}"]
            used = (npz[f"i{i}"] > 0) & np.isfinite(model)
            out.append(diagnose(npz[f"w{i}"], npz[f"f{i}"], npz[f"i{i}"], model, used, row["v_rad"]))
    return out


def reflag_synthetic(
    rows: list[dict[str, Any]], diags: list[Any], thresholds: Any = None
) -> list[dict[str, Any]]:
    """Copies of ``rows`` with the out-of-box bits set again (current detector, no refit)."""
    from zeta_payne.fitting.flags import ResultFlags, flag_names
    from zeta_payne.fitting.outofbox import out_of_box_flags

    bits = int(ResultFlags.OUT_OF_BOX | ResultFlags.LINE_MISMATCH | ResultFlags.EMISSION)
    out = []
    for r, d in zip(rows, diags, strict=True):
        flags = (int(r["result_flags"]) & ~bits) | out_of_box_flags(
            d, thresholds, teff=r["teff"], m_h=r.get("m_h")
        )
        out.append({**r, "result_flags": flags, "flag_names": ",".join(flag_names(flags))})
    return out


def detectability(
    noiseless: list[dict[str, Any]], noisy: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """How far each out-of-box case is from the bundle's box, in units of the noise.

    ``noiseless`` are rows of :func:`run_synthetic` with ``noiseless=True``, already scored
    (:func:`synthetic_detection`): the fit's χ² of a noise-free observation weighted at the
    S/N of the study is λ, the squared distance from the case's spectrum to the best model in
    the box (response and RV included), emulator error and the simulated observation's
    systematics (sky and telluric residuals) with it. In-box cases give λ's floor. A case is
    *distinguishable* when ``λ ≥ max(NP_LAMBDA, p95 of in-box λ)``: below
    :data:`NP_LAMBDA` no detector reaches 95 % at 5 % false positives even knowing both
    spectra exactly; below the in-box p95 no fit-quality statistic can flag it without also
    flagging 5 % of the in-box cases.

    Parameters
    ----------
    noiseless : list of dict
        Scored noiseless rows (``scored``, ``chi2``, ``point`` …).
    noisy : list of dict, optional
        Scored rows of the noisy study of the same points and seed (``bad`` by point), to
        say which cases the pipeline flags.

    Returns
    -------
    cases : list of dict
        The ``out`` rows with ``lam``, ``distinguishable`` and ``flagged`` (None without
        ``noisy``).
    summary : dict
        ``n_in``, ``lam_in_p50``, ``lam_in_p95``, ``threshold``, ``n_out``,
        ``n_distinguishable``, ``n_flagged``, ``n_flagged_distinguishable``.
    """
    lam_in = np.array([r["chi2"] for r in noiseless if r["scored"] == "in" and np.isfinite(r["chi2"])])
    p50, p95 = (np.percentile(lam_in, [50, 95]) if lam_in.size else (np.nan, np.nan))
    threshold = max(NP_LAMBDA, float(p95)) if np.isfinite(p95) else NP_LAMBDA
    bad = {r["point"]: bool(r["bad"]) for r in noisy} if noisy is not None else {}
    cases = []
    for r in noiseless:
        if r["scored"] != "out":
            continue
        lam = float(r["chi2"])
        cases.append({
            **r,
            "lam": lam,
            "distinguishable": bool(np.isfinite(lam) and lam >= threshold),
            "flagged": bad.get(r["point"]) if noisy is not None else None,
        })
    flagged = [c for c in cases if c["flagged"]]
    summary = {
        "n_in": int(lam_in.size),
        "lam_in_p50": float(p50),
        "lam_in_p95": float(p95),
        "threshold": threshold,
        "n_out": len(cases),
        "n_distinguishable": sum(c["distinguishable"] for c in cases),
        "n_flagged": len(flagged) if noisy is not None else None,
        "n_flagged_distinguishable": (
            sum(c["distinguishable"] for c in flagged) if noisy is not None else None
        ),
    }
    return cases, summary


def write_detectability_report(
    path: str | os.PathLike, cases: list[dict[str, Any]], summary: dict[str, Any], title: str, note: str = ""
) -> None:
    """Markdown: λ of every out-of-box case against the in-box floor, and whether it was flagged."""
    s = summary
    lines = [f"# {title}", "", *([note, ""] if note else [])]
    lines += [
        f"- In-box cases: {s['n_in']}, λ median {s['lam_in_p50']:.0f}, p95 {s['lam_in_p95']:.0f} "
        f"(emulator error and the observation's systematics at this S/N).",
        f"- Threshold: λ ≥ max({NP_LAMBDA:.1f}, in-box p95) = {s['threshold']:.0f}.",
        f"- Out-of-box cases: {s['n_out']}; distinguishable from the box: {s['n_distinguishable']}.",
    ]
    if s["n_flagged"] is not None:
        lines.append(
            f"- Flagged (any BAD bit) in the noisy study: {s['n_flagged']} of {s['n_out']}; of the "
            f"distinguishable ones {s['n_flagged_distinguishable']} of {s['n_distinguishable']}."
        )
    lines += [
        "",
        "| group | true Teff / log g / [M/H] / v sin i | noiseless fit Teff / log g / [M/H] | λ "
        "| distinguishable | flagged (noisy) |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for c in sorted(cases, key=lambda c: c["lam"]):
        flagged = "—" if c["flagged"] is None else ("yes" if c["flagged"] else "**no**")
        lines.append(
            f"| {c['kind']} | {c['teff_ref']:.0f} / {c['logg_ref']:.2f} / {c['m_h_ref']:.2f} / "
            f"{c['v_sini_ref']:.0f} | {c['teff']:.0f} / {c['logg']:.2f} / {c['m_h']:.2f} | "
            f"{c['lam']:.0f} | {'yes' if c['distinguishable'] else 'no'} | {flagged} |"
        )
    Path(path).write_text("\n".join(lines) + "\n")
