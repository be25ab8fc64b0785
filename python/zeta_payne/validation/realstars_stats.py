"""The real-star benchmark's statistics (:mod:`zeta_payne.validation.realstars`): offsets per
teff bin, flag and silent-failure counts per group, and the out-of-box detection's rates per
scored set, from result rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from zeta_payne.validation.realstars_classes import SCORED_SETS

__all__ = [
    "COMPARED",
    "TEFF_BINS",
    "WRONG",
    "bin_statistics",
    "detection_statistics",
    "flag_columns",
    "flag_statistics",
    "robust_scatter",
]

#: Teff bins [K] of the offset tables.
TEFF_BINS: tuple[float, ...] = (6000.0, 6400.0, 7500.0, 10000.0, 15000.0, 25000.0, math.inf)

#: Labels compared with a reference: (fitted column, reference column, unit).
COMPARED: tuple[tuple[str, str, str], ...] = (
    ("teff", "teff_ref", "K"),
    ("logg", "logg_ref", "dex"),
    ("m_h", "m_h_ref", "dex"),
    ("v_rad", "v_rad_ref", "km/s"),
)

#: What counts as a wrong result for the "silent failure" score: |Δteff|/teff, |Δlogg|, |Δ[M/H]|.
WRONG: dict[str, float] = {"teff_frac": 0.10, "logg": 0.5, "m_h": 0.5}


def robust_scatter(x: Sequence[float] | np.ndarray) -> float:
    """1.4826 × median absolute deviation of the finite values (``nan`` when none)."""
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(a - np.median(a))))


def _median(x: np.ndarray) -> float:
    a = np.asarray(x, dtype=float)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def _bin_label(lo: float, hi: float) -> str:
    return f"{lo:.0f}–{hi:.0f}" if np.isfinite(hi) else f"≥{lo:.0f}"


def bin_statistics(rows: list[dict[str, Any]], bins: Sequence[float] = TEFF_BINS) -> list[dict[str, Any]]:
    """Per reference-Teff bin and sample: n, median offset and robust scatter of each label.

    Rows with a BAD flag are left out of the offsets (they are counted in ``n_bad``).
    Samples: ``in-box``, ``out-of-box`` and ``all``; for each label ``d_<label>_median``,
    ``d_<label>_scatter`` and ``n_<label>`` (stars with a reference value); for Teff also
    the fractional offset ``d_teff_pct_*``.
    """
    out = []
    for sample in ("in-box", "out-of-box", "all"):
        for lo, hi in [*zip(bins[:-1], bins[1:], strict=False), (bins[0], math.inf)]:
            sel = [
                r
                for r in rows
                if lo <= r["teff_ref"] < hi and (sample == "all" or (sample == "in-box") == bool(r["in_box"]))
            ]
            good = [r for r in sel if not r["bad"]]
            entry: dict[str, Any] = {
                "sample": sample,
                "teff_bin": "all" if (lo, hi) == (bins[0], math.inf) else _bin_label(lo, hi),
                "n": len(sel),
                "n_bad": len(sel) - len(good),
            }
            pct = np.array([100.0 * r["d_teff"] / r["teff_ref"] for r in good])
            entry["d_teff_pct_median"] = _median(pct)
            entry["d_teff_pct_scatter"] = robust_scatter(pct)
            for label, _, _ in COMPARED:
                d = np.array([r[f"d_{label}"] for r in good], dtype=float)
                entry[f"n_{label}"] = int(np.isfinite(d).sum())
                entry[f"d_{label}_median"] = _median(d)
                entry[f"d_{label}_scatter"] = robust_scatter(d)
            entry["rchi2_median"] = _median(np.array([r["rchi2"] for r in good]))
            out.append(entry)
    return out


def _wrong(r: dict[str, Any]) -> bool:
    return bool(
        abs(r["d_teff"]) > WRONG["teff_frac"] * r["teff_ref"]
        or abs(r["d_logg"]) > WRONG["logg"]
        or abs(r["d_m_h"]) > WRONG["m_h"]
    )


def flag_statistics(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group (in-box, every out-of-box reason, all out-of-box): flag and failure counts.

    ``n_bad``: a BAD flag; ``n_poor_fit``: POOR_FIT; ``n_edge``: a label at or near the box
    edge; ``n_flagged``: any of those; ``n_wrong``: an offset beyond :data:`WRONG` (NaN
    references do not count); ``n_silent``: wrong and not flagged; ``n_silent_strict``: wrong
    with neither a BAD flag nor POOR_FIT (a near-edge warning alone does not count);
    ``n_oob``: OUT_OF_BOX (the out-of-box detector, :mod:`zeta_payne.fitting.outofbox`);
    ``n_off15_silent``: |ΔTeff| > 15 % with neither a BAD flag nor POOR_FIT.
    Per half of the sample (``half`` 0/1: the row's position in ``rows``, even/odd — the
    halves the detector was tuned on and tested on), ``n_half{h}`` and ``n_oob_half{h}``.
    """
    for i, r in enumerate(rows):
        r["half"] = i % 2
    groups: dict[str, list[dict[str, Any]]] = {"in-box": [r for r in rows if r["in_box"]]}
    groups["out-of-box (any)"] = [r for r in rows if not r["in_box"]]
    reasons = sorted({x for r in rows for x in r["out_of_box"].split(";") if x})
    for reason in reasons:
        groups[reason] = [r for r in rows if reason in r["out_of_box"].split(";")]
    out = []
    for group, sel in groups.items():
        wrong = [_wrong(r) for r in sel]
        flagged = [r["bad"] or r["poor_fit"] or r["edge"] for r in sel]
        out.append(
            {
                "group": group,
                "n": len(sel),
                "n_bad": sum(r["bad"] for r in sel),
                "n_poor_fit": sum(r["poor_fit"] for r in sel),
                "n_edge": sum(r["edge"] for r in sel),
                "n_flagged": sum(flagged),
                "n_wrong": sum(wrong),
                "n_silent": sum(w and not f for w, f in zip(wrong, flagged, strict=False)),
                "n_silent_strict": sum(
                    w and not (r["bad"] or r["poor_fit"]) for w, r in zip(wrong, sel, strict=False)
                ),
                "n_oob": sum(bool(r.get("oob")) for r in sel),
                "n_off15_silent": sum(
                    bool(abs(r["d_teff"]) > 0.15 * r["teff_ref"]) and not (r["bad"] or r["poor_fit"])
                    for r in sel
                ),
                "rchi2_median": _median(np.array([r["rchi2"] for r in sel])),
            }
        )
        for h in (0, 1):
            half = [r for r in sel if r["half"] == h]
            out[-1][f"n_half{h}"] = len(half)
            out[-1][f"n_oob_half{h}"] = sum(bool(r.get("oob")) for r in half)
    return out


