"""Model bundles: manifest, load/save, registry, import of the authors' networks.

The network code (and with it torch) is imported when a bundle is first loaded or saved
(``Bundle``, ``load_bundle``, ``save_bundle`` are resolved on first use), so that finding
bundles and reading their manifests stay light: the command line builds its help from the
default bundles' manifests, and under the real ASTRA its models import several times
faster before torch than after it (ASTRA's flag fields inspect every loaded module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zeta_payne.bundles.manifest import INSTRUMENT_DEFAULTS, SCHEMA_VERSION, LabelSpec, Manifest

if TYPE_CHECKING:
    from zeta_payne.bundles.bundle import Bundle, load_bundle, save_bundle

__all__ = [
    "INSTRUMENT_DEFAULTS",
    "SCHEMA_VERSION",
    "Bundle",
    "LabelSpec",
    "Manifest",
    "load_bundle",
    "save_bundle",
]

_FROM_BUNDLE = frozenset({"Bundle", "load_bundle", "save_bundle"})


def __getattr__(name: str) -> Any:
    if name in _FROM_BUNDLE:
        return getattr(importlib.import_module("zeta_payne.bundles.bundle"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
