"""A bundle's refit rules: when a fit is repeated, with what held, and when the repeat
contradicts its rule.

Four options of a bundle's ``fit_defaults`` (:class:`~zeta_payne.fitting.options.FitOptions`)
make the fitter repeat a fit with other options; this module decides *whether* and *how*,
from a fit's labels and flags, without fitting anything (the fitter does the refits:
``Fitter._hold_outside``, and :func:`zeta_payne.fitting.joint._with_holds` for joint fits).
Method and measured effect of each rule: ``docs/fitting.md``, "Refits".

- ``hold_outside``: a label held at a value where another label ends outside a range
  (v_micro outside 6,000–10,000 K);
- ``hold_unconstrained_at_edge``: a label held where a fit put it at an edge of the box *and*
  left it unconstrained;
- ``blue_limit_outside``: the fit repeated from a redder blue limit where a label ends
  outside a range (hot BOSS stars);
- ``masked_bands_outside``: the fit repeated with more bands masked where a label ends
  outside a range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zeta_payne.fitting.flags import label_flag
from zeta_payne.fitting.options import FitOptions

__all__ = ["BLUE_LIMIT", "EXTRA_MASK", "RefitRules"]

#: The name :meth:`RefitRules.held_names` gives the ``blue_limit_outside`` rule (not a label).
BLUE_LIMIT = "<blue limit>"
#: The name :meth:`RefitRules.held_names` gives the ``masked_bands_outside`` rule (not a label).
EXTRA_MASK = "<masked bands>"

#: ``(label index, lo, hi, value)`` of a rule decided by one label's range.
RangeRule = tuple[int, float, float, float]
#: ``(label index, lo, hi, bands [Å])`` of the ``masked_bands_outside`` rule.
MaskRule = tuple[int, float, float, tuple[tuple[float, float], ...]]


@dataclass(frozen=True)
class RefitRules:
    """The refit rules of one fitter's options, parsed against its labels.

    Attributes
    ----------
    label_names : tuple of str
        The bundle's labels, in its order.
    holds : dict of str to RangeRule
        ``hold_outside``: ``{held label: (index of the deciding label, lo, hi, held value)}``
        (free labels only: a label fixed everywhere needs no rule).
    edge_holds : dict of str to float
        ``hold_unconstrained_at_edge``: ``{label: held value}`` (free labels only).
    blue_rule : RangeRule or None
        ``blue_limit_outside`` as (deciding label's index, lo, hi, blue limit [Å]).
    mask_rule : MaskRule or None
        ``masked_bands_outside`` as (deciding label's index, lo, hi, bands [Å]).
    shift_max : float or None
        ``refit_shift_max``: the relative shift beyond which a refit that crossed its rule's
        boundary contradicts it (None: never).
    """

    label_names: tuple[str, ...]
    holds: dict[str, RangeRule]
    edge_holds: dict[str, float]
    blue_rule: RangeRule | None
    mask_rule: MaskRule | None
    shift_max: float | None

    @classmethod
    def from_options(cls, options: FitOptions, label_names: Sequence[str],
                     free: Sequence[bool]) -> RefitRules:
        """Parse ``options``' rules for a fitter of ``label_names`` whose free labels are
        ``free`` (shape (L,), bool).

        Raises
        ------
        ValueError
            A rule names an unknown label, a ``masked_bands_outside`` rule has no valid
            bands, or a label of ``hold_unconstrained_at_edge`` also has an
            ``edge_chi2_min`` (a flag-only option must not decide a refit).
        """
        names = tuple(label_names)
        is_free = dict(zip(names, (bool(f) for f in free), strict=True))
        holds = {}
        for name, rule in (options.hold_outside or {}).items():
            if name not in names:
                raise ValueError(f"hold_outside {name!r}: unknown labels; bundle has {names}")
            parsed = _range_rule(rule, f"hold_outside {name!r}", names)
            if is_free[name]:  # else fixed everywhere already
                holds[name] = parsed
        edge_holds = {}
        for name, value in (options.hold_unconstrained_at_edge or {}).items():
            if name not in names:
                raise ValueError(f"hold_unconstrained_at_edge {name!r}: unknown label; "
                                 f"bundle has {names}")
            if name in (options.edge_chi2_min or {}):  # its at-edge flag decides the refit
                raise ValueError(f"edge_chi2_min {name!r}: the label is held at an edge by "
                                 "hold_unconstrained_at_edge; a flag-only option must not "
                                 "decide a refit")
            if is_free[name]:
                edge_holds[name] = float(value)
        blue = options.blue_limit_outside or {}
        blue_rule = _range_rule(blue, "blue_limit_outside", names) if blue else None
        return cls(names, holds, edge_holds, blue_rule, _mask_rule(options, names),
                   options.refit_shift_max)

    @property
    def active(self) -> bool:
        """Whether a fit may be repeated with held labels or a narrower range."""
        return (bool(self.holds) or bool(self.edge_holds) or self.blue_rule is not None
                or self.mask_rule is not None)

    def held_names(self, labels: Mapping[str, float]) -> tuple[str, ...]:
        """The ``hold_outside`` labels a fit ending at ``labels`` must hold, :data:`BLUE_LIMIT`
        when it must be fitted again from the ``blue_limit_outside`` limit, and
        :data:`EXTRA_MASK` when again with the ``masked_bands_outside`` bands left out.

        Parameters
        ----------
        labels : mapping of str to float
            A fit's labels by name (other names are ignored; a missing or NaN deciding label
            holds nothing).
        """
        out = []
        for name, (j, lo, hi) in self._range_rules():
            value = float(labels.get(self.label_names[j], np.nan))
            if np.isfinite(value) and not lo <= value <= hi:
                out.append(name)
        return tuple(out)

    def edge_held_names(self, flags: int) -> tuple[str, ...]:
        """The ``hold_unconstrained_at_edge`` labels a fit with result ``flags`` must hold:
        those flagged both ``<LABEL>_AT_EDGE`` and ``<LABEL>_UNCONSTRAINED``."""
        out = []
        for name in self.edge_holds:
            both = int(label_flag(name, "at_edge")) | int(label_flag(name, "unconstrained"))
            if (int(flags) & both) == both:
                out.append(name)
        return tuple(out)

    def disagrees(self, first: Mapping[str, float], refit: Mapping[str, float]) -> bool:
        """Whether a refit contradicts the rule that called for it (``REFIT_DISAGREES``).

        True when a rule's deciding label ended outside the rule's range in the first fit
        and back inside it in the refit, more than ``shift_max`` of the first value away:
        with the rule's pixels (or label free) the spectrum is on one side of the boundary,
        without them on the other, far apart.

        Parameters
        ----------
        first, refit : mapping of str to float
            The first fit's and the refit's labels by name.
        """
        if self.shift_max is None:
            return False
        for _, (j, lo, hi) in self._range_rules():
            name = self.label_names[j]
            a = float(first.get(name, np.nan))
            b = float(refit.get(name, np.nan))
            if (np.isfinite(a) and np.isfinite(b) and not lo <= a <= hi and lo <= b <= hi
                    and abs(b - a) > self.shift_max * abs(a)):
                return True
        return False

    def held_options(self, options: FitOptions, names: Sequence[str],
                     default_range: tuple[float, float]) -> FitOptions:
        """``options`` for the refit that holds ``names`` (labels, :data:`BLUE_LIMIT`,
        :data:`EXTRA_MASK`): the labels fixed at their held values, the wavelength range
        (else ``default_range`` [Å]) from the blue limit, the rule's bands masked, and no
        refit rules of its own (so a refit never recurses)."""
        fixed = {**dict(options.fixed),
                 **{n: self.holds[n][3] if n in self.holds else self.edge_holds[n]
                    for n in names if n not in (BLUE_LIMIT, EXTRA_MASK)}}
        held = options.updated(fixed=fixed, hold_outside={}, blue_limit_outside={},
                               masked_bands_outside={}, hold_unconstrained_at_edge={})
        if EXTRA_MASK in names:
            held = held.updated(masked_bands=tuple(options.masked_bands) + self.mask_rule[3])
        if BLUE_LIMIT in names:
            lo, hi = options.wavelength_range or default_range
            held = held.updated(wavelength_range=(max(lo, self.blue_rule[3]), hi))
        return held

    def _range_rules(self) -> list[tuple[str, tuple[int, float, float]]]:
        """The rules decided by a label's range: ``(name, (label index, lo, hi))``."""
        rules = [(name, rule[:3]) for name, rule in self.holds.items()]
        if self.blue_rule is not None:
            rules.append((BLUE_LIMIT, self.blue_rule[:3]))
        if self.mask_rule is not None:
            rules.append((EXTRA_MASK, self.mask_rule[:3]))
        return rules


def _range_rule(rule: Mapping[str, Any], what: str, names: tuple[str, ...]) -> RangeRule:
    """A ``{"label", "range", "value"}`` rule as (label index, lo, hi, value)."""
    if rule.get("label") not in names:
        raise ValueError(f"{what}: unknown label {rule.get('label')!r}; bundle has {names}")
    lo, hi = (float(x) for x in rule["range"])
    return names.index(rule["label"]), lo, hi, float(rule["value"])


def _mask_rule(options: FitOptions, names: tuple[str, ...]) -> MaskRule | None:
    """``options.masked_bands_outside`` as label index, range and bands (None: no rule)."""
    rule = dict(options.masked_bands_outside or {})
    if not rule:
        return None
    bands = tuple((float(lo), float(hi)) for lo, hi in rule.pop("bands", ()))
    if not bands or any(hi <= lo for lo, hi in bands):
        raise ValueError("masked_bands_outside: 'bands' must be non-empty (lo, hi) pairs, lo < hi")
    index, lo, hi, _ = _range_rule({**rule, "value": 0.0}, "masked_bands_outside", names)
    return index, lo, hi, bands
