"""Reports of a simulation study: Tables 2 and 3 beside the paper's, plots, raw tables."""

from __future__ import annotations

import csv
import json
import platform
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zeta_payne.environment import describe as describe_environment
from zeta_payne.fitting.flags import BAD_MASK, flag_names, label_flag
from zeta_payne.validation.own_errors import (
    OWN_ERRORS_K,
    formal_errors,
    formal_rank_correlation,
    information_limit_reliability,
    within_own_errors,
)
from zeta_payne.validation.paper import TABLE2, TABLE2_EDGES, TABLE3, TABLE3_RELIABILITY
from zeta_payne.validation.runner import StudyResult
from zeta_payne.validation.statistics import binned_rms, bootstrap_table3, converged, summarize

__all__ = [
    "failure_rows",
    "flag_rows",
    "load_studies",
    "table2_rows",
    "table3_rows",
    "truth_lines",
    "write_report",
]

LABEL_ORDER = ("teff", "logg", "v_sini", "m_h", "v_micro", "v_rad")
UNITS = {"teff": "K", "logg": "dex", "v_sini": "km/s", "m_h": "dex", "v_micro": "km/s", "v_rad": "km/s"}


def _snr_key(snr: float) -> str:
    return "inf" if not np.isfinite(snr) else f"{snr:g}"


def _free(study: StudyResult) -> list[str]:
    bundle = study.meta.get("bundle", {})
    return list(bundle.get("free", [n for n in study.label_names]))


def _rms(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.sqrt(np.mean(x**2))) if x.size else float("nan")


def table3_rows(studies: Sequence[StudyResult]) -> list[dict]:
    """One row per (instrument, S/N, label) with RMS, reliability, n and the paper's values."""
    rows = []
    for st in studies:
        key = _snr_key(st.snr)
        paper = TABLE3.get(st.instrument, {}).get(key)
        deltas = st.deltas(_free(st))
        all_of = None if paper is None else list(paper)
        stats = summarize(deltas, all_of=all_of)
        boot = bootstrap_table3(deltas, all_of=all_of)
        flags = np.asarray(st.flags, dtype=np.int64)
        within = {label: within_own_errors(st, label) for label in [*_free(st), "v_rad"]}
        names = [n for n in (list(paper) if paper is not None else list(within)) if n in within]
        limit = information_limit_reliability(st, names)
        for label in [*_free(st), "v_rad"]:
            s = stats[label]
            unconstrained = (flags & int(label_flag(label, "unconstrained"))) != 0
            kept = converged(deltas[label]) & ~unconstrained
            d = np.asarray(deltas[label], dtype=float)
            formal = formal_errors(st, label)
            matched = kept & np.isfinite(formal)  # fits held at a fixed value have none
            rows.append(
                {
                    "instrument": st.instrument,
                    "snr": key,
                    "label": label,
                    "rms": s["rms"],
                    "reliability": s["reliability"],
                    "reliability_centred": s["reliability_centred"],
                    "n": s["n"],
                    "p16": s["p16"],
                    "p50": s["p50"],
                    "p84": s["p84"],
                    "paper_rms": (paper or {}).get(label, np.nan),
                    "n_unconstrained": int(unconstrained.sum()),
                    "rms_constrained": _rms(d[kept]),
                    "rms_formal": _rms(formal[matched]),
                    "rms_matched": _rms(d[matched]),
                    "n_matched": int(matched.sum()),
                    "reliability_own_errors": float(np.mean(within[label])),
                    "rank_corr_formal": formal_rank_correlation(st, label),
                    **_limit_columns(limit.get(label)),
                    **_intervals(boot[label]),
                }
            )
        every = np.logical_and.reduce([within[n] for n in names])
        rows.append(
            {
                "instrument": st.instrument,
                "snr": key,
                "label": "all",
                "rms": np.nan,
                "reliability": stats["all"]["reliability"],
                "reliability_centred": stats["all"]["reliability_centred"],
                "n": stats["all"]["n"],
                "paper_rms": np.nan,
                "paper_reliability": TABLE3_RELIABILITY.get(st.instrument, {}).get(key, np.nan),
                "reliability_own_errors": float(np.mean(every)),
                **_limit_columns(limit.get("all")),
                **_intervals(boot["all"]),
            }
        )
    return rows


