"""Per-instrument pipelines: a bundle (loaded once, hash-verified), fit options, and the
turning of spectrum rows into ``ZetaPayne`` rows. The ASTRA task functions
(:mod:`zeta_payne.astra.tasks`) are thin generators over these.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any, ClassVar

from zeta_payne.astra import compat
from zeta_payne.astra.convert import (
    APOGEE_MODELS,
    BOSS_MODELS,
    OBSERVED_FRAME_MODELS,
    fit_input,
    instrument_of,
    result_columns,
)
from zeta_payne.astra.model import ZetaPayne
from zeta_payne.astra.products import DEFAULT_PRODUCT_DIR, product_path, write_model_flux
from zeta_payne.bundles.bundle import Bundle
from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.flags import ResultFlags
from zeta_payne.fitting.options import FitOptions, merge_options
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.spectrum import Spectrum

__all__ = ["ApogeePipeline", "BossPipeline", "InstrumentPipeline", "PIPELINES", "process"]

log = logging.getLogger(__name__)

#: Fitted pixels of a typical spectrum of each instrument (mwmStar, bundle default range),
#: for the memory-chosen batch size.
TYPICAL_PIXELS: dict[str, int] = {"boss": 4700, "apogee": 7600}
#: Chunk size where no pipeline could be set up.
DEFAULT_CHUNK_SIZE = 16

#: Fitters kept between task calls: (bundle sha256, options, device) → Fitter.
_FITTERS: dict[tuple[str, str, str], Fitter] = {}
_MAX_FITTERS = 4


def _options(
    bundle: Bundle, given: FitOptions | Mapping[str, Any] | None, frame: str | None = None
) -> FitOptions:
    return merge_options(bundle.manifest.fit_defaults, given, frame=frame)


class InstrumentPipeline:
    """ZETA-PAYNE for one instrument.

    Parameters
    ----------
    bundle : str, path or Bundle, optional
        The bundle (default: the instrument's default bundle).
    fit_options : FitOptions or mapping, optional
        Fit options, or overrides of the bundle's defaults.
    device : str
        Torch device of the fitter.
    output_dir : str or None
        Folder of the model-flux products (``$VARIABLES`` and ``{v_astra}`` allowed);
        ``None`` writes none.
    bad_pixel_bits : int, optional
        Pixel-flag bits that exclude a pixel (default: the instrument's).
    observed_rv_range : (float, float) or None
        Pre-search RV range [km/s] for spectra in the observed frame (BOSS specFull, apVisit),
        unless ``fit_options`` set ``rv_range``; ``None`` uses the bundle's range for all.
    """

    instrument: ClassVar[str] = ""
    models: ClassVar[tuple[type, ...]] = ()

    def __init__(
        self,
        bundle: str | os.PathLike | Bundle | None = None,
        fit_options: FitOptions | Mapping[str, Any] | None = None,
        device: str = "cpu",
        output_dir: str | None = DEFAULT_PRODUCT_DIR,
        bad_pixel_bits: int | None = None,
        observed_rv_range: tuple[float, float] | None = (-500.0, 500.0),
    ) -> None:
        self._bundle_spec = bundle
        self._fit_options = fit_options
        self.device = device
        self.output_dir = output_dir
        self.bad_pixel_bits = bad_pixel_bits
        self.observed_rv_range = observed_rv_range

    @cached_property
    def bundle(self) -> Bundle:
        """The bundle (loaded and hash-verified on first use)."""
        if isinstance(self._bundle_spec, Bundle):
            return self._bundle_spec
        from zeta_payne.bundles.registry import find_bundle

        return find_bundle(self._bundle_spec or self.instrument)

    def _shared_fitter(self, options: FitOptions) -> Fitter:
        key = (self.bundle.sha256, repr(options), str(self.device))
        if key not in _FITTERS:
            while len(_FITTERS) >= _MAX_FITTERS:
                _FITTERS.pop(next(iter(_FITTERS)))
            _FITTERS[key] = Fitter(self.bundle, options, device=self.device)
        return _FITTERS[key]

    @cached_property
    def fitter(self) -> Fitter:
        """The fitter (shared with earlier pipelines of the same bundle and options)."""
        return self._shared_fitter(_options(self.bundle, self._fit_options))

    @cached_property
    def observed_fitter(self) -> Fitter:
        """The fitter of spectra in the observed frame (a wider RV search, see the class docs)."""
        given = self._fit_options
        explicit = isinstance(given, FitOptions) or bool(given and "rv_range" in given)
        if explicit or self.observed_rv_range is None:
            return self.fitter
        overrides = {"rv_range": tuple(self.observed_rv_range), **dict(given or {})}
        return self._shared_fitter(_options(self.bundle, overrides, frame="observed"))

    def prepare(self) -> str | None:
        """Load the bundle and build the fitter; the error message if that fails."""
        try:
            self.fitter  # noqa: B018
        except Exception as exc:
            log.error("%s: cannot set up the %s fitter: %s", type(self).__name__, self.instrument, exc)
            return f"{type(exc).__name__}: {exc}"
        return None

    def batch_size(self) -> int:
        """Spectra fitted together: the fitter's, chosen from the device's memory for a
        spectrum of this instrument (:meth:`Fitter.resolved_batch_size`)."""
        return self.fitter.resolved_batch_size(TYPICAL_PIXELS.get(self.instrument, 0))

    def _label_names(self) -> tuple[str, ...]:
        try:
            return self.fitter.label_names
        except Exception:
            return ("teff", "logg", "v_sini", "m_h")

    def row(self, spectrum: Any, spec: Spectrum | None, result: FitResult, seconds: float) -> Any:
        """The ``ZetaPayne`` row of one spectrum (writing its model-flux product first)."""
        bundle = self.__dict__.get("bundle")
        values = result_columns(result, bundle, self.instrument)
        spectrum_pk = getattr(spectrum, "spectrum_pk", None)
        t0 = time.perf_counter()
        if (
            self.output_dir
            and spec is not None
            and spectrum_pk is not None
            and result.model_flux is not None
            and not result.flag_bad
        ):
            path = product_path(self.output_dir, spectrum_pk, compat.astra_version)
            header = {"BUNDLE": bundle.name, "BUNDLEV": bundle.version, "SPECPK": int(spectrum_pk)}
            try:
                write_model_flux(path, spec, result, header)
                values["model_flux_path"] = path
            except OSError as exc:
                log.warning("could not write %s: %s", path, exc)
        row = ZetaPayne.from_spectrum(spectrum, **values)
        row.t_elapsed = seconds + (time.perf_counter() - t0)
        return row

    def fit_chunk(self, spectra: list[Any], setup_error: str | None) -> Iterator[Any]:
        """Rows for a chunk of spectrum rows, in order (never raises)."""
        labels = self._label_names()
        inputs: list[tuple[Any, Spectrum | None, str | None, float]] = []
        for spectrum in spectra:
            t0 = time.perf_counter()
            try:
                spec: Spectrum | None = fit_input(spectrum, self.bad_pixel_bits)
                error = None
            except Exception as exc:
                spec, error = None, f"cannot read spectrum: {type(exc).__name__}: {exc}"
                pk = getattr(spectrum, "spectrum_pk", "?")
                log.warning("%s %s: %s", type(spectrum).__name__, pk, error)
            inputs.append((spectrum, spec, error, time.perf_counter() - t0))
        fitted: dict[int, FitResult] = {}
        if setup_error is None:
            groups: dict[int, tuple[Fitter, list[int]]] = {}
            for index, (spectrum, spec, _, _) in enumerate(inputs):
                if spec is not None:
                    observed = isinstance(spectrum, OBSERVED_FRAME_MODELS)
                    fitter = self.observed_fitter if observed else self.fitter
                    groups.setdefault(id(fitter), (fitter, []))[1].append(index)
            for fitter, indices in groups.values():
                results = fitter.fit_batch([inputs[i][1] for i in indices])
                fitted.update(zip(indices, results, strict=True))
        for index, (spectrum, spec, error, seconds) in enumerate(inputs):
            if spec is None:
                result = FitResult.failed(labels, ResultFlags.RUNTIME_EXCEPTION, error or "")
            elif setup_error is not None:
                result = FitResult.failed(labels, ResultFlags.RUNTIME_EXCEPTION, setup_error, spec.meta)
            else:
                result = fitted[index]
                seconds += result.timing.get("total", 0.0)
                if result.flag_bad:
                    pk = spec.meta.get("spectrum_pk")
                    log.info("spectrum %s: %s (%s)", pk, result.flag_names, result.message)
            yield self.row(spectrum, spec, result, seconds)


class BossPipeline(InstrumentPipeline):
    """ZETA-PAYNE on BOSS spectra (default bundle ``zeta-payne-boss``)."""

    instrument = "boss"
    models = BOSS_MODELS


class ApogeePipeline(InstrumentPipeline):
    """ZETA-PAYNE on APOGEE spectra (default bundle ``zeta-payne-apogee``)."""

    instrument = "apogee"
    models = APOGEE_MODELS


#: Pipeline class of each instrument.
PIPELINES: dict[str, type[InstrumentPipeline]] = {"boss": BossPipeline, "apogee": ApogeePipeline}


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def process(
    spectra: Iterable[Any], pipelines: Mapping[str, InstrumentPipeline], chunk_size: int | None = None
) -> Iterator[Any]:
    """Yield one ``ZetaPayne`` row per spectrum, in input order, and ``...`` after overheads.

    Spectra go to the pipeline of their instrument; with a single pipeline, every spectrum
    goes to it (a spectrum of the other instrument then fails as out of coverage). Each
    chunk of ``chunk_size`` spectra is read and fitted as one batch (the batched fitter);
    ``None`` takes the smallest :meth:`InstrumentPipeline.batch_size` of the pipelines.
    """
    errors: dict[str, str | None] = {}
    for name, pipeline in pipelines.items():
        errors[name] = pipeline.prepare()
    yield ...
    if chunk_size is None:
        sizes = [p.batch_size() for name, p in pipelines.items() if errors[name] is None]
        chunk_size = min(sizes, default=DEFAULT_CHUNK_SIZE)
    only = next(iter(pipelines)) if len(pipelines) == 1 else None
    for chunk in _chunks(spectra, max(1, int(chunk_size))):
        groups: dict[str, list[int]] = {}
        for index, spectrum in enumerate(chunk):
            try:
                name = only or instrument_of(spectrum)
            except TypeError:
                name = next(iter(pipelines))
            groups.setdefault(name if name in pipelines else next(iter(pipelines)), []).append(index)
        rows: list[Any] = [None] * len(chunk)
        for name, indices in groups.items():
            members = [chunk[i] for i in indices]
            for i, row in zip(indices, pipelines[name].fit_chunk(members, errors[name]), strict=True):
                rows[i] = row
        yield from rows
