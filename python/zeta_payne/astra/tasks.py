"""ZETA-PAYNE as ASTRA tasks: ``zeta_payne_boss``, ``zeta_payne_apogee`` and ``zeta_payne``.

Run by dotted path, e.g. ``astra run zeta_payne.astra.tasks.zeta_payne_boss
BossCombinedSpectrum``. ASTRA reads the annotations at run time (input spectrum tables
from ``spectra``, the output table from the return type), so this module deliberately
does not use ``from __future__ import annotations``: they are real classes.

Each task yields exactly one ``ZetaPayne`` row per input spectrum — a row with failure
flags when the spectrum cannot be read or fitted. Only systemic failures escape (no routing
data at all, the spectra cannot be selected, results cannot be written), and the tasks ask
ASTRA's decorator to re-raise them (``re_raise_exceptions=True`` by default), so that
``astra run`` ends with an error instead of "succeeding" with nothing fitted.
``spectra`` may be

* ``None``: the task's own work query (routed, not yet done for this ASTRA version and
  bundle, or modified since; see :mod:`zeta_payne.astra.routing`);
* a peewee query over a spectrum model (what ``astra run`` passes): narrowed to routed
  spectra unless ``route=False``;
* any iterable of spectrum rows (taken as given).
"""

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any, Union  # Union: ASTRA parses these annotations

from peewee import ModelSelect

from zeta_payne.astra.compat import (
    ApogeeCoaddedSpectrumInApStar,
    ApogeeCombinedSpectrum,
    ApogeeRestFrameVisitSpectrum,
    ApogeeVisitSpectrum,
    ApogeeVisitSpectrumInApStar,
    BossCombinedSpectrum,
    BossRestFrameVisitSpectrum,
    BossVisitSpectrum,
    task,
)
from zeta_payne.astra.database import present_models
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.pipeline import ApogeePipeline, BossPipeline, InstrumentPipeline, process
from zeta_payne.astra.products import DEFAULT_PRODUCT_DIR
from zeta_payne.astra.routing import Routing, check_routing, pending_query, routed_expression

__all__ = ["zeta_payne", "zeta_payne_apogee", "zeta_payne_boss"]

log = logging.getLogger(__name__)


def _inputs(
    spectra: Any,
    pipelines: dict[str, InstrumentPipeline],
    routing: Routing,
    reprocess: bool,
    limit: int | None,
) -> list[Any]:
    """The spectrum rows to fit (see the module docstring)."""
    if spectra is None:
        rows: list[Any] = []
        for pipeline in pipelines.values():
            bundle = pipeline.bundle if pipeline.prepare() is None else None
            for model in present_models(pipeline.models):
                remaining = None if limit is None else limit - len(rows)
                if remaining is not None and remaining <= 0:
                    break
                rows.extend(pending_query(model, bundle, routing, reprocess, limit=remaining))
        return rows
    if isinstance(spectra, ModelSelect):
        condition = routed_expression(spectra.model, routing)
        query = spectra if condition is None else spectra.where(condition)
        return list(query)
    if hasattr(spectra, "spectrum_pk") and not isinstance(spectra, (list, tuple)):
        return [spectra]
    return list(spectra)


