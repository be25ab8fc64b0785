"""Out-of-box thresholds for one bundle, tuned on its real-star benchmark run (no refit).

The detector's statistics of every fitted star are recomputed from the run's stored best
models (:func:`~zeta_payne.validation.realstars.rediagnose`); each named group of thresholds
is tuned on one half of the scored stars (:func:`~zeta_payne.validation.realstars.tune_out_of_box`)
and scored on both, so that what a tuning gains on the stars it was not tuned on is in plain
view. The result is the ``fit_defaults.out_of_box`` entry a bundle would carry
(:meth:`~zeta_payne.fitting.outofbox.OutOfBoxThresholds.changes`). Numerical only: the caller
reads the run and writes the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from zeta_payne.fitting.outofbox import OutOfBoxThresholds
from zeta_payne.validation.realstars import TUNING_GRID, detection_statistics, reflag, tune_out_of_box

__all__ = ["TUNING_GROUPS", "tuning_table", "format_tuning"]

#: Threshold groups tuned together (searching all at once over-fits ~100 stars per half).
TUNING_GROUPS: dict[str, tuple[str, ...]] = {
    "ratios": tuple(k for k in TUNING_GRID if k.startswith("ratio_")),
    "helium": ("bias_helium", "cool_helium"),
    "emission": ("emission",),
    "metal_weak": ("metal_weak_m_h",),
    "all": tuple(TUNING_GRID),
}


def _scores(rows: list[dict[str, Any]]) -> dict[str, int]:
    """``{in|out}_{oob|bad}_half{0|1}`` and the set sizes of re-flagged rows."""
    out: dict[str, int] = {}
    for entry in detection_statistics(rows):
        if entry["group"] != "all" or entry["set"] not in ("in", "out"):
            continue
        for h in (0, 1):
            out[f"{entry['set']}_n_half{h}"] = entry[f"n_half{h}"]
            out[f"{entry['set']}_oob_half{h}"] = entry[f"n_oob_half{h}"]
            out[f"{entry['set']}_bad_half{h}"] = entry[f"n_bad_half{h}"]
    return out


def tuning_table(
    rows: list[dict[str, Any]],
    diags: Sequence[Any],
    start: OutOfBoxThresholds,
    groups: Sequence[str] = ("ratios", "helium", "emission"),
    max_in_rate: float = 0.05,
) -> list[dict[str, Any]]:
    """The bundle's thresholds, then each group tuned on each half, scored on both halves.

    Parameters
    ----------
    rows : list of dict
        Result rows of a benchmark run (:func:`~zeta_payne.validation.realstars.read_results`).
    diags : sequence of OutOfBoxDiagnostics or None
        :func:`~zeta_payne.validation.realstars.rediagnose` of the rows.
    start : OutOfBoxThresholds
        The bundle's thresholds (the starting point and the first row).
    groups : sequence of str
        Keys of :data:`TUNING_GROUPS`.
    max_in_rate : float
        Largest fraction of a half's in-box stars OUT_OF_BOX may flag while tuning.

    Returns
    -------
    list of dict
        ``variant`` ("bundle" or "<group> on half <h>"), ``changes`` (the ``out_of_box``
        entry, relative to the defaults), ``thresholds`` and the counts of :func:`_scores`.
    """
    detection_statistics(rows)  # marks the halves
    table = [{"variant": "bundle", "changes": start.changes(), "thresholds": start,
              **_scores(reflag(rows, diags, start))}]
    for group in groups:
        grid = {k: TUNING_GRID[k] for k in TUNING_GROUPS[group]}
        for half in (0, 1):
            tuned, _ = tune_out_of_box(
                rows, diags, half=half, max_in_rate=max_in_rate, grid=grid, start=start
            )
            table.append({"variant": f"{group} on half {half}", "changes": tuned.changes(),
                          "thresholds": tuned, **_scores(reflag(rows, diags, tuned))})
    return table


def format_tuning(table: Sequence[Mapping[str, Any]], title: str) -> str:
    """Markdown of :func:`tuning_table`: per variant, the *out* stars with any BAD bit and with
    OUT_OF_BOX, and the *in* stars with OUT_OF_BOX, on each half (the held-out half in bold)."""

    def cell(r: Mapping[str, Any], key: str, h: int, held: bool) -> str:
        n = r[f"{key.split('_')[0]}_n_half{h}"]
        text = f"{r[f'{key}_half{h}']}/{n}"
        return f"**{text}**" if held else text

    lines = [
        f"# {title}",
        "",
        "Each variant is tuned on one half of the scored stars (even or odd rows) and counted on "
        "both; the held-out half is in bold. *out* any BAD: the issue's detection target (≥ 95 %); "
        "*in* OUT_OF_BOX: its false-alarm target (≤ 5 %).",
        "",
        "| variant | out any BAD h0 | h1 | out OUT_OF_BOX h0 | h1 | in OUT_OF_BOX h0 | h1 | `out_of_box` |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in table:
        tuned_on = None if r["variant"] == "bundle" else int(r["variant"][-1])
        cells = []
        for key in ("out_bad", "out_oob", "in_oob"):
            cells += [cell(r, key, h, tuned_on is not None and h != tuned_on) for h in (0, 1)]
        lines.append(f"| {r['variant']} | " + " | ".join(cells) + f" | `{json.dumps(r['changes'])}` |")
    return "\n".join(lines) + "\n"
