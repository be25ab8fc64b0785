"""Model bundles: manifest, load/save, registry, import of the authors' networks."""

from zeta_payne.bundles.bundle import Bundle, load_bundle, save_bundle
from zeta_payne.bundles.manifest import INSTRUMENT_DEFAULTS, SCHEMA_VERSION, LabelSpec, Manifest

__all__ = [
    "INSTRUMENT_DEFAULTS",
    "SCHEMA_VERSION",
    "Bundle",
    "LabelSpec",
    "Manifest",
    "load_bundle",
    "save_bundle",
]
