"""The stand-in ``task`` decorator: ASTRA's contract for pipeline task functions.

A task is a generator function yielding one output row per input spectrum. The decorator

* consumes its own options from the call's keyword arguments — ``batch_size`` (1000),
  ``write_frequency`` (300 s; ``frequency`` is accepted as ASTRA 0.6 spelled it),
  ``write_to_database`` (True), ``re_raise_exceptions`` (False), ``live``, ``group_by`` —
  and passes every other keyword to the function (which must take ``**kwargs``);
* times the generator: the time up to each ``yield ...`` (Ellipsis) is shared overhead,
  spread evenly over the results as ``t_overhead`` (and added to ``t_elapsed``); a result
  without ``t_elapsed`` gets the time since the previous yield;
* writes results in batches as an upsert on ``(spectrum_pk, v_astra_major_minor)`` —
  ``task_pk`` and ``created`` of an existing row are kept, everything else (including
  ``modified``) refreshed — and yields each result only after it was written;
* logs an exception escaping the generator (re-raised with ``re_raise_exceptions``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from peewee import Model

__all__ = ["DECORATOR_OPTIONS", "Timer", "bulk_upsert", "task"]

log = logging.getLogger(__name__)

#: Keyword arguments the decorator consumes (never passed to the task function).
DECORATOR_OPTIONS: tuple[str, ...] = (
    "batch_size",
    "write_frequency",
    "frequency",
    "write_to_database",
    "re_raise_exceptions",
    "live",
    "group_by",
)


class Timer:
    """Iterate a task generator, timing results and accumulating shared overheads.

    Parameters
    ----------
    iterable : iterable
        The task generator.
    frequency : float or None
        Seconds between database check points.
    """

    def __init__(self, iterable: Iterable[Any], frequency: float | None = None) -> None:
        self._iterator = iter(iterable)
        self.frequency = frequency
        self.overheads = 0.0
        self.n_results = 0
        self._paused = 0.0
        self._last = time.perf_counter()
        self._last_check_point = time.monotonic()

    def __iter__(self) -> Timer:
        return self

    def __next__(self) -> Any:
        item = next(self._iterator)
        now = time.perf_counter()
        interval = now - self._last - self._paused
        if item is Ellipsis:
            self.overheads += interval
        else:
            self.n_results += 1
            if getattr(item, "t_elapsed", None) is None:
                try:
                    item.t_elapsed = interval
                except AttributeError:
                    pass
        self._paused = 0.0
        self._last = time.perf_counter()
        return item

    def finish(self) -> None:
        """Count the time since the last yield as overhead (call once the generator ends)."""
        self.overheads += time.perf_counter() - self._last - self._paused
        self._last = time.perf_counter()
        self._paused = 0.0

    def pause_for(self, seconds: float) -> None:
        """Exclude ``seconds`` (spent writing) from the next interval."""
        self._paused += seconds

    @property
    def mean_overhead(self) -> float:
        """Overhead per result so far [s]."""
        return self.overheads / self.n_results if self.n_results else 0.0

    def check_point(self) -> bool:
        """Whether ``frequency`` seconds have passed since the last check point."""
        if self.frequency is None:
            return False
        if time.monotonic() - self._last_check_point > self.frequency:
            self._last_check_point = time.monotonic()
            return True
        return False

    def add_overheads(self, items: Sequence[Any]) -> None:
        """Set ``t_overhead`` (and add it to ``t_elapsed``) on every item."""
        overhead = self.mean_overhead
        for item in items:
            try:
                item.t_elapsed = (getattr(item, "t_elapsed", None) or 0.0) + overhead
                item.t_overhead = overhead
            except AttributeError:
                continue


def bulk_upsert(results: Sequence[Model]) -> list[Model]:
    """Insert or update ``results`` on ``(spectrum_pk, v_astra_major_minor)`` (``source_pk`` for a
    source-level model without ``spectrum_pk``, as ASTRA does); return them written.

    Rows of one batch are written in one statement per model with ``RETURNING`` (PostgreSQL,
    SQLite ≥ 3.35). ``task_pk`` and ``created`` come back from the database; a spectrum given
    twice in one batch keeps its last row. As ASTRA's decorator does, each row is inserted
    from its ``__data__`` — so, as there, **peewee takes the column list from the first
    row**: a column that the first row of a batch does not set is written as its default
    (NULL) for every row of the batch. Output rows must therefore set every column.
    """
    written: list[Model] = []
    by_model: dict[type[Model], dict[tuple[Any, ...], Model]] = {}
    for row in results:
        name = _conflict_name(type(row))
        key = (row.__data__.get(name), int(row.v_astra) // 1000)
        rows = by_model.setdefault(type(row), {})
        if key in rows:
            log.warning("%s %s given twice in one batch; keeping the last result", name, key[0])
        rows[key] = row
    for model, rows in by_model.items():
        target = getattr(model, _conflict_name(model))
        skip = {"task_pk", "v_astra_major_minor"}
        kept = ("task_pk", "created", "v_astra_major_minor")
        preserve = [f for f in model._meta.sorted_fields if f.name not in kept]
        data = [{k: v for k, v in r.__data__.items() if k not in skip} for r in rows.values()]
        query = (
            model.insert_many(data)
            .on_conflict(conflict_target=[target, model.v_astra_major_minor], preserve=preserve)
            .returning(model.task_pk, target, model.v_astra, model.created)
            .tuples()
        )
        with model._meta.database.atomic():
            returned = list(query.execute())
        for task_pk, pk, v_astra, created in returned:
            row = rows.pop((pk, int(v_astra) // 1000))
            row.__data__.update(task_pk=task_pk, created=created)
            row._dirty.clear()
            written.append(row)
        if rows:
            raise RuntimeError(f"{len(rows)} results were not written to {model.__name__}")
    return written


def _conflict_name(model: type[Model]) -> str:
    """The column a result row is unique on (with the version): ``spectrum_pk``, or ``source_pk``
    for a source-level output model without one (as ASTRA's bulk insert decides)."""
    return "spectrum_pk" if "spectrum_pk" in model._meta.fields else "source_pk"


def task(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """Decorate a generator function as a task (see the module docstring).

    The wrapper keeps the function's signature and annotations (``inspect.signature`` and
    ``typing.get_type_hints`` see the real classes).
    """
    if not inspect.isgeneratorfunction(function):
        log.warning("task %s does not yield; tasks should be generators", function.__name__)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        options = {name: kwargs.pop(name) for name in DECORATOR_OPTIONS if name in kwargs}
        return _run(function, args, kwargs, options)

    return wrapper


def _run(
    function: Callable[..., Iterator[Any]], args: tuple, kwargs: dict[str, Any], options: dict[str, Any]
) -> Iterator[Any]:
    batch_size = int(options.get("batch_size", 1000))
    frequency = options.get("write_frequency", options.get("frequency", 300))
    write = bool(options.get("write_to_database", True))
    re_raise = bool(options.get("re_raise_exceptions", False))
    pending: list[Any] = []
    timer = Timer(function(*args, **kwargs), frequency=frequency)

    def flush() -> Iterator[Any]:
        nonlocal pending
        if not pending:
            return
        batch, pending = pending, []
        start = time.perf_counter()
        timer.add_overheads(batch)
        try:
            written = bulk_upsert(batch)
        except Exception:
            log.exception("could not write %d results of %s", len(batch), function.__name__)
            if re_raise:
                raise
            written = []
        finally:
            timer.pause_for(time.perf_counter() - start)
        yield from written

    while True:
        try:
            result = next(timer)
        except StopIteration:
            break
        except Exception:
            log.exception("exception raised in task %s", function.__name__)
            if re_raise:
                raise
            break
        if result is Ellipsis:
            continue
        if not write:
            yield result
            continue
        pending.append(result)
        if len(pending) >= batch_size or timer.check_point():
            yield from flush()
    timer.finish()
    if write:
        yield from flush()
    elif timer.n_results:
        log.debug("%s: %d results not written (write_to_database=False)", function.__name__, timer.n_results)
