"""Which spectra ZETA-PAYNE gets: classifier routing and the reprocessing rules.

Routing (the paper: "the three highest probability classes are considered for each stellar
spectrum"): a spectrum is routed when its ``hot_class`` (``oba``) has a non-zero probability
and fewer than ``top_k`` classes are more probable (ties share a rank) in any of its
``SpectrumClassification`` rows, or when its source is a target of a carton in ``program``
(``mwm_ob``, the hot-star program).

Routing data: the classifier rows (``spectrum_classification``; ASTRA ``dev`` has no
classifier, so they are loaded with ``zeta-payne classify`` or at ingest) and the carton
programs of the sources (the stand-in's ``Source.sdss5_programs``; with real ASTRA its
``Source.sdss5_target_flags`` — bound only when ASTRA's database is PostgreSQL — and its
targeting table ``$MWM_ASTRA/aux/targeting-bits/sdss5_target_3_with_groups.csv``).
:func:`check_routing` says what is usable and raises :class:`RoutingDataMissing` when
routing is asked for and nothing is: a run must not "succeed" having fitted nothing.

Work: routed spectra that have no ``ZetaPayne`` row for the current ASTRA major.minor
version, or whose row is older than the spectrum's ``modified`` (reprocessed upstream), or
was made with another bundle (name, version or sha256). ``reprocess`` takes every routed
spectrum. Newest spectra first (``modified`` descending), as ASTRA orders its work.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from peewee import JOIN, Case, Expression, ModelSelect, PostgresqlDatabase

from zeta_payne.astra import compat
from zeta_payne.astra.classification import CLASSES, SMALL
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.bundles.bundle import Bundle
from zeta_payne.exceptions import ZetaPayneError
from zeta_payne.io.sdss.paths import expand_path

__all__ = [
    "TARGETING_TABLE",
    "Routing",
    "RoutingData",
    "RoutingDataMissing",
    "check_routing",
    "pending_query",
    "program_routing",
    "routed_expression",
    "routed_query",
]

log = logging.getLogger(__name__)

#: ASTRA's table of carton bits (read by ``Source.assigned_to_program``).
TARGETING_TABLE = "$MWM_ASTRA/aux/targeting-bits/sdss5_target_3_with_groups.csv"


class RoutingDataMissing(ZetaPayneError):
    """Routing is asked for, but neither classifier rows nor carton programs are available."""


@dataclass(frozen=True)
class Routing:
    """The routing rule.

    Attributes
    ----------
    hot_class : str
        Classifier class of hot stars.
    top_k : int
        Route when ``hot_class`` is among this many most probable classes (paper: 3).
    program : str or None
        Also route targets of cartons in this program (``None``: classifier only).
    enabled : bool
        ``False`` routes every spectrum.
    """

    hot_class: str = "oba"
    top_k: int = 3
    program: str | None = "mwm_ob"
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.hot_class not in CLASSES:
            raise ValueError(f"unknown class {self.hot_class!r}; known: {', '.join(CLASSES)}")
        if not 1 <= int(self.top_k) <= len(CLASSES):
            raise ValueError(f"top_k must be between 1 and {len(CLASSES)}")


def program_routing() -> str | None:
    """Why carton-program routing cannot be used here (``None``: it can)."""
    source = compat.Source
    if "sdss5_programs" in source._meta.fields:  # the stand-in
        return None
    if "sdss5_target_flags" not in source._meta.fields:
        return (
            "ASTRA's Source has no sdss5_target_flags here (ASTRA defines it only when its own "
            "database is PostgreSQL)"
        )
    if not isinstance(source._meta.database, PostgresqlDatabase):
        return "ASTRA's carton bits are tested with PostgreSQL's get_bit (the database is not PostgreSQL)"
    path = expand_path(TARGETING_TABLE)
    if "$" in path or not os.path.isfile(path):
        return f"ASTRA's targeting table {TARGETING_TABLE} is missing ({path})"
    return None


@dataclass(frozen=True)
class RoutingData:
    """What routing can use: classifier rows, carton programs, and what is missing."""

    classifier_rows: int
    programs: bool
    missing: tuple[str, ...] = field(default_factory=tuple)


def _rollback(database) -> None:  # noqa: ANN001
    """Clear a failed statement (PostgreSQL aborts the transaction) unless inside atomic()."""
    try:
        if not database.in_transaction():
            database.rollback()
    except Exception as exc:
        log.debug("rollback after a failed routing query: %s", exc)


def check_routing(routing: Routing) -> RoutingData:
    """What routing data exist for ``routing``; raise if routing is asked for and none does.

    Missing parts are logged as warnings (routing then uses the rest).

    Raises
    ------
    RoutingDataMissing
        ``routing.enabled`` and there is neither a classifier row nor usable carton programs.
    """
    classification = compat.SpectrumClassification
    missing: list[str] = []
    try:
        n_rows = classification.select().count()
    except Exception as exc:  # the table itself is missing
        _rollback(classification._meta.database)
        n_rows = 0
        missing.append(f"no classifier table ({type(exc).__name__}: {' '.join(str(exc).split())})")
    else:
        if n_rows == 0:
            missing.append("the classifier table spectrum_classification is empty")
    why = program_routing() if routing.program else "carton-program routing is off"
    if routing.program and why:
        missing.append(f"carton program {routing.program!r}: {why}")
    data = RoutingData(n_rows, routing.program is not None and why is None, tuple(missing))
    if not routing.enabled:
        return data
    if n_rows == 0 and not data.programs:
        raise RoutingDataMissing(
            "no routing data, so no spectrum can be routed to ZETA-PAYNE: " + "; ".join(missing)
            + ". Load classifier probabilities (zeta-payne classify FILE.csv|FILE.fits), or fit "
            "without routing (--no-route / route=False)"
        )
    for text in missing:
        log.warning("routing: %s; routing by the rest", text)
    return data


def _rank(hot_class: str) -> Expression:
    """Number of classes strictly more probable than ``hot_class`` (SQL, per classifier row)."""
    model = compat.SpectrumClassification
    hot = getattr(model, f"lp_{hot_class}")
    terms = [Case(None, [(getattr(model, f"lp_{c}") > hot, 1)], 0) for c in CLASSES if c != hot_class]
    rank = terms[0]
    for term in terms[1:]:
        rank = rank + term
    return rank


def routed_expression(model: type, routing: Routing) -> Expression | None:
    """SQL condition on ``model`` that a spectrum is routed (``None``: no condition)."""
    if not routing.enabled:
        return None
    classification = compat.SpectrumClassification
    hot = getattr(classification, f"lp_{routing.hot_class}")
    ranked = (_rank(routing.hot_class) < int(routing.top_k)) & (hot > SMALL / 2)  # p = 0 is never "top"
    by_class = model.spectrum_pk.in_(classification.select(classification.spectrum_pk).where(ranked))
    if not routing.program or program_routing() is not None:
        return by_class
    source = compat.Source
    by_program = model.source.in_(source.select(source.pk).where(source.assigned_to_program(routing.program)))
    return by_class | by_program


def routed_query(model: type, routing: Routing) -> ModelSelect:
    """Every routed spectrum of ``model``."""
    query = model.select().where(model.spectrum_pk.is_null(False))
    condition = routed_expression(model, routing)
    return query if condition is None else query.where(condition)


def pending_query(
    model: type,
    bundle: Bundle | None = None,
    routing: Routing | None = None,
    reprocess: bool = False,
    limit: int | None = None,
    page: int | None = None,
) -> ModelSelect:
    """The spectra of ``model`` to fit now (see the module docstring).

    Parameters
    ----------
    model : type
        A spectrum model (``BossCombinedSpectrum`` ...).
    bundle : Bundle, optional
        The bundle to be used; rows made with another one are redone.
    routing : Routing, optional
        Default :class:`Routing()`.
    reprocess : bool
        Take every routed spectrum.
    limit, page : int, optional
        At most ``limit`` spectra (page ``page``, 1-based, of ``limit`` each).
    """
    routing = routing or Routing()
    output = ZetaPayne
    version = compat.current_v_astra() // 1000
    on = (output.spectrum_pk == model.spectrum_pk) & (output.v_astra_major_minor == version)
    query = model.select().join(output, JOIN.LEFT_OUTER, on=on).where(model.spectrum_pk.is_null(False))
    condition = routed_expression(model, routing)
    if condition is not None:
        query = query.where(condition)
    if not reprocess:
        stale = output.task_pk.is_null() | (model.modified > output.modified)
        if bundle is not None:
            stale |= (
                output.bundle_name.is_null()
                | (output.bundle_name != bundle.name)
                | (output.bundle_version != bundle.version)
                | (output.bundle_sha256 != bundle.sha256)
            )
        query = query.where(stale)
    query = query.order_by(model.modified.desc(), model.pk)
    if limit is not None:
        query = query.paginate(page, limit) if page else query.limit(limit)
    return query
