"""Named result-flag bits of a fit.

Bits are fixed by name (not by a bundle's label order) so that flags from different bundles
and versions mean the same thing. ``BAD`` bits make a result unusable; ``WARN`` bits ask for
care. Per-label bits exist for the five canonical labels. Bits 0–63 fit a signed 64-bit
integer column; bits 43–63 are free.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntFlag

__all__ = [
    "ALL_BITS",
    "BAD_MASK",
    "CANONICAL_LABELS",
    "WARN_MASK",
    "ResultFlags",
    "flag_names",
    "label_flag",
]

#: Canonical label names, in the order of their per-label flag bits.
CANONICAL_LABELS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h", "v_micro")


class ResultFlags(IntFlag):
    """Result flag bits (stored as a 64-bit integer ``result_flags``)."""

    RUNTIME_EXCEPTION = 1 << 0  #: an unexpected error; see the result message
    NO_PIXELS = 1 << 1  #: no usable pixels in the fitted range
    TOO_FEW_PIXELS = 1 << 2  #: fewer usable pixels than the minimum
    LOW_SNR = 1 << 3  #: median S/N below the threshold
    OUTSIDE_COVERAGE = 1 << 4  #: spectrum does not overlap the bundle's wavelengths
    PARTIAL_COVERAGE = 1 << 5  #: less than half of the requested range is covered
    UNCONVERGED = 1 << 6  #: the least-squares optimiser hit its evaluation limit
    RV_AT_SEARCH_EDGE = 1 << 7  #: fitted RV outside the pre-search range (raise rv_range)
    FITTING_FAILURE = 1 << 8  #: singular Jacobian or non-finite model/χ²
    BAD_INPUT_PIXELS = 1 << 9  #: non-finite flux or ivar found (those pixels were masked)
    POOR_FIT = 1 << 10  #: reduced χ² above the threshold
    LSF_FROM_BUNDLE = 1 << 11  #: the spectrum has no LSF: the bundle's nominal R was used
    TEFF_AT_EDGE = 1 << 12
    LOGG_AT_EDGE = 1 << 13
    V_SINI_AT_EDGE = 1 << 14  #: v sin i at the box's upper edge (the lower edge is V_SINI_UNRESOLVED)
    M_H_AT_EDGE = 1 << 15
    V_MICRO_AT_EDGE = 1 << 16
    V_SINI_UNRESOLVED = 1 << 17  #: v sin i at 0 or below the resolution limit (an upper limit)
    OUT_OF_BOX = 1 << 18  #: the model does not describe this spectrum's physics (see its reason bits)
    LINE_MISMATCH = 1 << 19  #: a line group fitted much worse than the rest, or with one-signed residuals
    TEFF_NEAR_EDGE = 1 << 20
    LOGG_NEAR_EDGE = 1 << 21
    V_SINI_NEAR_EDGE = 1 << 22
    M_H_NEAR_EDGE = 1 << 23
    V_MICRO_NEAR_EDGE = 1 << 24
    EMISSION = 1 << 25  #: flux above the model in the Hα/Hβ (Brγ) core: an emission-line star
    RAPID_ROTATION = 1 << 26  #: v sin i where gravity darkening matters (rigid_rotation_v_sini_max)
    REFIT_DISAGREES = 1 << 27  #: a rule's refit came back inside its range, far from the first fit
    TEFF_NONCONVEX_CHI2 = 1 << 28
    LOGG_NONCONVEX_CHI2 = 1 << 29
    V_SINI_NONCONVEX_CHI2 = 1 << 30
    M_H_NONCONVEX_CHI2 = 1 << 31
    V_MICRO_NONCONVEX_CHI2 = 1 << 32
    JOINT_TENSION = 1 << 33  #: joint fit: a spectrum disagrees with the joint labels (see its tension)
    RV_VARIABLE = 1 << 34  #: multi-epoch: the visit RVs are not constant within their errors (SB1)
    SB2_CANDIDATE = 1 << 35  #: residuals show a second, shifted set of lines (double-lined binary?)
    NLTE_REGIME = 1 << 36  #: teff where LTE models stop being credible (FitOptions.lte_teff_max)
    UNTRAINED_REGION = 1 << 37  #: labels where the bundle has no training spectra (FitOptions.logg_floor)
    TEFF_UNCONSTRAINED = 1 << 38
    LOGG_UNCONSTRAINED = 1 << 39
    V_SINI_UNCONSTRAINED = 1 << 40
    M_H_UNCONSTRAINED = 1 << 41  #: e.g. APOGEE above 10 kK: the H band has almost no metal lines
    V_MICRO_UNCONSTRAINED = 1 << 42


BAD_MASK: ResultFlags = (
    ResultFlags.RUNTIME_EXCEPTION
    | ResultFlags.NO_PIXELS
    | ResultFlags.TOO_FEW_PIXELS
    | ResultFlags.OUTSIDE_COVERAGE
    | ResultFlags.UNCONVERGED
    | ResultFlags.FITTING_FAILURE
    | ResultFlags.TEFF_AT_EDGE
    | ResultFlags.LOGG_AT_EDGE
    | ResultFlags.V_SINI_AT_EDGE
    | ResultFlags.M_H_AT_EDGE
    | ResultFlags.V_MICRO_AT_EDGE
    | ResultFlags.OUT_OF_BOX
    | ResultFlags.JOINT_TENSION
    | ResultFlags.UNTRAINED_REGION
    | ResultFlags.REFIT_DISAGREES
)
#: Every defined bit.
ALL_BITS: int = sum(int(f) for f in ResultFlags)
WARN_MASK: ResultFlags = ResultFlags(~BAD_MASK & ALL_BITS)


def label_flag(label: str, kind: str) -> ResultFlags:
    """The per-label flag of ``kind`` ("at_edge", "near_edge", "nonconvex_chi2",
    "unconstrained") for ``label``.

    Labels without a canonical bit map to ``ResultFlags(0)``.
    """
    if label not in CANONICAL_LABELS:
        return ResultFlags(0)
    return ResultFlags[f"{label.upper()}_{kind.upper()}"]


def labels_flag(labels: Iterable[str], kind: str) -> int:
    """The per-label flags of ``kind`` of every label in ``labels``, or-ed (0 for none)."""
    bits = 0
    for label in labels:
        bits |= int(label_flag(label, kind))
    return bits


def flag_names(value: int) -> list[str]:
    """Lower-case names of the bits set in ``value``."""
    return [f.name.lower() for f in ResultFlags if f.name and value & f.value]
