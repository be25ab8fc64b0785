"""The source-level ASTRA task ``zeta_payne_source``: all of a source's spectra fitted together.

Run by dotted path, e.g. ``astra run zeta_payne.astra.source_tasks.zeta_payne_source``; like
:mod:`zeta_payne.astra.tasks` this module does not use ``from __future__ import annotations``
(ASTRA reads the annotations: the input type ``Source``, the output ``ZetaPayneSource``).

Per source the task gathers its routed spectra — ``mode="joint"``: the combined spectra of
both instruments (mwmStar BOSS and APOGEE), fitted with shared labels by
:func:`~zeta_payne.fitting.joint.fit_joint`; ``mode="epochs"``: the observed-frame visits of
one instrument (``ApogeeVisitSpectrum`` or ``BossVisitSpectrum``), fitted with shared labels
and one RV per visit by :func:`~zeta_payne.fitting.joint.fit_epochs` — and yields one
``ZetaPayneSource`` row (a flagged one when nothing could be fitted). Its ``ZetaPayneVisit``
rows (one per spectrum) are written with it, in one transaction, before the row is yielded:
the source row is upserted on ``(source_pk, v_astra_major_minor)`` (keeping its ``task_pk``),
its old visit rows deleted and the new ones inserted, so a reprocessed source has exactly one
set of visit rows. ASTRA's decorator then writes the yielded row again (the same upsert).
``sources`` may be ``None`` (sources with routed spectra of the mode's types and no result for
this ASTRA version, or all with ``reprocess``), a query over ``Source``, or an iterable of
``Source`` rows or source primary keys.
"""

import logging
import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from zeta_payne.astra import compat
from zeta_payne.astra.compat import Source, task
from zeta_payne.astra.convert import fit_input, instrument_of
from zeta_payne.astra.database import present_models
from zeta_payne.astra.pipeline import ApogeePipeline, BossPipeline, InstrumentPipeline
from zeta_payne.astra.routing import Routing, check_routing, routed_expression
from zeta_payne.astra.source_model import SINGLE_LABELS, SOURCE_LABELS, ZetaPayneSource, ZetaPayneVisit
from zeta_payne.astra.tasks import _loud
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.joint import JointOptions, JointResult, MemberResult, fit_epochs, fit_joint

__all__ = ["MODES", "source_spectra", "store", "zeta_payne_source"]

log = logging.getLogger(__name__)

#: Spectrum models each mode gathers per source.
MODES: dict[str, tuple[type, ...]] = {
    "joint": (compat.BossCombinedSpectrum, compat.ApogeeCombinedSpectrum),
    "epochs:apogee": (compat.ApogeeVisitSpectrum,),
    "epochs:boss": (compat.BossVisitSpectrum,),
}


#: Smallest magnitude a PostgreSQL ``real`` column holds; smaller values (p-values) are stored as 0.
_TINY = 1.2e-38
#: Largest magnitude it holds; larger values are stored as NULL.
_HUGE = 3.4e38


