"""The stand-in's ``BaseModel``: unbound until :func:`zeta_payne.astra.database.bind_database`."""

from __future__ import annotations

import inspect
import logging
import re

from peewee import DatabaseProxy, Field, Model

from zeta_payne.io.sdss.paths import expand_path

__all__ = ["UNBOUND", "BaseModel", "category_headers"]

log = logging.getLogger(__name__)

#: Placeholder database of every stand-in model until one is bound at run time.
UNBOUND = DatabaseProxy()

_HEADER = re.compile(r"^\s{4}#>\s*(.+)\n\s{4}(\w+)\s*=", re.MULTILINE)


def category_headers(model: type) -> tuple[tuple[str, str], ...]:
    """``(heading, first field name)`` for every ``#> Heading`` comment in the model bodies.

    Headings group columns into sections of FITS headers; base classes come first.
    """
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for klass in reversed(model.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, Model)) or klass is Model:
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for heading, name in _HEADER.findall(source):
            if name in seen:
                continue
            if isinstance(getattr(model, name, None), Field) or name in model._meta.fields:
                out.append((heading.strip(), name))
                seen.add(name)
    return tuple(out)


class BaseModel(Model):
    """Base of every stand-in model (table names in snake_case, as in ASTRA)."""

    class Meta:
        database = UNBOUND
        legacy_table_names = False

    @classmethod
    def category_headers(cls) -> tuple[tuple[str, str], ...]:
        """See :func:`category_headers`."""
        return category_headers(cls)

    @property
    def absolute_path(self) -> str:
        """``self.path`` with ``~`` and SDSS ``$VARIABLES`` expanded."""
        return expand_path(self.path)
