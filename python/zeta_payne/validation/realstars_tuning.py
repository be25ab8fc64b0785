"""Out-of-box thresholds for one bundle, tuned on its real-star benchmark run (no refit).

The detector's statistics of every fitted star are recomputed from the run's stored best
models (:func:`rediagnose`), the rows flagged again by other thresholds (:func:`reflag`); each
named group of thresholds is tuned on one half of the scored stars (:func:`tune_out_of_box`)
and scored on both (:func:`tuning_table`), so that what a tuning gains on the stars it was not
tuned on is in plain view. The result is the ``fit_defaults.out_of_box`` entry a bundle would
carry (:meth:`~zeta_payne.fitting.outofbox.OutOfBoxThresholds.changes`). Numerical only: the
caller reads the run and writes the report.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zeta_payne.fitting.outofbox import OutOfBoxThresholds
from zeta_payne.validation.realstars_stats import detection_statistics, flag_columns

__all__ = ["TUNING_GRID", "TUNING_GROUPS", "format_tuning", "rediagnose", "reflag", "tune_out_of_box",
           "tuning_table"]


#: Candidate values of the out-of-box thresholds searched by :func:`tune_out_of_box`
#: (``ratio_<group>`` for the ratio test of a group; ``inf``/``-inf`` switch a test off).
TUNING_GRID: dict[str, tuple[float, ...]] = {
    "ratio_balmer": (4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, math.inf),
    "ratio_metals": (4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, math.inf),
    "ratio_helium": (6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 30.0, math.inf),
    "ratio_helium_ii": (3.0, 4.0, 5.0, 6.0, 8.0, 12.0, math.inf),
    "bias_helium": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, math.inf),
    "cool_helium": (-0.5, -0.75, -1.0, -1.5, -2.0, -math.inf),
    "emission": (5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, math.inf),
    "metal_weak_m_h": (-math.inf, -0.8, -0.75, -0.7, -0.65, -0.6, -0.55, -0.5, -0.45),
}


#: The bits :func:`~zeta_payne.fitting.outofbox.out_of_box_flags` sets.
def _oob_bits() -> int:
    from zeta_payne.fitting.flags import ResultFlags

    return int(ResultFlags.OUT_OF_BOX | ResultFlags.LINE_MISMATCH | ResultFlags.EMISSION)


def rediagnose(rows: list[dict[str, Any]], models: dict, sample: str | os.PathLike) -> list[Any]:
    """The out-of-box statistics of every fitted row again, from its stored best model.

    Parameters
    ----------
    rows : list of dict
        Result rows (:func:`read_results`).
    models : dict
        ``{name: model flux}`` (``models.npz`` of the run).
    sample : path-like
        The sample folder the rows were fitted from.

    Returns
    -------
    list of OutOfBoxDiagnostics or None
        ``None`` where a row has no stored model.
    """
    from zeta_payne.fitting.outofbox import diagnose
    from zeta_payne.validation.realstars import load_sample  # (realstars re-exports this module)

    stars = {s.name: s for s in load_sample(sample, [r["name"] for r in rows])}
    out = []
    for r in rows:
        model = models.get(r["name"])
        s = stars[r["name"]].spectrum
        if model is None or np.size(model) != s.n_pixels:
            out.append(None)
            continue
        model = np.asarray(model, dtype=float)
        used = s.usable() & np.isfinite(model)
        out.append(diagnose(s.wavelength, s.flux, s.ivar, model, used, r["v_rad"]))
    return out


def reflag(rows: list[dict[str, Any]], diags: Sequence[Any], thresholds: Any) -> list[dict[str, Any]]:
    """Copies of ``rows`` with the out-of-box bits set again by ``thresholds`` (no refit).

    Rows without diagnostics keep their flags.
    """
    from zeta_payne.fitting.flags import flag_names
    from zeta_payne.fitting.outofbox import out_of_box_flags

    bits = _oob_bits()
    out = []
    for r, d in zip(rows, diags, strict=True):
        row = dict(r)
        if d is not None:
            flags = (int(r["result_flags"]) & ~bits) | out_of_box_flags(
                d, thresholds, teff=r["teff"], m_h=r.get("m_h")
            )
            row.update(result_flags=flags, flag_names=",".join(flag_names(flags)))
            flag_columns(row)
        out.append(row)
    return out


def _thresholds_with(base: Any, key: str, value: float) -> Any:
    import dataclasses

    if key.startswith("ratio_"):
        ratio = dict(base.ratio)
        ratio[key[len("ratio_") :]] = value
        return dataclasses.replace(base, ratio=ratio)
    return dataclasses.replace(base, **{key: value})


def _conservative(key: str, value: float) -> float:
    """Order of a threshold's values from flagging most to flagging least."""
    return -value if key in ("cool_helium", "metal_weak_m_h") else value


