"""ASTRA when importable, else the built-in stand-in — one set of names either way.

``$ZETA_PAYNE_ASTRA`` chooses: ``auto`` (default: the real ``astra`` if it imports with
everything the plugin uses, else the stand-in), ``standin``, or ``astra`` (fail loudly
if it cannot be used). Importing the real ``astra`` binds *its* database from its config
(ASTRA's own behaviour); the stand-in binds nothing until
:func:`zeta_payne.astra.database.bind_database`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = [
    "HAVE_ASTRA",
    "SPECTRUM_MODELS",
    "ApogeeCoaddedSpectrumInApStar",
    "ApogeeCombinedSpectrum",
    "ApogeeRestFrameVisitSpectrum",
    "ApogeeVisitSpectrum",
    "ApogeeVisitSpectrumInApStar",
    "BaseModel",
    "BitField",
    "BossCombinedSpectrum",
    "BossRestFrameVisitSpectrum",
    "BossVisitSpectrum",
    "CLASSIFIER_IS_OURS",
    "PipelineOutputModel",
    "Source",
    "Spectrum",
    "SpectrumClassification",
    "astra_version",
    "category_headers",
    "current_v_astra",
    "task",
    "version_integer_to_string",
    "version_string_to_integer",
]

log = logging.getLogger(__name__)

_CHOICE = os.environ.get("ZETA_PAYNE_ASTRA", "auto").strip().lower()


#: What the plugin uses from ASTRA ``dev``: name → (module, attribute).
_ASTRA_NAMES: dict[str, tuple[str, str]] = {
    "task": ("astra", "task"),
    "astra_version": ("astra", "__version__"),
    "BitField": ("astra.fields", "BitField"),
    "BaseModel": ("astra.models.base", "BaseModel"),
    "PipelineOutputModel": ("astra.models.pipeline", "PipelineOutputModel"),
    "Source": ("astra.models.source", "Source"),
    "Spectrum": ("astra.models.spectrum", "Spectrum"),
    "BossVisitSpectrum": ("astra.models.boss", "BossVisitSpectrum"),
    "BossCombinedSpectrum": ("astra.models.mwm", "BossCombinedSpectrum"),
    "BossRestFrameVisitSpectrum": ("astra.models.mwm", "BossRestFrameVisitSpectrum"),
    "ApogeeCombinedSpectrum": ("astra.models.mwm", "ApogeeCombinedSpectrum"),
    "ApogeeRestFrameVisitSpectrum": ("astra.models.mwm", "ApogeeRestFrameVisitSpectrum"),
    "ApogeeCoaddedSpectrumInApStar": ("astra.models.apogee", "ApogeeCoaddedSpectrumInApStar"),
    "ApogeeVisitSpectrumInApStar": ("astra.models.apogee", "ApogeeVisitSpectrumInApStar"),
    "ApogeeVisitSpectrum": ("astra.models.apogee", "ApogeeVisitSpectrum"),
    "version_string_to_integer": ("astra.utils", "version_string_to_integer"),
    "version_integer_to_string": ("astra.utils", "version_integer_to_string"),
}


def _import_astra() -> dict[str, Any]:
    """Everything the plugin uses from ASTRA (raises ImportError if anything lacks)."""
    import importlib

    names: dict[str, Any] = {}
    for name, (module, attribute) in _ASTRA_NAMES.items():
        try:
            names[name] = getattr(importlib.import_module(module), attribute)
        except AttributeError as exc:
            raise ImportError(f"{module}.{attribute}", name=module) from exc
    try:  # removed from ASTRA dev in 2024; then the plugin defines it on ASTRA's base
        names["SpectrumClassification"] = importlib.import_module(
            "astra.models.classifier"
        ).SpectrumClassification
    except (ImportError, AttributeError):
        names["SpectrumClassification"] = None
    return names


def _import_standin() -> dict[str, Any]:
    from zeta_payne.astra import standin

    names = {name: getattr(standin, name) for name in standin.__all__ if name != "__version__"}
    names["astra_version"] = standin.__version__
    return names


_names: dict[str, Any] | None = None
if _CHOICE in ("auto", "astra"):
    try:
        _names = _import_astra()
    except ImportError as exc:
        if _CHOICE == "astra":
            raise
        if getattr(exc, "name", None) != "astra":
            log.warning("astra is installed but lacks %s; using the built-in stand-in", exc)
        _names = None
HAVE_ASTRA: bool = _names is not None
if _names is None:
    _names = _import_standin()

task = _names["task"]
BitField = _names["BitField"]
BaseModel = _names["BaseModel"]
PipelineOutputModel = _names["PipelineOutputModel"]
Source = _names["Source"]
Spectrum = _names["Spectrum"]
BossVisitSpectrum = _names["BossVisitSpectrum"]
BossCombinedSpectrum = _names["BossCombinedSpectrum"]
BossRestFrameVisitSpectrum = _names["BossRestFrameVisitSpectrum"]
ApogeeCombinedSpectrum = _names["ApogeeCombinedSpectrum"]
ApogeeRestFrameVisitSpectrum = _names["ApogeeRestFrameVisitSpectrum"]
ApogeeCoaddedSpectrumInApStar = _names["ApogeeCoaddedSpectrumInApStar"]
ApogeeVisitSpectrum = _names["ApogeeVisitSpectrum"]
ApogeeVisitSpectrumInApStar = _names["ApogeeVisitSpectrumInApStar"]
astra_version: str = _names["astra_version"]
version_string_to_integer = _names["version_string_to_integer"]
version_integer_to_string = _names["version_integer_to_string"]

#: Whether the classifier table is the plugin's own (ASTRA ``dev`` has none; the stand-in's
#: is always created by the plugin).
CLASSIFIER_IS_OURS: bool = _names.get("SpectrumClassification") is None
if CLASSIFIER_IS_OURS:
    from zeta_payne.astra.classification import make_classification_model

    SpectrumClassification = make_classification_model(PipelineOutputModel, BitField)
else:
    SpectrumClassification = _names["SpectrumClassification"]

#: The spectrum models the plugin reads, BOSS first.
SPECTRUM_MODELS: tuple[type, ...] = (
    BossCombinedSpectrum,
    BossRestFrameVisitSpectrum,
    BossVisitSpectrum,
    ApogeeCombinedSpectrum,
    ApogeeRestFrameVisitSpectrum,
    ApogeeCoaddedSpectrumInApStar,
    ApogeeVisitSpectrumInApStar,
    ApogeeVisitSpectrum,
)


def current_v_astra() -> int:
    """``v_astra`` (integer) of results written by this process."""
    return int(version_string_to_integer(astra_version))


def category_headers(model: type) -> tuple[tuple[str, str], ...]:
    """``(heading, first field)`` of the ``#>`` groups of ``model`` (ASTRA's or the stand-in's)."""
    from zeta_payne.astra.standin.base import category_headers as parse

    return parse(model)