def _rate_columns(entry: dict[str, Any], sel: list[dict[str, Any]], suffix: str = "") -> None:
    entry[f"n{suffix}"] = len(sel)
    entry[f"n_oob{suffix}"] = sum(bool(r["oob"]) for r in sel)
    entry[f"n_bad{suffix}"] = sum(bool(r["bad"]) for r in sel)


def detection_statistics(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flag rates of the out-of-box detection per scored set (:func:`scored_set`) and half.

    One entry per set (``in``, ``out``, ``edge``, ``peculiar``, ``unknown``) and per
    out-of-box reason within ``out`` (group ``out: <reason>``): ``n``, ``n_oob`` (OUT_OF_BOX,
    the detector's own bit) and ``n_bad`` (any BAD bit: OUT_OF_BOX or a label at the box
    edge, …), all stars and per half (``_half0`` the even rows the detector was tuned on,
    ``_half1`` the odd rows held out); ``n_off15`` (|ΔTeff| > 15 %), ``n_off15_silent``
    (of those, neither BAD nor POOR_FIT) and ``n_off15_silent_disputed`` (of those, the
    reference disagrees with the spectral type by > 15 % while the fit agrees with it:
    ``ref_disputed``).
    """
    for i, r in enumerate(rows):
        r["half"] = i % 2
    groups: list[tuple[str, str, list[dict[str, Any]]]] = []
    for name in SCORED_SETS:
        groups.append((name, "all", [r for r in rows if r["scored"] == name]))
        if name == "out":
            out = groups[-1][2]
            for reason in sorted({x for r in out for x in r["out_of_box"].split(";") if x}):
                groups.append((name, reason, [r for r in out if reason in r["out_of_box"].split(";")]))
    table = []
    for name, group, sel in groups:
        entry: dict[str, Any] = {"set": name, "group": group}
        _rate_columns(entry, sel)
        for h in (0, 1):
            _rate_columns(entry, [r for r in sel if r["half"] == h], f"_half{h}")
        off = [r for r in sel if np.isfinite(r["d_teff"]) and abs(r["d_teff"]) > 0.15 * r["teff_ref"]]
        silent = [r for r in off if not (r["bad"] or r["poor_fit"])]
        entry["n_off15"] = len(off)
        entry["n_off15_silent"] = len(silent)
        entry["n_off15_silent_disputed"] = sum(bool(r["ref_disputed"]) for r in silent)
        table.append(entry)
    return table


def flag_columns(row: dict[str, Any]) -> None:
    """Set a result row's boolean columns from its ``result_flags`` (in place): ``bad`` (any
    BAD bit), ``poor_fit``, ``edge`` (teff, log g or [M/H] at or near the box's edge), ``oob``
    (OUT_OF_BOX) and ``ref_disputed`` (the reference teff > 15 % from the spectral type's
    ``teff_spt`` while the fit is within 15 % of it)."""
    from zeta_payne.fitting.flags import BAD_MASK, ResultFlags

    flags = int(row["result_flags"])
    edge = 0
    for kind in ("AT_EDGE", "NEAR_EDGE"):
        for label in ("TEFF", "LOGG", "M_H"):
            edge |= ResultFlags[f"{label}_{kind}"]
    row["bad"] = bool(flags & int(BAD_MASK))
    row["poor_fit"] = bool(flags & int(ResultFlags.POOR_FIT))
    row["edge"] = bool(flags & int(edge))
    row["oob"] = bool(flags & int(ResultFlags.OUT_OF_BOX))
    spt = float(row.get("teff_spt", float("nan")))
    row["ref_disputed"] = bool(
        np.isfinite(spt) and abs(row["teff_ref"] - spt) > 0.15 * spt and abs(row["teff"] - spt) <= 0.15 * spt
    )
