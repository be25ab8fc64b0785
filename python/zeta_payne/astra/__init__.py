"""ZETA-PAYNE as an ASTRA plugin — the only part of zeta-payne that imports ``astra`` or ``peewee``.

The plugin proper:

* :mod:`~zeta_payne.astra.tasks` — the task functions ``zeta_payne_boss``,
  ``zeta_payne_apogee`` and ``zeta_payne`` (``astra run zeta_payne.astra.tasks.zeta_payne_boss
  mwm.BossCombinedSpectrum``), thin shells over :mod:`~zeta_payne.astra.pipeline`;
* :mod:`~zeta_payne.astra.model` — the output model ``ZetaPayne``;
* :mod:`~zeta_payne.astra.convert` — spectrum rows to the fitter's input, results to columns;
* :mod:`~zeta_payne.astra.routing` — which spectra the plugin gets (classifier, carton programs);
* :mod:`~zeta_payne.astra.products` — the model-flux FITS products;
* :mod:`~zeta_payne.astra.compat` — the one place where real ASTRA or the built-in
  :mod:`~zeta_payne.astra.standin` is chosen (``$ZETA_PAYNE_ASTRA``);
* :mod:`~zeta_payne.astra.database` — binding a database at run time, creating the plugin's tables.

Beside it, in subpackages of their own: :mod:`~zeta_payne.astra.queue` (the work queue:
claims, workers, retries, Slurm, throughput) and :mod:`~zeta_payne.astra.ops` (what the
``zeta-payne`` database commands call: ingest, run, status, export, QA, the demo).

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
