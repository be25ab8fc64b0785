"""Field types of the stand-in: named bit flags with help text and lazy pixel arrays.

Pixel arrays are *virtual* fields: nothing is stored in the database. On first access the
model's ``load_pixels()`` reads them all from the data product; any array can also be
assigned in memory (test spectra, resampled spectra), which then wins over the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from peewee import BitField as _PeeweeBitField
from peewee import ColumnBase, TextField, VirtualField

__all__ = ["BitField", "FloatArrayField", "PixelArray", "PixelArrayAccessor", "pixel_fields"]


class BitField(_PeeweeBitField):
    """A 64-bit flag field whose flags carry help text.

    ``flag_x = field.flag(2**k, help_text="...")``: on an instance ``flag_x`` is a bool (and
    can be set), on the class an SQL expression usable in ``where``.
    """

    def flag(self, value: int | None = None, help_text: str | None = None) -> ColumnBase:  # type: ignore[override]
        descriptor = super().flag(value)
        descriptor.help_text = help_text
        return descriptor


class FloatArrayField(TextField):
    """A small float vector stored portably as JSON text (SQLite and PostgreSQL alike).

    Non-finite values are stored as ``null`` and read back as NaN.
    """

    field_type = "TEXT"

    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        arr = np.asarray(value, dtype=float).ravel()
        return json.dumps([float(v) if np.isfinite(v) else None for v in arr])

    def python_value(self, value: Any) -> np.ndarray | None:
        if value is None:
            return None
        if isinstance(value, np.ndarray):
            return value
        items = json.loads(value) if isinstance(value, str) else value
        return np.array([np.nan if v is None else float(v) for v in items], dtype=float)


class PixelArrayAccessor:
    """Descriptor of one pixel array of a spectrum model (see the module docstring)."""

    def __init__(self, model: type, field: PixelArray, name: str) -> None:
        self.model = model
        self.field = field
        self.name = name

    @staticmethod
    def _store(instance: Any) -> dict[str, Any]:
        try:
            return instance.__dict__["__pixel_data__"]
        except KeyError:
            store: dict[str, Any] = {}
            instance.__dict__["__pixel_data__"] = store
            return store

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.field
        store = self._store(instance)
        if self.name not in store:
            loaded = instance.load_pixels()
            for key, value in loaded.items():
                store.setdefault(key, value)
            store.setdefault(self.name, None)
        return store[self.name]

    def __set__(self, instance: Any, value: Any) -> None:
        self._store(instance)[self.name] = value


class PixelArray(VirtualField):
    """A pixel array (``flux``, ``ivar`` ...) loaded lazily from the data product.

    Parameters
    ----------
    help_text : str, optional
        Description (with units).
    transform : callable, optional
        Applied to the loaded array (kept for parity with ASTRA; the loaders already return
        the final arrays).
    """

    def __init__(self, help_text: str | None = None, transform: Callable | None = None, **kwargs: Any):
        super().__init__(help_text=help_text, **kwargs)
        self.transform = transform

    def bind(self, model: type, name: str, set_attribute: bool = True) -> None:
        self.model = model
        self.name = self.safe_name = name
        self.column_name = name
        accessor = PixelArrayAccessor(model, self, name)
        if set_attribute:
            setattr(model, name, accessor)
        fields = dict(getattr(model._meta, "pixel_fields", {}))
        fields[name] = accessor
        model._meta.pixel_fields = fields


def pixel_fields(model: type) -> dict[str, PixelArrayAccessor]:
    """The pixel arrays of ``model`` including those of its base classes."""
    out: dict[str, PixelArrayAccessor] = {}
    for klass in reversed(model.__mro__):
        meta = getattr(klass, "_meta", None)
        out.update(getattr(meta, "pixel_fields", {}) if meta is not None else {})
    return out
