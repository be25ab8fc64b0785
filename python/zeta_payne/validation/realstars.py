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
import math
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zeta_payne.environment import machine, package_versions
from zeta_payne.fitting.region import logg_minimum

__all__ = [
    "BOSS_BOX",
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

#: The BOSS bundle's label box (teff [K], logg, [M/H]): the default of :func:`classify`.
BOSS_BOX: dict[str, tuple[float, float]] = {"teff": (6000.0, 25000.0), "logg": (3.0, 5.0), "m_h": (-0.8, 0.8)}

#: How far beyond the box a star must be to be *scored* as out of the box, and how far inside
#: to be scored as in it (teff: a fraction of Teff; logg, m_h: dex): the label's typical error
#: in this comparison, the robust RMS (√(median² + (1.4826 MAD)²)) of fit − reference over the
#: in-box stars without a BAD flag, rounded up (measured 2026-12-02: Teff 1.97 %, log g 0.23,
#: [M/H] 0.32 — mostly the fit's −0.3 dex [M/H] offset for F stars). A star within the margin
#: of an edge, on either side, cannot be placed by its reference labels: it is scored apart
#: ("edge"), neither as in- nor as out-of-box.
EDGE_MARGIN: dict[str, float] = {"teff": 0.02, "logg": 0.25, "m_h": 0.35, "v_sini": 20.0}
#: v sin i [km/s] counts only where a true value is known (synthesis truth) and only at the
#: box's upper edge (0 is a physical bound, not an edge of the box: an unresolved rotator is a
#: warning, never bad); its margin is the v sin i RMS of Table 3 at S/N 50, rounded up (BOSS
#: 14.4, APOGEE 18.7 km/s; ``docs/validation/v3/README.md``).

#: The scored sets of :func:`scored_set`, in report order.
SCORED_SETS: tuple[str, ...] = ("in", "out", "edge", "peculiar", "unknown")

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

_EMISSION = re.compile(r"e")
_PECULIAR = re.compile(r"p|m|Si|Hg|Sr|Cr|Eu")


@dataclass(frozen=True)
class Classification:
    """Where a star sits relative to a bundle's box.

    ``teff_class`` is F (< 7500 K), A (< 10000 K), late-B (< 15000 K), early-B (< 30000 K) or O;
    ``reasons`` lists why a star is out of the box: ``teff``, ``giant`` (logg below the box),
    ``logg_high``, ``metal_poor``, ``metal_rich``, ``hb_subdwarf``, ``peculiar``, ``emission``,
    ``labels_missing``; ``in_box`` is true when there is none.
    """

    teff_class: str
    in_box: bool
    reasons: tuple[str, ...]


def classify(
    teff: float,
    logg: float,
    m_h: float,
    spectral_type: str = "",
    box: dict[str, tuple[float, float]] | None = None,
    floor: Sequence[Sequence[float]] = (),
) -> Classification:
    """Classify a star by its literature labels and spectral type (see :class:`Classification`).

    Spectral-type markers: ``e`` (emission, as in Be, Iae, Ve) → ``emission``; ``p``, ``m``
    (Ap, Am, HgMn ``mn``) or an element name → ``peculiar``; ``HB``, ``sd`` or luminosity
    class VI → ``hb_subdwarf``. ``floor`` is the bundle's log g floor (``fit_defaults``):
    below it a star is a ``giant`` for the bundle even inside the rectangular box.
    """
    box = _trained_box(box or BOSS_BOX, teff, floor)
    if teff < 7500:
        cls = "F"
    elif teff < 10000:
        cls = "A"
    elif teff < 15000:
        cls = "late-B"
    elif teff < 30000:
        cls = "early-B"
    else:
        cls = "O"
    reasons: list[str] = []
    if not all(np.isfinite(v) for v in (teff, logg, m_h)):
        reasons.append("labels_missing")
    if np.isfinite(teff) and not box["teff"][0] <= teff <= box["teff"][1]:
        reasons.append("teff")
    if np.isfinite(logg):
        if logg < box["logg"][0]:
            reasons.append("giant")
        elif logg > box["logg"][1]:
            reasons.append("logg_high")
    if np.isfinite(m_h):
        if m_h < box["m_h"][0]:
            reasons.append("metal_poor")
        elif m_h > box["m_h"][1]:
            reasons.append("metal_rich")
    spt = spectral_type or ""
    if "HB" in spt or spt.lower().startswith("sd") or re.search(r"\bVI\b|V-VI|\dVI", spt):
        reasons.append("hb_subdwarf")
    if _PECULIAR.search(spt.replace("var", "")):
        reasons.append("peculiar")
    if _EMISSION.search(spt.replace("var", "")):
        reasons.append("emission")
    return Classification(cls, not reasons, tuple(reasons))


def _trained_box(box: dict[str, tuple[float, float]], teff: float,
                 floor: Sequence[Sequence[float]]) -> dict[str, tuple[float, float]]:
    """``box`` with its lower log g raised to the bundle's log g floor at ``teff``."""
    if not floor or not np.isfinite(teff):
        return box
    return {**box, "logg": (logg_minimum(teff, box["logg"][0], floor), box["logg"][1])}


def scored_set(
    teff: float,
    logg: float,
    m_h: float,
    reasons: Sequence[str] = (),
    box: dict[str, tuple[float, float]] | None = None,
    margin: dict[str, float] | None = None,
    floor: Sequence[Sequence[float]] = (),
    v_sini: float = math.nan,
) -> str:
    """The set a star is scored in by the out-of-box detection (see ``docs/fitting.md``).

    * ``out``: an emission-line star, or a reference label beyond the box by more than the
      margin (:data:`EDGE_MARGIN`; Teff as a fraction) — physics the bundle does not have;
    * ``edge``: otherwise, a label within the margin of an edge, on either side (which side
      the star is on is below the comparison's own error);
    * ``peculiar``: otherwise, a chemically peculiar (Am/Ap/HgMn) star: inside the box in
      Teff, log g and [Fe/H], but with an abundance pattern the solar-scaled model lacks —
      scored apart, by whether its labels are right, not by whether it is flagged;
    * ``unknown``: otherwise, a label missing (cannot be placed);
    * ``in``: every label inside the box by more than the margin.

    Parameters
    ----------
    teff, logg, m_h : float
        Reference labels ([K], dex, dex; NaN when unknown).
    reasons : sequence of str
        :attr:`Classification.reasons` (``emission``, ``peculiar`` are used).
    box, margin : dict, optional
        Defaults: :data:`BOSS_BOX`, :data:`EDGE_MARGIN`.
    floor : sequence of (teff_lo, teff_hi, logg_min)
        The bundle's log g floor: the box's lower log g at the star's teff.
    v_sini : float, optional
        True v sin i [km/s] where known (synthesis truth; NaN for real stars). Scored against
        the upper edge of ``box["v_sini"]`` alone, when the box has one.

    Returns
    -------
    str
        One of :data:`SCORED_SETS`.
    """
    box = _trained_box(box or BOSS_BOX, teff, floor)
    margin = {**EDGE_MARGIN, **(margin or {})}
    if "emission" in reasons:
        return "out"
    beyond: dict[str, float] = {}
    for label, value in (("teff", teff), ("logg", logg), ("m_h", m_h)):
        if not np.isfinite(value):
            continue
        lo, hi = box[label]
        distance = max(lo - value, value - hi)  # > 0 outside, < 0 inside
        beyond[label] = distance / value if label == "teff" else distance
    if "v_sini" in box and np.isfinite(v_sini):
        beyond["v_sini"] = v_sini - box["v_sini"][1]
    if any(d > margin[k] for k, d in beyond.items()):
        return "out"
    if any(d > -margin[k] for k, d in beyond.items()):
        return "edge"
    if "peculiar" in reasons:
        return "peculiar"
    if not all(k in beyond for k in ("teff", "logg", "m_h")):
        return "unknown"
    return "in"


#: Main-sequence Teff [K] per spectral subtype (Pecaut & Mamajek 2013, ApJS 208, 9, Table 5,
#: the 2019 version), for :func:`spectral_type_teff`.
# fmt: off
_SPT_TEFF: dict[str, tuple[tuple[float, float], ...]] = {
    "O": ((3, 44900), (4, 42900), (5, 41400), (6, 39000), (7, 36900), (8, 35100), (9, 33300), (9.5, 31900)),
    "B": (
        (0, 31400), (0.5, 29000), (1, 26000), (1.5, 24500), (2, 20600), (2.5, 18500), (3, 17000),
        (4, 16400), (5, 15700), (6, 14500), (7, 14000), (8, 12300), (9, 10700), (9.5, 10400),
    ),
    "A": (
        (0, 9700), (1, 9300), (2, 8800), (3, 8600), (4, 8250), (5, 8100), (6, 7910), (7, 7760),
        (8, 7590), (9, 7400),
    ),
    "F": (
        (0, 7220), (1, 7020), (2, 6820), (3, 6750), (4, 6670), (5, 6550), (6, 6350), (7, 6280),
        (8, 6180), (9, 6050),
    ),
    "G": ((0, 5930), (2, 5770), (5, 5660), (8, 5480), (9, 5380)),
}
# fmt: on
_SPT = re.compile(r"^\s*(?:sd)?\s*([OBAFG])\s*(\d(?:\.\d)?)")


def spectral_type_teff(spectral_type: str) -> float:
    """Main-sequence Teff [K] of an MK spectral type's class and subtype (NaN without a subtype).

    A coarse check of a reference Teff (luminosity class and peculiarity ignored: good to
    ≈ 10 % for O–F stars); ``"A3IV"`` → 8600, ``"B9.5III"`` → 10400, ``"F"`` → NaN.
    """
    match = _SPT.match(spectral_type or "")
    if not match:
        return float("nan")
    table = _SPT_TEFF[match.group(1)]
    sub = float(match.group(2))
    x = np.array([t[0] for t in table])
    y = np.array([t[1] for t in table])
    return float(np.interp(sub, x, y))


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
        _flag_columns(row)
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


def _flag_columns(row: dict[str, Any]) -> None:
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
            _flag_columns(row)
            rows.append(row)
    return rows


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
            _flag_columns(row)
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
    from zeta_payne.fitting.outofbox import OutOfBoxThresholds

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