def _finite(value: Any) -> float | None:
    """A value for a float column: NULL for non-finite or huge values, 0 for tiny ones."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value) or abs(value) > _HUGE:
        return None
    return 0.0 if abs(value) < _TINY else value


def source_spectra(source_pk: int, models: Iterable[type], routing: Routing) -> list[Any]:
    """The routed spectrum rows of one source in ``models`` (tables that exist), by spectrum_pk."""
    rows: list[Any] = []
    for model in present_models(models):
        query = model.select().where(model.source == source_pk)
        condition = routed_expression(model, routing)
        if condition is not None:
            query = query.where(condition)
        rows.extend(query.order_by(model.spectrum_pk))
    return rows


def _pending(models: Iterable[type], routing: Routing, reprocess: bool, limit: int | None) -> list[int]:
    """Source pks with routed spectra of ``models`` that have no result for this ASTRA version or
    a spectrum modified since it (every such source with ``reprocess``), as the spectrum tasks'
    pending query (:func:`zeta_payne.astra.routing.pending_query`) does per spectrum."""
    from peewee import JOIN

    output = ZetaPayneSource
    version = compat.current_v_astra() // 1000
    pks: set[int] = set()
    for model in present_models(models):
        on = (output.source_pk == model.source) & (output.v_astra_major_minor == version)
        query = model.select(model.source).join(output, JOIN.LEFT_OUTER, on=on)
        query = query.where(model.source.is_null(False))
        condition = routed_expression(model, routing)
        if condition is not None:
            query = query.where(condition)
        if not reprocess:
            query = query.where(output.task_pk.is_null() | (model.modified > output.modified))
        pks.update(int(pk) for (pk,) in query.tuples())
    ordered = sorted(pks)
    return ordered if limit is None else ordered[: int(limit)]


def _source_pks(sources: Any, models: Iterable[type], routing: Routing, reprocess: bool, limit: int | None):
    if sources is None:
        return _pending(models, routing, reprocess, limit)
    single = isinstance(sources, (int, np.integer)) or hasattr(sources, "pk")
    if single and not isinstance(sources, (list, tuple)):
        sources = [sources]
    return [int(getattr(s, "pk", s)) for s in sources]


def _for_instrument(fit_options: Any, instrument: str) -> Any:
    """``fit_options`` of one instrument: ``{"boss": {...}, "apogee": {...}}`` gives each its own."""
    if isinstance(fit_options, dict) and fit_options and set(fit_options) <= {"boss", "apogee"}:
        return fit_options.get(instrument)
    return fit_options


def _source_values(jr: JointResult, mode: str, fitters: list[Any]) -> dict[str, Any]:
    r = jr.result
    values: dict[str, Any] = {"mode": mode, "n_spectra": len(jr.members)}
    for name in SOURCE_LABELS:
        values[name] = _finite(r.label(name))
        values[f"e_{name}"] = _finite(r.error(name, "parabola"))
        values[f"raw_e_{name}"] = _finite(r.error(name, "raw"))
        values[f"cov_e_{name}"] = _finite(r.error(name, "covariance"))
    row = jr.as_row()
    values.update(
        v_rad=_finite(r.v_rad),
        e_v_rad=_finite(r.e_v_rad),
        rv_chi2=_finite(jr.rv.chi2),
        rv_dof=int(jr.rv.dof),
        rv_p_constant=_finite(jr.rv.p_constant),
        rv_peak_to_peak=_finite(jr.rv.peak_to_peak),
        max_tension=_finite(row["max_tension"]),
        max_sb2_delta_chi2=_finite(row["max_sb2_delta_chi2"]),
        chi2=_finite(r.chi2),
        rchi2=_finite(r.rchi2),
        snr=_finite(r.snr),
        n_pixels=int(r.n_pixels),
        result_flags=int(r.flags),
    )
    bundles = list({id(f.bundle): f.bundle for f in fitters}.values())
    if bundles:
        values.update(
            bundle_name="+".join(b.name for b in bundles),
            bundle_version="+".join(b.version for b in bundles),
            bundle_sha256="+".join(b.sha256 for b in bundles),
        )
    return values


def _visit_values(member: MemberResult, spectrum: Any, source_pk: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source_pk": source_pk,
        "spectrum_pk": getattr(spectrum, "spectrum_pk", None),
        "v_astra": compat.current_v_astra(),
        "spectrum_index": member.index,
        "spectrum_type": type(spectrum).__name__,
        "instrument": instrument_of(spectrum),
        "bundle_name": member.bundle_name or None,
        "v_rad": _finite(member.v_rad),
        "e_v_rad": _finite(member.e_v_rad),
        "cov_e_v_rad": _finite(member.cov_e_v_rad),
        "initial_v_rad": _finite(member.initial_v_rad),
        "chi2": _finite(member.chi2),
        "rchi2": _finite(member.rchi2),
        "snr": _finite(member.snr),
        "n_pixels": int(member.n_pixels),
        "chi2_single": _finite(member.chi2_single),
        "delta_chi2": _finite(member.delta_chi2),
        "tension": _finite(member.tension),
        "p_tension": _finite(member.p_tension),
        "sb2_delta_chi2": _finite(member.sb2_delta_chi2),
        "sb2_shift": _finite(member.sb2_shift),
        "result_flags": int(member.flags),
    }
    single = member.single
    for name in SINGLE_LABELS:
        values[f"single_{name}"] = _finite(single.label(name)) if single is not None else None
        values[f"single_e_{name}"] = _finite(single.error(name)) if single is not None else None
    values["single_v_rad"] = _finite(single.v_rad) if single is not None else None
    values["single_result_flags"] = int(single.flags) if single is not None else None
    return values


def store(row: ZetaPayneSource, visits: list[dict[str, Any]]) -> ZetaPayneSource:
    """Upsert a source row on ``(source_pk, v_astra_major_minor)`` and replace its visit rows,
    in one transaction; ``row`` gets its ``task_pk`` and ``created``."""
    model = ZetaPayneSource
    kept = ("task_pk", "created", "v_astra_major_minor")
    preserve = [f for f in model._meta.sorted_fields if f.name not in kept]
    data = {k: v for k, v in row.__data__.items() if k not in ("task_pk", "v_astra_major_minor")}
    with model._meta.database.atomic():
        query = (
            model.insert(data)
            .on_conflict(conflict_target=[model.source_pk, model.v_astra_major_minor], preserve=preserve)
            .returning(model.task_pk, model.created)
            .tuples()
        )
        task_pk, created = next(iter(query.execute()))
        ZetaPayneVisit.delete().where(ZetaPayneVisit.source_task_pk == task_pk).execute()
        if visits:
            ZetaPayneVisit.insert_many([{**v, "source_task_pk": task_pk} for v in visits]).execute()
    row.__data__.update(task_pk=task_pk, created=created)
    row._dirty.clear()
    return row


def _fit_source(
    source_pk: int,
    mode: str,
    pipelines: dict[str, InstrumentPipeline],
    routing: Routing,
    options: JointOptions,
) -> tuple[ZetaPayneSource, list[dict[str, Any]]]:
    """The source row and its visit rows (never raises for bad data)."""
    key = mode if mode == "joint" else f"epochs:{next(iter(pipelines))}"
    spectra = source_spectra(source_pk, MODES[key], routing)
    readable, inputs, failed = [], [], []
    for spectrum in spectra:
        try:
            inputs.append(fit_input(spectrum, pipelines[instrument_of(spectrum)].bad_pixel_bits))
            readable.append(spectrum)
        except Exception as exc:
            failed.append((spectrum, f"cannot read spectrum: {type(exc).__name__}: {exc}"))
    fitters = []
    for spectrum in readable:
        pipeline = pipelines[instrument_of(spectrum)]
        fitters.append(pipeline.observed_fitter if mode == "epochs" else pipeline.fitter)
    if len(inputs) == 0:
        flags = ResultFlags.NO_PIXELS | (ResultFlags.RUNTIME_EXCEPTION if failed else 0)
        values = {"mode": mode, "n_spectra": len(spectra), "result_flags": int(flags)}
        jr = None
    elif mode == "epochs":
        jr = fit_epochs(fitters[0], inputs, options)
    else:
        jr = fit_joint(fitters, inputs, options)
    visits = []
    if jr is not None:
        values = _source_values(jr, mode, fitters)
        values["n_spectra"] = len(spectra)
        for member, spectrum in zip(jr.members, readable, strict=True):
            visits.append(_visit_values(member, spectrum, source_pk))
    for k, (spectrum, message) in enumerate(failed):
        pk = getattr(spectrum, "spectrum_pk", None)
        log.warning("source %s, %s %s: %s", source_pk, type(spectrum).__name__, pk, message)
        flags = int(ResultFlags.RUNTIME_EXCEPTION)
        member = MemberResult(len(readable) + k, "", flags=flags, message=message)
        visits.append(_visit_values(member, spectrum, source_pk))
    return ZetaPayneSource.from_source(source_pk, **values), visits


@_loud
@task
def zeta_payne_source(
    sources: Iterable[Source] = None,
    mode: str = "joint",
    instrument: str = "apogee",
    boss_bundle: Any = None,
    apogee_bundle: Any = None,
    fit_options: Any = None,
    joint_options: Any = None,
    device: str = "cpu",
    route: bool = True,
    hot_class: str = "oba",
    top_k: int = 3,
    program: str | None = "mwm_ob",
    reprocess: bool = False,
    limit: int | None = None,
    **kwargs: Any,
) -> Iterable[ZetaPayneSource]:
    """ZETA-PAYNE labels of sources from all their spectra (one row per source).

    Parameters
    ----------
    sources : iterable of Source rows or pks, query, or None
        What to fit (see the module docstring).
    mode : {"joint", "epochs"}
        ``joint``: the combined BOSS and APOGEE spectra; ``epochs``: the observed-frame visits
        of ``instrument``.
    instrument : {"apogee", "boss"}
        The visits' instrument in ``epochs`` mode.
    boss_bundle, apogee_bundle : str, path or Bundle, optional
        Bundles (default: the shipped ones).
    fit_options : FitOptions or dict, optional
        Single-spectrum fit options, or overrides of the bundles' defaults; a dict keyed by
        ``"boss"`` and ``"apogee"`` gives each instrument its own.
    joint_options : JointOptions or dict, optional
        Options of the joint fit (:class:`~zeta_payne.fitting.joint.JointOptions`).
    device : str
        Torch device.
    route, hot_class, top_k, program :
        The routing rule of the spectra (:class:`zeta_payne.astra.routing.Routing`).
    reprocess : bool
        With ``sources=None``: refit sources already done for this ASTRA version.
    limit : int, optional
        With ``sources=None``: at most this many sources.
    **kwargs
        Absorbed (keywords ``astra run`` passes).

    Yields
    ------
    ZetaPayneSource
        One row per source, written with its ``ZetaPayneVisit`` rows.
    """
    if mode not in ("joint", "epochs"):
        raise ValueError(f"mode must be 'joint' or 'epochs', not {mode!r}")
    if instrument not in ("apogee", "boss"):
        raise ValueError(f"instrument must be 'apogee' or 'boss', not {instrument!r}")
    if isinstance(joint_options, dict):
        joint_options = JointOptions(**joint_options)
    joint_options = joint_options or JointOptions()
    routing = Routing(hot_class=hot_class, top_k=top_k, program=program, enabled=route)
    if route:
        check_routing(routing)
    boss = BossPipeline(boss_bundle, _for_instrument(fit_options, "boss"), device, None)
    apogee = ApogeePipeline(apogee_bundle, _for_instrument(fit_options, "apogee"), device, None)
    if mode == "epochs":
        pipelines: dict[str, InstrumentPipeline] = {instrument: apogee if instrument == "apogee" else boss}
    else:
        pipelines = {"boss": boss, "apogee": apogee}
    key = mode if mode == "joint" else f"epochs:{instrument}"
    pks = _source_pks(sources, MODES[key], routing, reprocess, limit)
    yield ...
    for source_pk in pks:
        t0 = time.perf_counter()
        row, visits = _fit_source(source_pk, mode, pipelines, routing, joint_options)
        row.t_elapsed = time.perf_counter() - t0
        yield store(row, visits)