def tune_out_of_box(
    rows: list[dict[str, Any]],
    diags: Sequence[Any],
    half: int = 0,
    max_in_rate: float = 0.05,
    grid: dict[str, tuple[float, ...]] | None = None,
    start: Any = None,
    rounds: int = 4,
) -> tuple[Any, dict[str, float]]:
    """Out-of-box thresholds tuned on one half of the scored real stars (the other held out).

    Coordinate search over ``grid`` from ``start``: each threshold in turn takes the candidate
    value with which OUT_OF_BOX flags the most ``out`` stars of the half while it flags at most
    ``max_in_rate`` of its ``in`` stars, or no more than ``start`` does where that is more
    (ties: the most ``out`` stars with any BAD bit, the fewest ``in`` stars flagged, the most
    conservative value), until a round changes nothing. The detector is tuned on its own bit,
    not on every BAD bit: most ``out`` stars are BAD already by a label at the box edge, which
    would leave the spectrum-based tests nothing to learn from. With ~ 100 stars per half,
    searching every threshold at once over-fits (held-out in-box rates of 11–13 % measured,
    2026-12-02): tune a few thresholds at a time (``grid``).

    Parameters
    ----------
    rows : list of dict
        Result rows with ``scored`` and ``half`` (:func:`detection_statistics` sets it).
    diags : sequence of OutOfBoxDiagnostics or None
        :func:`rediagnose` of the rows.
    half : int
        The half tuned on (0: even rows).
    max_in_rate : float
        Largest fraction of the half's in-box stars OUT_OF_BOX may flag.
    grid : dict, optional
        Candidate values per threshold (default :data:`TUNING_GRID`).
    start : OutOfBoxThresholds, optional
        Starting point (default: the shipped thresholds).
    rounds : int
        At most this many passes over the thresholds.

    Returns
    -------
    thresholds : OutOfBoxThresholds
    score : dict
        ``in_oob``, ``out_oob`` and ``out_bad`` (fractions on the tuning half) of the result.
    """

    grid = grid or TUNING_GRID
    chosen = start or OutOfBoxThresholds()
    pick = [i for i, r in enumerate(rows) if i % 2 == half and r["scored"] in ("in", "out")]
    sub_rows = [rows[i] for i in pick]
    sub_diags = [diags[i] for i in pick]
    n_in = sum(r["scored"] == "in" for r in sub_rows)
    n_out = sum(r["scored"] == "out" for r in sub_rows)

    def score(t: Any) -> tuple[int, int, int]:
        flagged = reflag(sub_rows, sub_diags, t)
        return (
            sum(r["oob"] for r in flagged if r["scored"] == "in"),
            sum(r["oob"] for r in flagged if r["scored"] == "out"),
            sum(r["bad"] for r in flagged if r["scored"] == "out"),
        )

    best = score(chosen)
    # a start over the limit (the shipped thresholds on a new sample) may not get worse
    limit = max(max_in_rate * n_in, best[0])
    for _ in range(rounds):
        changed = False
        for key, values in grid.items():
            candidates = []
            for value in values:
                t = _thresholds_with(chosen, key, value)
                n_in_flagged, n_out_oob, n_out_bad = score(t)
                if n_in_flagged <= limit:
                    key_ = (n_out_oob, n_out_bad, -n_in_flagged, _conservative(key, value))
                    candidates.append((key_, t))
            if not candidates:
                continue
            top_key, top = max(candidates, key=lambda c: c[0])
            if top != chosen and top_key[:3] > (best[1], best[2], -best[0]):
                chosen, best, changed = top, score(top), True
        if not changed:
            break
    return chosen, {
        "in_oob": best[0] / max(n_in, 1),
        "out_oob": best[1] / max(n_out, 1),
        "out_bad": best[2] / max(n_out, 1),
    }


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
