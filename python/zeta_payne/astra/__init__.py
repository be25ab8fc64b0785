"""ZETA-PAYNE as an ASTRA plugin — the only part of zeta-payne that imports ``astra`` or ``peewee``.

* :mod:`~zeta_payne.astra.tasks` — the task functions ``zeta_payne_boss``,
  ``zeta_payne_apogee`` and ``zeta_payne`` (``astra run zeta_payne.astra.tasks.zeta_payne_boss``);
* :mod:`~zeta_payne.astra.model` — the output model ``ZetaPayne``;
* :mod:`~zeta_payne.astra.compat` — ASTRA when importable, else the built-in
  :mod:`~zeta_payne.astra.standin`;
* :mod:`~zeta_payne.astra.database` — binding a database at run time;
* :mod:`~zeta_payne.astra.routing`, :mod:`~zeta_payne.astra.run`, :mod:`~zeta_payne.astra.ingest`,
  :mod:`~zeta_payne.astra.status`, :mod:`~zeta_payne.astra.export`, :mod:`~zeta_payne.astra.qa`,
  :mod:`~zeta_payne.astra.demo` — what the ``zeta-payne`` database commands call;
* survey scale: :mod:`~zeta_payne.astra.claims` (workers and their claims),
  :mod:`~zeta_payne.astra.worker` (claim, fit, commit), :mod:`~zeta_payne.astra.parallel`
  (worker processes), :mod:`~zeta_payne.astra.retry` and :mod:`~zeta_payne.astra.connection`
  (database faults), :mod:`~zeta_payne.astra.slurm` (job arrays),
  :mod:`~zeta_payne.astra.throughput` (progress and rate).

Nothing is imported (and no database bound) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ZetaPayne", "zeta_payne", "zeta_payne_apogee", "zeta_payne_boss"]

_LAZY = {
    "ZetaPayne": "zeta_payne.astra.model",
    "zeta_payne": "zeta_payne.astra.tasks",
    "zeta_payne_apogee": "zeta_payne.astra.tasks",
    "zeta_payne_boss": "zeta_payne.astra.tasks",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
