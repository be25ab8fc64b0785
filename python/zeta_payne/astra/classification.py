"""The spectrum classifier's output model and its values.

ASTRA's classifier (removed from ASTRA ``dev`` in 2024, still the paper's routing input)
writes per spectrum the probabilities ``p_<class>`` and log-probabilities ``lp_<class>`` of
the classes ``cv, fgkm, oba, wd, sb2, yso``, and a ``flag_most_likely_<class>`` bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from peewee import FloatField

__all__ = ["CLASSES", "SMALL", "classification_values", "make_classification_model"]

#: The classifier's classes, in flag-bit order.
CLASSES: tuple[str, ...] = ("cv", "fgkm", "oba", "wd", "sb2", "yso")
#: Log-probability stored for a class with zero probability.
SMALL: float = -1e20


def make_classification_model(base: type, bit_field: type) -> type:
    """Define ``SpectrumClassification`` on a ``PipelineOutputModel`` base class.

    Parameters
    ----------
    base : type
        ASTRA's (or the stand-in's) ``PipelineOutputModel``.
    bit_field : type
        The ``BitField`` class whose ``flag(value, help_text)`` makes named bits.
    """

    # ASTRA reads the `#>` comments (FITS header groups): keep them unformatted.

    # fmt: off
    class SpectrumClassification(base):  # type: ignore[misc, valid-type]
        """Per-spectrum class probabilities ``p_<class>`` and log-probabilities ``lp_<class>``."""

        #> Classification
        p_cv = FloatField(default=0)
        lp_cv = FloatField(default=SMALL)
        p_fgkm = FloatField(default=0)
        lp_fgkm = FloatField(default=SMALL)
        p_oba = FloatField(default=0)
        lp_oba = FloatField(default=SMALL)
        p_wd = FloatField(default=0)
        lp_wd = FloatField(default=SMALL)
        p_sb2 = FloatField(default=0)
        lp_sb2 = FloatField(default=SMALL)
        p_yso = FloatField(default=0)
        lp_yso = FloatField(default=SMALL)
        classification_flags = bit_field(default=0)

        flag_most_likely_cv = classification_flags.flag(2**0, help_text="Most likely is a CV")
        flag_most_likely_fgkm = classification_flags.flag(2**1, help_text="Most likely is a FGKM-type star")
        flag_most_likely_oba = classification_flags.flag(2**2, help_text="Most likely is a OBA-type star")
        flag_most_likely_wd = classification_flags.flag(2**3, help_text="Most likely is a white dwarf")
        flag_most_likely_sb2 = classification_flags.flag(2**4, help_text="Most likely is an SB2")
        flag_most_likely_yso = classification_flags.flag(2**5, help_text="Most likely is a YSO")
    # fmt: on

    SpectrumClassification.__qualname__ = "SpectrumClassification"
    return SpectrumClassification


def classification_values(probabilities: Mapping[str, float]) -> dict[str, Any]:
    """Column values for class probabilities (normalised; missing classes get 0).

    Parameters
    ----------
    probabilities : mapping
        ``{class: p}`` for some of :data:`CLASSES` (need not sum to 1).

    Returns
    -------
    dict
        ``p_<class>``, ``lp_<class>`` for every class and ``classification_flags`` with the
        most likely class's bit set.
    """
    unknown = set(probabilities) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown classes {sorted(unknown)}; known: {', '.join(CLASSES)}")
    raw = {c: max(float(probabilities.get(c, 0.0)), 0.0) for c in CLASSES}
    total = sum(raw.values())
    if not total > 0:
        raise ValueError("at least one class needs a positive probability")
    values: dict[str, Any] = {}
    for c in CLASSES:
        p = raw[c] / total
        values[f"p_{c}"] = p
        values[f"lp_{c}"] = math.log(p) if p > 0 else SMALL
    best = max(CLASSES, key=lambda c: raw[c])
    values["classification_flags"] = 1 << CLASSES.index(best)
    return values
