"""The headline Table 3: synthesis truth and realistic observations, beside the paper and the
interpolant study, with pull widths for every label.

Reads the ``results.csv`` that ``zeta-payne validate --generator synthesis`` writes (one per
instrument) and, for the side-by-side columns, the interpolant study's ``table3.csv``::

    python -m zeta_payne.validation.headline \\
        --study boss=docs/validation/synthesis-boss --study apogee=docs/validation/synthesis-apogee \\
        --interpolant boss=docs/validation/boss --interpolant apogee=docs/validation/apogee \\
        -o docs/validation/headline.md

Statistics (``Δθ = fit − truth`` over *all* cases of the study, flagged or not, as the paper):

* RMS over converged fits with the convergence band centred on the median (``"centred"`` in
  :mod:`zeta_payne.validation.statistics`; the paper's literal band excludes the median as
  soon as a label has a bias comparable to its spread, which synthesis truth gives [M/H]);
* the RMS of all fits and the median Δθ (the bias), which the converged RMS hides;
* reliability (all labels converged) with both bands;
* robust pull widths ``1.4826 · median |Δθ / e|`` of the reported (calibrated) ``e_`` and of
  the paper's χ²-parabola ``raw_e_``, over fits not flagged bad (1 = calibrated).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from zeta_payne.fitting.calibration import robust_width
from zeta_payne.validation.paper import TABLE3, TABLE3_RELIABILITY
from zeta_payne.validation.statistics import summarize

__all__ = ["LABELS", "PAPER_BOX", "headline_cells", "in_box", "parse_box", "render_headline", "main"]

#: The paper's training box (its Table 1) over the labels a v3 box widened: a study on the v3
#: truth is compared with the paper like for like on the cases whose true labels lie in it.
PAPER_BOX: dict[str, tuple[float, float]] = {
    "teff": (6000.0, 25000.0),
    "logg": (3.0, 5.0),
    "m_h": (-0.8, 0.8),
}

#: Labels of the headline table, in order (RV as the paper's fifth row).
LABELS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h", "v_rad")
_UNITS = {"teff": "K", "logg": "dex", "v_sini": "km/s", "m_h": "dex", "v_rad": "km/s"}
_FORMAT = {"teff": "{:.0f}", "logg": "{:.3f}", "v_sini": "{:.1f}", "m_h": "{:.3f}", "v_rad": "{:.2f}"}


def _snr_key(snr: float) -> str:
    return "inf" if not np.isfinite(snr) else f"{snr:g}"


def headline_cells(
    columns: dict[str, npt.ArrayLike], bad_mask: int, labels: Sequence[str] = LABELS
) -> dict[str, dict[str, dict[str, float]]]:
    """Table-3 statistics per S/N and label from one study's per-case columns.

    Parameters
    ----------
    columns : dict
        ``results.csv`` columns as arrays of shape (N,): ``snr``, ``result_flags``, and per
        label ``true_<label>``, ``<label>``, ``e_<label>``, ``raw_e_<label>`` (for ``v_rad``
        the raw error is ``e_v_rad``'s paper counterpart when present, else absent).
    bad_mask : int
        The result-flag bits that make a fit bad (``BAD_MASK``).
    labels : sequence of str
        Labels to report; those without columns are skipped.

    Returns
    -------
    dict
        ``{snr_key: {label: {"rms", "rms_all", "bias", "reliability", "reliability_paper",
        "pull", "pull_raw", "n", "n_good"}, "all": {...}}}`` with ``snr_key`` ``"inf"``,
        ``"100"``, …; RMS and bias in the label's unit, reliabilities as fractions.
    """
    snr = np.asarray(columns["snr"], dtype=float)
    flags = np.asarray(columns["result_flags"], dtype=np.int64)
    present = [name for name in labels if f"true_{name}" in columns and name in columns]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for value in np.unique(snr):
        sel = snr == value
        good = sel & ((flags & int(bad_mask)) == 0)
        deltas = {
            name: (np.asarray(columns[name], float) - np.asarray(columns[f"true_{name}"], float))[sel]
            for name in present
        }
        stats = summarize(deltas, criterion="centred")
        cells: dict[str, dict[str, float]] = {}
        for name in present:
            d_all = np.asarray(columns[name], float) - np.asarray(columns[f"true_{name}"], float)
            d = d_all[sel]
            finite = d[np.isfinite(d)]
            cell = {
                "rms": stats[name]["rms"],
                "rms_all": float(np.sqrt(np.mean(finite**2))) if finite.size else float("nan"),
                "bias": float(np.median(finite)) if finite.size else float("nan"),
                "reliability": stats[name]["reliability"],
                "reliability_paper": stats[name]["reliability_paper"],
                "n": int(sel.sum()),
                "n_good": int(good.sum()),
            }
            for key, column in (("pull", f"e_{name}"), ("pull_raw", f"raw_e_{name}")):
                if column in columns:
                    err = np.asarray(columns[column], float)[good]
                    cell[key] = robust_width(d_all[good] / err)
                else:
                    cell[key] = float("nan")
            cells[name] = cell
        cells["all"] = {
            "reliability": stats["all"]["reliability"],
            "reliability_paper": stats["all"]["reliability_paper"],
            "n": int(sel.sum()),
            "bad_fraction": float(1.0 - good.sum() / max(int(sel.sum()), 1)),
        }
        out[_snr_key(float(value))] = cells
    return out


def parse_box(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["teff=6000:25000", "paper"]`` → ``{label: (lo, hi)}`` (``paper``: :data:`PAPER_BOX`).

    Raises
    ------
    ValueError
        An item that is neither ``paper`` nor ``label=lo:hi`` with ``lo < hi``.
    """
    box: dict[str, tuple[float, float]] = {}
    for item in items:
        if item == "paper":
            box.update(PAPER_BOX)
            continue
        name, _, span = item.partition("=")
        lo, _, hi = span.partition(":")
        try:
            bounds = (float(lo), float(hi))
        except ValueError:
            raise ValueError(f"--box {item!r}: expected paper or LABEL=LO:HI") from None
        if not name or not bounds[0] < bounds[1]:
            raise ValueError(f"--box {item!r}: expected paper or LABEL=LO:HI with LO < HI")
        box[name] = bounds
    return box


def in_box(columns: dict[str, np.ndarray], box: dict[str, tuple[float, float]]) -> np.ndarray:
    """Cases whose true labels (``true_<label>``) lie inside ``box`` (edges included).

    Raises
    ------
    KeyError
        A label of the box the study has no truth column for.
    """
    n = len(columns["snr"])
    keep = np.ones(n, bool)
    for name, (lo, hi) in box.items():
        true = np.asarray(columns[f"true_{name}"], dtype=float)
        keep &= (true >= lo) & (true <= hi)
    return keep


def _fmt(name: str, x: float) -> str:
    return "–" if x is None or x != x else _FORMAT[name].format(x)


def _table_head(caption: str, heads: Sequence[str]) -> list[str]:
    """A caption and the header rows of a label × S/N table."""
    return [caption, "", "| label | " + " | ".join(f"S/N {h}" for h in heads) + " |",
            "|---|" + "---|" * len(heads)]


def render_headline(
    cells: dict[str, dict[str, dict[str, dict[str, float]]]],
    interpolant: dict[str, dict[tuple[str, str], float]],
    meta: dict[str, str],
) -> str:
    """Markdown of the headline tables.

    Parameters
    ----------
    cells : dict
        ``{instrument: headline_cells(...)}``.
    interpolant : dict
        ``{instrument: {(snr_key, label): rms}}`` of the interpolant study (may be empty).
    meta : dict
        ``{instrument: one line saying what the study was}``.

    Returns
    -------
    str
    """
    lines: list[str] = []
    for title, per_snr in cells.items():
        instrument = title.split()[0]
        keys = [k for k in ("inf", "100", "50") if k in per_snr] + sorted(
            k for k in per_snr if k not in ("inf", "100", "50")
        )
        heads = ["∞" if k == "inf" else k for k in keys]
        lines += [f"### {instrument.upper()}{title[len(instrument):]}", "", meta.get(title, ""), ""]
        lines += _table_head(
            "RMS over converged fits (band centred on the median) — **ours** / paper / interpolant "
            "study; below it the RMS of all fits and the median offset (bias):",
            heads,
        )
        for name in LABELS:
            if name not in per_snr[keys[0]]:
                continue
            row = []
            for k in keys:
                c = per_snr[k][name]
                paper = TABLE3.get(instrument, {}).get(k, {}).get(name)
                interp = interpolant.get(instrument, {}).get((k, name))
                row.append(
                    f"**{_fmt(name, c['rms'])}** / {_fmt(name, paper) if paper is not None else '–'}"
                    f" / {_fmt(name, interp) if interp is not None else '–'}"
                    f"<br>all {_fmt(name, c['rms_all'])}, bias {_fmt(name, c['bias'])}"
                )
            lines.append(f"| {name} [{_UNITS[name]}] | " + " | ".join(row) + " |")
        rel = []
        for k in keys:
            a = per_snr[k]["all"]
            paper = TABLE3_RELIABILITY.get(instrument, {}).get(k)
            rel.append(
                f"**{100 * a['reliability']:.1f} %** ({100 * a['reliability_paper']:.1f} % literal) / "
                + (f"{100 * paper:.1f} %" if paper is not None else "–")
            )
        lines.append("| reliability (all labels) | " + " | ".join(rel) + " |")
        bad = [per_snr[k]["all"] for k in keys]
        lines.append(
            "| fits flagged bad | "
            + " | ".join(f"{100 * a['bad_fraction']:.1f} % of {a['n']}" for a in bad)
            + " |"
        )
        lines += [""] + _table_head(
            "Pull widths `1.4826 · median |Δθ/e|` over fits not flagged bad (1 = calibrated; 0.8–1.25 "
            "the issue's band) — reported `e_` (calibrated) / the paper's χ²-parabola `raw_e_`:",
            heads,
        )
        for name in LABELS:
            if name not in per_snr[keys[0]]:
                continue
            row = [
                f"{per_snr[k][name]['pull']:.2f} / {per_snr[k][name]['pull_raw']:.2f}".replace("nan", "–")
                for k in keys
            ]
            lines.append(f"| {name} | " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def _read_columns(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        try:
            out[key] = np.array([float(v) if v != "" else np.nan for v in values])
        except ValueError:
            out[key] = np.array(values)
    out["result_flags"] = out["result_flags"].astype(np.int64)
    return out


def _read_interpolant(folder: Path) -> dict[tuple[str, str], float]:
    with open(folder / "table3.csv", newline="") as fh:
        return {(r["snr"], r["label"]): float(r["rms"]) for r in csv.DictReader(fh)}


def _pairs(values: Sequence[str]) -> dict[str, Path]:
    out = {}
    for item in values:
        name, _, path = item.partition("=")
        out[name] = Path(path)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the headline tables (see the module docstring)."""
    from zeta_payne.fitting.flags import BAD_MASK

    parser = argparse.ArgumentParser(prog="python -m zeta_payne.validation.headline", description=__doc__)
    parser.add_argument("--study", action="append", required=True, metavar="INSTRUMENT=DIR",
                        help="a synthesis-truth study folder (results.csv)")
    parser.add_argument("--interpolant", action="append", default=[], metavar="INSTRUMENT=DIR",
                        help="the interpolant study folder (table3.csv) for the side-by-side column")
    parser.add_argument("--box", action="append", default=[], metavar="paper|LABEL=LO:HI",
                        help="also tabulate the cases whose true labels lie in this box (repeat; "
                        "'paper': the paper's teff 6000-25000, logg 3-5, [M/H] -0.8..+0.8) — a study "
                        "over a wider box compared with the paper like for like")
    parser.add_argument("-o", "--output", type=Path, required=True, help="markdown file to write")
    args = parser.parse_args(argv)
    box = parse_box(args.box)
    box_text = ", ".join(f"{k} {lo:g}…{hi:g}" for k, (lo, hi) in box.items())
    cells, meta = {}, {}
    for instrument, folder in _pairs(args.study).items():
        columns = _read_columns(folder / "results.csv")
        subsets = [(instrument, columns, "")]
        if box:
            keep = in_box(columns, box)
            subsets.append((f"{instrument} within {box_text}",
                            {k: v[keep] for k, v in columns.items()},
                            f" Only the cases whose true labels lie within {box_text}."))
        for key, cols, note in subsets:
            if not len(cols["snr"]):
                continue
            cells[key] = headline_cells(cols, int(BAD_MASK))
            points = cols.get("case_truth_point")
            n_points = len(np.unique(points[np.isfinite(points)])) if points is not None else "?"
            per_snr = {k: v["all"]["n"] for k, v in cells[key].items()}
            meta[key] = (
                f"Study `{folder}`: {', '.join(f'S/N {k}: {n} cases' for k, n in per_snr.items())}; "
                f"{n_points} distinct synthesized truth points.{note}"
            )
    interpolant = {name: _read_interpolant(folder) for name, folder in _pairs(args.interpolant).items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_headline(cells, interpolant, meta) + "\n")
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
