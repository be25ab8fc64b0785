"""The stand-in ``SpectrumClassification`` (see :mod:`zeta_payne.astra.classification`)."""

from __future__ import annotations

from zeta_payne.astra.classification import CLASSES, SMALL, make_classification_model
from zeta_payne.astra.standin.fields import BitField
from zeta_payne.astra.standin.pipeline import PipelineOutputModel

__all__ = ["CLASSES", "SMALL", "SpectrumClassification"]

SpectrumClassification = make_classification_model(PipelineOutputModel, BitField)
SpectrumClassification.__module__ = __name__
