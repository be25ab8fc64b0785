"""Where a real star sits relative to a bundle's box, by its literature labels and spectral
type: its class, its out-of-box reasons, the set it is scored in, and its spectral type's
main-sequence teff (the real-star benchmark, :mod:`zeta_payne.validation.realstars`)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zeta_payne.fitting.region import logg_minimum

__all__ = [
    "BOSS_BOX",
    "EDGE_MARGIN",
    "SCORED_SETS",
    "Classification",
    "classify",
    "scored_set",
    "spectral_type_teff",
]

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