def _limit_columns(draws: np.ndarray | None) -> dict[str, float]:
    """The information-limit reliability's mean and 5-95 % range over its draws (NaN: none)."""
    if draws is None or not draws.size:
        return {"reliability_limit": np.nan, "reliability_limit_lo": np.nan, "reliability_limit_hi": np.nan}
    lo, hi = np.percentile(draws, [5, 95])
    return {
        "reliability_limit": float(np.mean(draws)),
        "reliability_limit_lo": float(lo),
        "reliability_limit_hi": float(hi),
    }


def _intervals(boot: dict[str, tuple[float, ...]]) -> dict[str, float]:
    """Table 3 columns of :func:`bootstrap_table3`'s intervals (68 % and 95 %)."""
    out = {}
    for stat, (lo68, hi68, lo95, hi95) in boot.items():
        out.update(
            {f"{stat}_lo68": lo68, f"{stat}_hi68": hi68, f"{stat}_lo95": lo95, f"{stat}_hi95": hi95}
        )
    return out


def _against_paper_lines(t3: list[dict]) -> list[str]:
    """Markdown: every Table 3 cell against the paper's, with the bootstrap intervals."""
    rows = [r for r in t3 if np.isfinite(r.get("paper_rms", np.nan)) and "rms_lo95" in r]
    rows += [r for r in t3 if r["label"] == "all" and np.isfinite(r.get("paper_reliability", np.nan))]
    if not rows:
        return []
    lines = [
        "## Table 3 against the paper, with sampling intervals",
        "",
        "Each figure of Table 3 is made from a finite set of cases; drawn again (bootstrap over "
        "the cases, 1,000 draws, the convergence band recomputed on each draw) it moves within "
        "the intervals below. *Above* / *below*: the paper's figure lies outside our 95 % "
        "interval on that side; *within*: inside it, so this many cases cannot tell the two "
        "apart. The intervals cover our sampling only, not the paper's own (its Table 3 is "
        "also a finite simulation), nor truth points unlike these.",
        "",
        "| instrument | S/N | label | ours | 68 % interval | 95 % interval | paper | verdict |",
        "|---|---|---|---:|---|---|---:|---|",
    ]
    for r in rows:
        if r["label"] == "all":  # a reliability: higher is better
            ours, paper, stat = r["reliability"], r["paper_reliability"], "reliability"
            label, worse, better = "reliability (all labels)", "worse", "better"

            def fmt(x: float) -> str:
                return f"{100 * x:.1f} %"
        else:  # an RMS: lower is better
            ours, paper, stat = r["rms"], r["paper_rms"], "rms"
            label, worse, better = r["label"], "above the paper", "below the paper"
            fmt = _fmt
        lo95, hi95 = r[f"{stat}_lo95"], r[f"{stat}_hi95"]
        if paper < lo95:
            verdict = worse if stat == "rms" else better
        elif paper > hi95:
            verdict = better if stat == "rms" else worse
        else:
            verdict = "within"
        lines.append(
            f"| {r['instrument'].upper()} | {r['snr']} | {label} | {fmt(ours)} | "
            f"{fmt(r[f'{stat}_lo68'])}–{fmt(r[f'{stat}_hi68'])} | {fmt(lo95)}–{fmt(hi95)} | "
            f"{fmt(paper)} | {verdict} |"
        )
    return [*lines, ""]


