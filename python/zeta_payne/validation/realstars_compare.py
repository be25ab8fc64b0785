"""Two real-star benchmark runs side by side on the same stars (a before/after of two bundles).

The two runs usually differ in their boxes (a wider bundle puts more stars "in the box") and in
which fits they flag bad, so their own per-bin tables (``bins.csv``) are not like for like. This
module keeps only the stars that are inside the box of **both** runs and carry a BAD bit in
**neither**, and gives, per bin of reference teff, the median fit − reference of each run on
exactly those stars. Beside it, each run's own counts (stars in its box, BAD among them) say what
the selection left out.

Numerical code only: rows in, table rows out (no I/O; :mod:`zeta_payne.cli.benchmark_real` reads
the ``results.csv`` files and prints the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["COMPARE_BINS", "compare_runs", "format_comparison"]

#: Bins of reference teff [K] of the comparison: the F stars split where the real-star benchmark's
#: [M/H] offset was first seen (6,400 K), the A stars, the B stars.
COMPARE_BINS: tuple[float, ...] = (6000.0, 6400.0, 7500.0, 10000.0, 15000.0, 30000.0)

_LABELS = ("teff", "logg", "m_h")


def _median(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def compare_runs(
    before: Sequence[dict[str, Any]],
    after: Sequence[dict[str, Any]],
    bins: Sequence[float] = COMPARE_BINS,
) -> list[dict[str, Any]]:
    """Median offsets of two runs on the stars in both boxes and flagged bad by neither.

    Parameters
    ----------
    before, after : sequence of dict
        Result rows of two runs (:func:`zeta_payne.validation.realstars.read_results`): each
        needs ``name``, ``teff_ref``, ``in_box`` (0/1), ``bad`` (bool) and ``d_teff`` [K],
        ``d_logg`` [dex], ``d_m_h`` [dex] (fit − reference; NaN where the reference has none).
    bins : sequence of float, shape (n_bins + 1,)
        Edges of the reference-teff bins [K].

    Returns
    -------
    list of dict
        One entry per bin with at least one star in either run's box, then one for all bins:
        ``bin`` (label), ``n`` (stars compared), ``n_in_before``/``n_in_after`` (stars of the bin
        in each run's box), ``n_bad_before``/``n_bad_after`` (of those, BAD), and per run and
        label ``<run>_d_teff_pct`` [%], ``<run>_d_logg``, ``<run>_d_m_h`` [dex] (medians over the
        compared stars; NaN without any).
    """
    b_by = {r["name"]: r for r in before}
    a_by = {r["name"]: r for r in after}
    edges = list(bins)
    ranges = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)] + [(edges[0], edges[-1])]
    table = []
    for k, (lo, hi) in enumerate(ranges):
        label = "all" if k == len(ranges) - 1 else f"{lo:.0f}–{hi:.0f}"

        def in_bin(r: dict[str, Any], lo: float = lo, hi: float = hi) -> bool:
            return lo <= float(r["teff_ref"]) < hi

        entry: dict[str, Any] = {"bin": label}
        for run, rows in (("before", before), ("after", after)):
            inside = [r for r in rows if r["in_box"] and in_bin(r)]
            entry[f"n_in_{run}"] = len(inside)
            entry[f"n_bad_{run}"] = sum(bool(r["bad"]) for r in inside)
        names = [
            n
            for n, r in b_by.items()
            if n in a_by
            and in_bin(r)
            and r["in_box"]
            and a_by[n]["in_box"]
            and not r["bad"]
            and not a_by[n]["bad"]
        ]
        entry["n"] = len(names)
        if entry["n_in_before"] == 0 and entry["n_in_after"] == 0:
            continue
        for run, by in (("before", b_by), ("after", a_by)):
            entry[f"{run}_d_teff_pct"] = _median([100.0 * by[n]["d_teff"] / by[n]["teff_ref"] for n in names])
            for lab in _LABELS[1:]:
                entry[f"{run}_d_{lab}"] = _median([by[n][f"d_{lab}"] for n in names])
        table.append(entry)
    return table


def _pair(a: float, b: float, fmt: str) -> str:
    def one(v: float) -> str:
        return "—" if not np.isfinite(v) else format(v, fmt)

    return f"{one(a)} → {one(b)}"


def format_comparison(table: Sequence[dict[str, Any]], before: str, after: str) -> str:
    """The table of :func:`compare_runs` as markdown (``before → after`` in every cell).

    Parameters
    ----------
    table : sequence of dict
        Output of :func:`compare_runs`.
    before, after : str
        Names of the two runs, for the header line.
    """
    lines = [
        f"Before: {before}; after: {after}. Median fit − reference on the stars inside both runs' "
        "boxes and flagged bad by neither (n); each run's own stars in its box and BAD among them "
        "beside it.",
        "",
        "| reference teff [K] | n | in box (BAD), before → after | Δteff [%] | Δlog g [dex] | Δ[M/H] [dex] |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for e in table:
        counts = f"{e['n_in_before']} ({e['n_bad_before']}) → {e['n_in_after']} ({e['n_bad_after']})"
        lines.append(
            f"| {e['bin']} | {e['n']} | {counts} "
            f"| {_pair(e['before_d_teff_pct'], e['after_d_teff_pct'], '+.1f')} "
            f"| {_pair(e['before_d_logg'], e['after_d_logg'], '+.2f')} "
            f"| {_pair(e['before_d_m_h'], e['after_d_m_h'], '+.2f')} |"
        )
    return "\n".join(lines) + "\n"