def _loud(task_function: Callable[..., Any]) -> Callable[..., Any]:
    """The task, with ASTRA's ``re_raise_exceptions`` on unless the caller says otherwise.

    A single spectrum never raises (it gets a flagged row); what does escape is systemic —
    no routing data, the spectra cannot be selected, results cannot be written — and must end
    ``astra run`` with an error instead of a silent zero-row success (ASTRA's decorator logs
    and swallows exceptions unless ``re_raise_exceptions``). ASTRA reads the signature and the
    annotations through the wrapper (``functools.wraps``).
    """

    @functools.wraps(task_function)
    def run(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("re_raise_exceptions", True)
        return task_function(*args, **kwargs)

    return run


def _run(
    spectra: Any,
    pipelines: dict[str, InstrumentPipeline],
    route: bool,
    hot_class: str,
    top_k: int,
    program: str | None,
    reprocess: bool,
    limit: int | None,
    chunk_size: int | None,
) -> Iterable[Any]:
    routing = Routing(hot_class=hot_class, top_k=top_k, program=program, enabled=route)
    if route and (spectra is None or isinstance(spectra, ModelSelect)):
        check_routing(routing)  # raises RoutingDataMissing: see _loud
    rows = _inputs(spectra, pipelines, routing, reprocess, limit)
    yield ...
    yield from process(rows, pipelines, chunk_size)


@_loud
@task
def zeta_payne_boss(
    spectra: Iterable[Union[BossCombinedSpectrum, BossRestFrameVisitSpectrum, BossVisitSpectrum]] = None,  # noqa: UP007
    bundle: Any = None,
    fit_options: Any = None,
    device: str = "cpu",
    output_dir: str | None = DEFAULT_PRODUCT_DIR,
    route: bool = True,
    hot_class: str = "oba",
    top_k: int = 3,
    program: str | None = "mwm_ob",
    reprocess: bool = False,
    limit: int | None = None,
    chunk_size: int | None = None,
    bad_pixel_bits: int | None = None,
    **kwargs: Any,
) -> Iterable[ZetaPayne]:
    """ZETA-PAYNE labels for BOSS spectra.

    Parameters
    ----------
    spectra : iterable of BOSS spectrum rows, query, or None
        What to fit (see the module docstring).
    bundle : str, path or Bundle, optional
        Model bundle (default ``zeta-payne-boss``).
    fit_options : FitOptions or dict, optional
        Fit options, or overrides of the bundle's defaults.
    device : str
        Torch device.
    output_dir : str or None
        Folder of the model-flux FITS products (``None``: none written).
    route : bool
        Restrict queries to spectra routed to hot stars.
    hot_class, top_k, program :
        The routing rule (:class:`zeta_payne.astra.routing.Routing`).
    reprocess : bool
        With ``spectra=None``: refit spectra already done.
    limit : int, optional
        With ``spectra=None``: at most this many spectra.
    chunk_size : int, optional
        Spectra read and fitted together, as one batch of the batched fitter (default:
        chosen from the device's memory, :meth:`InstrumentPipeline.batch_size`).
    bad_pixel_bits : int, optional
        Pixel-flag bits that exclude a pixel (default: BOSS's).
    **kwargs
        Absorbed (``live_renderable`` and other keywords ``astra run`` passes).

    Yields
    ------
    ZetaPayne
        One row per spectrum.
    """
    pipeline = BossPipeline(bundle, fit_options, device, output_dir, bad_pixel_bits)
    yield from _run(
        spectra, {"boss": pipeline}, route, hot_class, top_k, program, reprocess, limit, chunk_size
    )


@_loud
@task
def zeta_payne_apogee(
    spectra: Iterable[
        Union[  # noqa: UP007
            ApogeeCombinedSpectrum,
            ApogeeRestFrameVisitSpectrum,
            ApogeeCoaddedSpectrumInApStar,
            ApogeeVisitSpectrumInApStar,
            ApogeeVisitSpectrum,
        ]
    ] = None,
    bundle: Any = None,
    fit_options: Any = None,
    device: str = "cpu",
    output_dir: str | None = DEFAULT_PRODUCT_DIR,
    route: bool = True,
    hot_class: str = "oba",
    top_k: int = 3,
    program: str | None = "mwm_ob",
    reprocess: bool = False,
    limit: int | None = None,
    chunk_size: int | None = None,
    bad_pixel_bits: int | None = None,
    **kwargs: Any,
) -> Iterable[ZetaPayne]:
    """ZETA-PAYNE labels for APOGEE spectra (parameters as :func:`zeta_payne_boss`;
    default bundle ``zeta-payne-apogee``)."""
    pipeline = ApogeePipeline(bundle, fit_options, device, output_dir, bad_pixel_bits)
    yield from _run(
        spectra, {"apogee": pipeline}, route, hot_class, top_k, program, reprocess, limit, chunk_size
    )


@_loud
@task
def zeta_payne(
    spectra: Iterable[
        Union[  # noqa: UP007
            BossCombinedSpectrum,
            BossRestFrameVisitSpectrum,
            BossVisitSpectrum,
            ApogeeCombinedSpectrum,
            ApogeeRestFrameVisitSpectrum,
            ApogeeCoaddedSpectrumInApStar,
            ApogeeVisitSpectrumInApStar,
            ApogeeVisitSpectrum,
        ]
    ] = None,
    boss_bundle: Any = None,
    apogee_bundle: Any = None,
    fit_options: Any = None,
    device: str = "cpu",
    output_dir: str | None = DEFAULT_PRODUCT_DIR,
    route: bool = True,
    hot_class: str = "oba",
    top_k: int = 3,
    program: str | None = "mwm_ob",
    reprocess: bool = False,
    limit: int | None = None,
    chunk_size: int | None = None,
    **kwargs: Any,
) -> Iterable[ZetaPayne]:
    """ZETA-PAYNE labels for BOSS and APOGEE spectra, each with its instrument's bundle.

    Parameters as :func:`zeta_payne_boss`, with ``boss_bundle`` and ``apogee_bundle``;
    ``fit_options`` (overrides of the bundle defaults) apply to both.
    """
    pipelines: dict[str, InstrumentPipeline] = {
        "boss": BossPipeline(boss_bundle, fit_options, device, output_dir),
        "apogee": ApogeePipeline(apogee_bundle, fit_options, device, output_dir),
    }
    yield from _run(spectra, pipelines, route, hot_class, top_k, program, reprocess, limit, chunk_size)