def _noise_floor_lines(t3: list[dict]) -> list[str]:
    """Markdown: each noisy Table 3 cell's RMS against the RMS of its fits' formal errors."""
    rows = [
        r
        for r in t3
        if r["label"] != "all" and r["snr"] != "inf" and np.isfinite(r.get("rms_formal", np.nan))
    ]
    if not rows:
        return []
    lines = [
        "## The noise floor: RMS against the formal errors",
        "",
        "Per noisy cell, over the converged fits without an *_UNCONSTRAINED flag that fitted "
        "the label (not held at a fixed value): the RMS of Δθ / the RMS of the fits' formal "
        "errors (`sqrt(diag((JᵀJ)⁻¹))`, the covariance error "
        "without the rchi2 factor: the Cramér–Rao bound for the network as the model and the "
        "stated noise, every other label, the RV and the response fitted too) (their ratio). "
        "A ratio near 1 is a fit at the information limit of the pixels: a smaller RMS at "
        "this S/N needs more information (S/N, pixels, resolution), not a better fit; a "
        "ratio well above 1 is model error or misses on top of the noise; n: the fits. Also in "
        "table3.csv (`rms_matched`, `rms_formal`, `n_matched`).",
        "",
    ]
    for inst in dict.fromkeys(r["instrument"] for r in rows):
        sub = [r for r in rows if r["instrument"] == inst]
        snrs = list(dict.fromkeys(r["snr"] for r in sub))
        lines += [
            f"| {inst.upper()} | " + " | ".join(f"S/N {s}" for s in snrs) + " |",
            "|---|" + "---|" * len(snrs),
        ]
        for label in dict.fromkeys(r["label"] for r in sub):
            cells = []
            for s in snrs:
                r = next((r for r in sub if r["snr"] == s and r["label"] == label), None)
                if r is None:
                    cells.append("")
                    continue
                ratio = r["rms_matched"] / r["rms_formal"] if r["rms_formal"] > 0 else np.nan
                cells.append(
                    f"{_fmt(r['rms_matched'])} / {_fmt(r['rms_formal'])} ({ratio:.2f}; {r['n_matched']})"
                )
            lines.append(f"| {label} [{UNITS.get(label, '')}] | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def table2_rows(studies: Sequence[StudyResult]) -> list[dict]:
    """RMS in ten bins of true teff and of true v_sini, per instrument, S/N and label."""
    rows = []
    for st in studies:
        deltas = st.deltas(_free(st))
        masks = {k: converged(v) for k, v in deltas.items()}
        for by, edges in TABLE2_EDGES.items():
            if by not in st.label_names:
                continue
            x = st.true_labels[:, st.label_names.index(by)]
            for label, d in deltas.items():
                rms, count = binned_rms(d, masks[label], x, edges)
                paper = TABLE2.get(st.instrument, {}).get(by, {}).get(label)
                for b in range(len(edges) - 1):
                    rows.append(
                        {
                            "instrument": st.instrument,
                            "snr": _snr_key(st.snr),
                            "binned_by": by,
                            "bin_lo": edges[b],
                            "bin_hi": edges[b + 1],
                            "label": label,
                            "rms": rms[b],
                            "n": int(count[b]),
                            "paper_rms": paper[b]
                            if paper is not None and not np.isfinite(st.snr)
                            else np.nan,
                        }
                    )
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def _raw_rows(st: StudyResult) -> list[dict]:
    out = []
    for i in range(len(st.true_rv)):
        row = {"instrument": st.instrument, "snr": _snr_key(st.snr), "index": i}
        for j, n in enumerate(st.label_names):
            row[f"true_{n}"] = st.true_labels[i, j]
            row[n] = st.labels[i, j]
            row[f"e_{n}"] = st.e_labels[i, j]
            row[f"cov_e_{n}"] = st.cov_e_labels[i, j]
            if st.raw_e_labels is not None:
                row[f"raw_e_{n}"] = st.raw_e_labels[i, j]
            if st.edge_chi2 is not None:
                row[f"edge_chi2_{n}"] = st.edge_chi2[i, j]
        row.update(
            true_v_rad=st.true_rv[i],
            v_rad=st.v_rad[i],
            e_v_rad=st.e_v_rad[i],
            rchi2=st.rchi2[i],
            **({} if st.cov_e_v_rad is None else {"cov_e_v_rad": st.cov_e_v_rad[i]}),
            result_flags=int(st.flags[i]),
            seconds=st.seconds[i],
        )
        for name, values in st.cases.items():
            row[f"case_{name}"] = values[i]
        for name in ("fit_seconds", "chi2_fit", "chi2_true"):
            values = getattr(st, name)
            if values is not None:
                row[name] = values[i]
        out.append(row)
    return out


def _fmt(x: float) -> str:
    """A figure for a table: whole numbers from 100 up, else three significant digits."""
    if not np.isfinite(x):
        return "–"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _table2_markdown(rows: list[dict]) -> list[str]:
    """Table 2 as Markdown: one table per instrument, S/N and binning label."""
    out: list[str] = []
    groups = list(dict.fromkeys((r["instrument"], r["snr"], r["binned_by"]) for r in rows))
    for inst, snr, by in groups:
        sub = [r for r in rows if (r["instrument"], r["snr"], r["binned_by"]) == (inst, snr, by)]
        labels = list(dict.fromkeys(r["label"] for r in sub))
        bins = list(dict.fromkeys((r["bin_lo"], r["bin_hi"]) for r in sub))
        out += [f"### {inst.upper()} S/N {snr}, bins of true {by} [{UNITS.get(by, '')}]", ""]
        out.append("| bin | n | " + " | ".join(f"{lab} [{UNITS.get(lab, '')}]" for lab in labels) + " |")
        out.append("|---|---|" + "---|" * len(labels))
        for lo, hi in bins:
            cells, n = [], 0
            for lab in labels:
                r = next(r for r in sub if r["label"] == lab and (r["bin_lo"], r["bin_hi"]) == (lo, hi))
                n = r["n"]
                ours = _fmt(r["rms"])
                paper = f" / {_fmt(r['paper_rms'])}" if np.isfinite(r["paper_rms"]) else ""
                cells.append(ours + paper)
            out.append(f"| {lo:g}–{hi:g} | {n} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def failure_rows(studies: Sequence[StudyResult]) -> list[dict]:
    """Why fits failed the convergence criterion, per instrument and S/N.

    A failed fit whose χ² at the fitted labels is at most the χ² at the true labels (both
    with the best response) is *emulator-limited*: the network prefers the wrong labels and
    no optimizer could do better. Otherwise the optimizer stopped short of a better
    solution (*optimizer miss*; a lower bound, since a better minimum may also lie near but
    not at the truth).

    Returns
    -------
    list of dict
        ``instrument, snr, n, failed`` (any label), ``failed_<label>`` per label,
        ``emulator_limited``, ``optimizer_miss``, ``undiagnosed`` (no χ² recorded).
    """
    rows = []
    for st in studies:
        deltas = st.deltas(_free(st))
        masks = {name: converged(d) for name, d in deltas.items()}
        failed = ~np.logical_and.reduce(list(masks.values()))
        row = {
            "instrument": st.instrument,
            "snr": _snr_key(st.snr),
            "n": len(st.true_rv),
            "failed": int(failed.sum()),
        }
        row.update({f"failed_{name}": int((~m).sum()) for name, m in masks.items()})
        for by, edges in TABLE2_EDGES.items():  # where: failures per Table 2 bin
            if by in st.label_names:
                x = st.true_labels[:, st.label_names.index(by)]
                counts, _ = np.histogram(x[failed], bins=edges)
                row[f"failed_per_{by}_bin"] = " ".join(str(int(c)) for c in counts)
        if st.chi2_fit is not None and st.chi2_true is not None:
            known = failed & np.isfinite(st.chi2_fit) & np.isfinite(st.chi2_true)
            limited = known & (st.chi2_fit <= st.chi2_true)
            row.update(
                emulator_limited=int(limited.sum()),
                optimizer_miss=int((known & ~limited).sum()),
                undiagnosed=int((failed & ~known).sum()),
            )
        else:
            row.update(emulator_limited=0, optimizer_miss=0, undiagnosed=int(failed.sum()))
        rows.append(row)
    return rows


def _plot(st: StudyResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    deltas = st.deltas(_free(st))
    names = list(deltas)
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 2.2 * len(names)), sharex="col", squeeze=False)
    for col, by in enumerate(("teff", "v_sini")):
        if by not in st.label_names:
            continue
        x = st.true_labels[:, st.label_names.index(by)]
        edges = TABLE2_EDGES[by]
        centres = 0.5 * (np.array(edges[:-1]) + np.array(edges[1:]))
        for row, name in enumerate(names):
            ax = axes[row, col]
            d = deltas[name]
            mask = converged(d)
            ax.plot(x[mask], d[mask], "k.", ms=4, alpha=0.5)
            ax.plot(x[~mask], d[~mask], "r.", ms=5, alpha=0.8)
            rms, _ = binned_rms(d, mask, x, edges)
            ax.errorbar(
                centres, np.zeros_like(centres), yerr=rms, fmt="o", color="m", ms=6, capsize=3, lw=1.5
            )
            ax.axhline(0, color="0.6", lw=0.5)
            ax.set_ylabel(f"Δ{name} [{UNITS.get(name, '')}]")
            if row == len(names) - 1:
                ax.set_xlabel(f"true {by} [{UNITS[by]}]")
    fig.suptitle(
        f"{st.instrument.upper()} S/N {_snr_key(st.snr)}: Δθ (black converged, red not; magenta RMS)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_studies(folder: str | Path) -> tuple[list[StudyResult], str]:
    """The studies a report was written from (``results.csv`` + ``studies.json``) and its title.

    Lets a report be written again (new report code, a merged folder) without refitting.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "studies.json").read_text())
        with open(folder / "results.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError as err:
        missing = Path(err.filename or "").name
        raise FileNotFoundError(f"{folder}: not a study's output folder (no {missing})") from None

    def column(sub: list[dict], name: str) -> np.ndarray:
        return np.array([float(r[name]) if r.get(name, "") != "" else np.nan for r in sub])

    studies = []
    for entry in meta["studies"]:
        sub = [r for r in rows if r["instrument"] == entry["instrument"] and r["snr"] == entry["snr"]]
        sub.sort(key=lambda r: int(r["index"]))
        names = tuple(entry["label_names"])
        st = StudyResult(
            instrument=entry["instrument"],
            snr=float(entry["snr"]),
            label_names=names,
            true_labels=np.column_stack([column(sub, f"true_{n}") for n in names]),
            true_rv=column(sub, "true_v_rad"),
            labels=np.column_stack([column(sub, n) for n in names]),
            e_labels=np.column_stack([column(sub, f"e_{n}") for n in names]),
            cov_e_labels=np.column_stack([column(sub, f"cov_e_{n}") for n in names]),
            v_rad=column(sub, "v_rad"),
            e_v_rad=column(sub, "e_v_rad"),
            rchi2=column(sub, "rchi2"),
            flags=column(sub, "result_flags").astype(np.int64),
            seconds=column(sub, "seconds"),
            fit_seconds=column(sub, "fit_seconds") if "fit_seconds" in sub[0] else None,
            chi2_fit=column(sub, "chi2_fit") if "chi2_fit" in sub[0] else None,
            chi2_true=column(sub, "chi2_true") if "chi2_true" in sub[0] else None,
            raw_e_labels=(
                np.column_stack([column(sub, f"raw_e_{n}") for n in names])
                if f"raw_e_{names[0]}" in sub[0]
                else None
            ),
            cov_e_v_rad=column(sub, "cov_e_v_rad") if "cov_e_v_rad" in sub[0] else None,
            edge_chi2=(
                np.column_stack([column(sub, f"edge_chi2_{n}") for n in names])
                if f"edge_chi2_{names[0]}" in sub[0]
                else None
            ),
            wall_seconds=float(entry["wall_seconds"]),
            meta=entry["meta"],
            cases={
                name[5:]: _case_column([r[name] for r in sub]) for name in sub[0] if name.startswith("case_")
            },
        )
        studies.append(st)
    return studies, meta.get("title", "Simulation study")


def _case_column(values: list[str]) -> np.ndarray:
    """A ``case_*`` column of results.csv: numbers where all parse, else strings."""
    try:
        return np.array([float(v) if v != "" else np.nan for v in values])
    except ValueError:
        return np.array(values)


def truth_lines(st: StudyResult) -> list[str]:
    """What a study's true spectra and observations were, for the report's header."""
    truth = st.meta.get("truth") or {"grid": "interpolant (emulator-only view)"}.get(
        st.meta.get("generator", {}).get("kind"), st.meta.get("generator", {}).get("kind")
    )
    obs = st.meta.get("observation") or {"kind": "idealised"}
    lines = [
        f"  - truth: **{truth}**; observations: **{obs.get('kind')}**"
        + (" (" + obs["summary"] + ")" if obs.get("summary") else "")
    ]
    points = st.cases.get("truth_point")
    if points is not None and len(points):
        unique, counts = np.unique(np.asarray(points, dtype=float), return_counts=True)
        lines.append(
            f"  - {unique.size} independent synthesized spectra (truth points) behind {len(points)} cases: "
            f"each point used {counts.min()}–{counts.max()} times with its own v sin i, RV"
            + (", reddening, LSF" if obs.get("kind") == "realistic" else "")
            + " and noise draws; the "
            f"effective number of independent spectra is {unique.size}, not {len(points)}"
        )
    kinds = st.cases.get("truth_kind")
    if kinds is not None and len(kinds):
        k, c = np.unique(kinds, return_counts=True)
        lines.append("  - truth points by kind: " + ", ".join(f"{a} {b}" for a, b in zip(k, c, strict=True)))
    return lines


def flag_rows(studies: Sequence[StudyResult]) -> list[dict]:
    """Result flags and median offsets per instrument, S/N and truth kind (``in``, ``out:<group>``)."""
    rows = []
    for st in studies:
        kinds = st.cases.get("truth_kind")
        kinds = np.asarray(kinds) if kinds is not None else np.full(len(st.true_rv), "all")
        deltas = st.deltas(_free(st))
        for kind in dict.fromkeys(kinds.tolist()):
            sel = kinds == kind
            flags = st.flags[sel]
            names = Counter(n for f in flags for n in flag_names(int(f)))
            row = {
                "instrument": st.instrument,
                "snr": _snr_key(st.snr),
                "truth_kind": kind,
                "n": int(sel.sum()),
                "flagged": int((flags != 0).sum()),
                "flagged_bad": int((flags & int(BAD_MASK) != 0).sum()),
                "common_flags": " ".join(f"{n}:{c}" for n, c in names.most_common(4)),
            }
            for name, d in deltas.items():
                row[f"median_delta_{name}"] = float(np.nanmedian(d[sel])) if sel.any() else np.nan
            rows.append(row)
    return rows


def write_report(
    studies: Sequence[StudyResult], out: str | Path, title: str = "Simulation study", notes: str = ""
) -> Path:
    """Write ``table3.csv``, ``table2.csv``, ``results.csv``, PNG plots and ``report.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t3 = table3_rows(studies)
    t2 = table2_rows(studies)
    _write_csv(out / "table3.csv", t3)
    _write_csv(out / "table2.csv", t2)
    _write_csv(out / "results.csv", [r for st in studies for r in _raw_rows(st)])
    entries = [
        {
            "instrument": st.instrument,
            "snr": _snr_key(st.snr),
            "label_names": list(st.label_names),
            "wall_seconds": st.wall_seconds,
            "meta": st.meta,
        }
        for st in studies
    ]
    summary = _json_safe({"title": title, "studies": entries})
    (out / "studies.json").write_text(json.dumps(summary, indent=1) + "\n")
    failures = failure_rows(studies)
    _write_csv(out / "failures.csv", failures)
    lines = [f"# {title}", ""]
    if notes:
        lines += [notes, ""]
    lines += _study_lines(studies)
    lines += ["", "## Table 3: RMS over converged fits and reliability (ours / paper)", ""]
    for inst in sorted({st.instrument for st in studies}):
        lines += _table3_lines(inst, [r for r in t3 if r["instrument"] == inst])
    lines += [
        TABLE3_LEGEND,
        "",
        *_against_paper_lines(t3),
        *_noise_floor_lines(t3),
        *_failure_lines(failures),
        "## Table 2: RMS per bin of true teff and of true v sin i (ours / paper)",
        "",
        "The paper's Table 2 is for noiseless spectra; noisy rows show ours only. n: spectra "
        "in the bin (converged fits of each label enter its RMS). Also in table2.csv.",
        "",
    ]
    lines += _table2_markdown(t2)
    if any(st.cases.get("truth_kind") is not None for st in studies):
        flags = flag_rows(studies)
        _write_csv(out / "flags.csv", flags)
        lines += _flag_lines(flags, _free(studies[0]))
    lines += ["## Figure 6: Δθ against true teff and v sin i", ""]
    for st in studies:
        png = f"delta_{st.instrument}_snr{_snr_key(st.snr)}.png"
        _plot(st, out / png)
        lines.append(f"![{st.instrument} S/N {_snr_key(st.snr)}]({png})")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"


#: What the cells of Table 3 in ``report.md`` are.
TABLE3_LEGEND = (
    "Cells: our RMS / the paper's RMS (our per-label reliability with the paper's literal "
    "criterion 4(P50+P16) < Δθ < 4(P50+P84), and with the same ±4σ band centred on the "
    "median). RMS over fits converged by the literal criterion. *Within 4 own errors*: "
    "the fraction of fits whose every label of the reliability row lies within 4 of its "
    "own reported error (|Δθ| ≤ 4 e_*) — the paper's band is one band for every star, so a "
    "star whose spectrum holds little about a label (a hot fast rotator's [M/H] or RV) "
    "falls outside it even where its fit agrees with its own error; this asks each fit to "
    "agree with the error it reports. *Reliability at the information limit*: the literal "
    "all-label reliability of fits that scatter exactly as their formal (Cramér–Rao) errors, "
    "each Δθ drawn as σ_formal · N(0, 1), independently per label, 200 draws (mean, 5–95 %): "
    "what an unbiased fitter with no model error would score on these stars — below 100 % "
    "where the stars' own errors differ widely, since the band is one for all of them. The "
    "band scales with the errors, so only their spread from star to star matters, not their "
    "size: at S/N ∞ (formal errors of the noiseless spectra's nominal weights) it is what any "
    "error reaching the labels as noise does would score, however small "
    "(`own_errors.information_limit_reliability`; how closely each label's |Δθ| follows its "
    "formal error: `rank_corr_formal` in table3.csv)."
)


def _study_lines(studies: Sequence[StudyResult]) -> list[str]:
    """One item per study (spectra, bundle, generator, wall time, hardware, fit time per
    spectrum, its truth and its overlap with the training set) and the whole run's cost."""
    lines = []
    for st in studies:
        b = st.meta.get("bundle", {})
        hw = st.meta.get("hardware") or {"cpu": platform.processor() or platform.machine()}
        load = f", load {hw['load']:.1f} → {hw['load_after']:.1f}" if "load_after" in hw else ""
        fit_s = st.seconds if st.fit_seconds is None else st.fit_seconds
        lines.append(
            f"- {st.instrument} S/N {_snr_key(st.snr)}: {len(st.true_rv)} spectra, bundle "
            f"{b.get('name')}@{b.get('version')} ({b.get('sha256', '')[:12]}), generator "
            f"{st.meta.get('generator', {}).get('kind')}, wall {st.wall_seconds:.0f} s on "
            f"{st.meta.get('processes')} processes ({hw['cpu']}, {hw.get('cores', '?')} cores{load}); "
            f"fit time per spectrum: median {np.nanmedian(fit_s):.2f} s, mean {np.nanmean(fit_s):.2f} s; "
            f"{describe_environment(st.meta.get('environment'))}"
        )
        lines += truth_lines(st)
        ov = st.meta.get("training_overlap")
        if ov:
            lines.append(
                f"  - test points vs the {ov['n_training']} training points: {ov['coincident']} "
                f"coincide; nearest training point at scaled distance {ov['min_distance']:.4f} "
                f"(min), {ov['median_distance']:.4f} (median)"
            )
    wall = sum(st.wall_seconds for st in studies)
    cpu = sum(float(np.nansum(st.seconds)) for st in studies)
    n_all = sum(len(st.true_rv) for st in studies)
    lines += [
        "",
        f"Cost of the whole run: {n_all} spectra in {wall / 60:.1f} min of wall time; "
        f"{cpu / 60:.1f} min of worker time (simulation + fit, summed over processes).",
    ]
    return lines


def _table3_lines(instrument: str, sub: Sequence[dict]) -> list[str]:
    """One instrument's Table 3 (rows of :func:`table3_rows`): RMS and reliability per label
    and S/N, the all-label reliability three ways, and the labels with unconstrained fits."""
    snrs = list(dict.fromkeys(r["snr"] for r in sub))
    lines = [f"### {instrument.upper()}", ""]
    lines.append("| label | " + " | ".join(f"S/N {s}" for s in snrs) + " |")
    lines.append("|---|" + "---|" * len(snrs))
    labels = list(dict.fromkeys(r["label"] for r in sub if r["label"] != "all"))
    for label in labels:
        cells = []
        for s in snrs:
            r = next(r for r in sub if r["snr"] == s and r["label"] == label)
            cells.append(
                f"{_fmt(r['rms'])} / {_fmt(r['paper_rms'])} ({100 * r['reliability']:.1f} %, "
                f"{100 * r['reliability_centred']:.1f} %)"
            )
        lines.append(f"| {label} [{UNITS.get(label, '')}] | " + " | ".join(cells) + " |")
    alls = {r["snr"]: r for r in sub if r["label"] == "all"}
    cells = [
        f"{100 * alls[s]['reliability']:.1f} % ({100 * alls[s]['reliability_centred']:.1f} %) / "
        f"{100 * alls[s].get('paper_reliability', np.nan):.1f} %"
        for s in snrs
    ]
    lines.append("| reliability (all labels) | " + " | ".join(cells) + " |")
    cells = [f"{100 * alls[s]['reliability_own_errors']:.1f} %" for s in snrs]
    lines.append(f"| within {OWN_ERRORS_K:g} own errors (all labels) | " + " | ".join(cells) + " |")
    if any(np.isfinite(alls[s].get("reliability_limit", np.nan)) for s in snrs):
        cells = [
            f"{100 * alls[s]['reliability_limit']:.1f} % ({100 * alls[s]['reliability_limit_lo']:.1f}"
            f"–{100 * alls[s]['reliability_limit_hi']:.1f} %)"
            if np.isfinite(alls[s].get("reliability_limit", np.nan))
            else "–"
            for s in snrs
        ]
        lines.append("| reliability at the information limit (all labels) | " + " | ".join(cells) + " |")
    lines.append("")
    flagged = [r for r in sub if r["label"] != "all" and r.get("n_unconstrained")]
    for r in flagged:
        lines.append(
            f"- {r['label']} at S/N {r['snr']}: {r['n_unconstrained']} of {r['n']} fits "
            f"{r['label'].upper()}_UNCONSTRAINED; RMS over the converged others "
            f"{_fmt(r['rms_constrained'])} {UNITS.get(r['label'], '')}"
        )
    if flagged:
        lines.append("")
    return lines


def _failure_lines(failures: Sequence[dict]) -> list[str]:
    """The failures section: failed fits per study, label and bin, emulator-limited or not."""
    return [
        "## Failures: emulator limit or optimizer miss",
        "",
        "A fit fails when any label falls outside the convergence band. *Emulator-limited*: "
        "χ² at the fitted labels ≤ χ² at the true labels (each with its best response) — "
        "the network prefers the wrong labels, no optimizer could do better; *optimizer "
        "miss*: the truth fits better than the fit (failures.csv).",
        "",
        "| instrument | S/N | failed / n | per label | per teff bin | per v sin i bin | "
        "emulator-limited | optimizer miss |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['instrument']} | {r['snr']} | {r['failed']} / {r['n']} | "
            + ", ".join(
                f"{k[7:]} {v}"
                for k, v in r.items()
                if k.startswith("failed_") and not k.startswith("failed_per") and v
            )
            + f" | {r.get('failed_per_teff_bin', '')} | {r.get('failed_per_v_sini_bin', '')} | "
            f"{r['emulator_limited']} | {r['optimizer_miss']} |"
            for r in failures
        ),
        "",
        "Bins as in Table 2 (teff 6000–25000 K and v sin i 0–400 km/s, ten each).",
        "",
    ]


def _flag_lines(flags: Sequence[dict], free: Sequence[str]) -> list[str]:
    """Result flags and median offsets by kind of truth point (rows of :func:`flag_rows`)."""
    names = [*free, "v_rad"]
    return [
        "## Result flags and median offsets by kind of truth point",
        "",
        "`in`: inside the bundle's box; `out:<group>`: outside it (metal-poor, too hot, ...), "
        "where a fit should be flagged. flagged: any result flag (bad: a BAD_MASK flag); the "
        "most common flags with their counts. Median Δ = fitted − true. Also in flags.csv.",
        "",
        "| instrument | S/N | truth | n | flagged (bad) | common flags | "
        + " | ".join(f"median Δ{n}" for n in names)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(names),
        *(
            f"| {r['instrument']} | {r['snr']} | {r['truth_kind']} | {r['n']} | {r['flagged']} "
            f"({r['flagged_bad']}) | {r['common_flags']} | "
            + " | ".join(_fmt(r.get(f"median_delta_{n}", np.nan)) for n in names)
            + " |"
            for r in flags
        ),
        "",
    ]
