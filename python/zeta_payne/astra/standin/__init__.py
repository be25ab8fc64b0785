"""A built-in stand-in for ASTRA (github sdss/astra, ``dev``), used when ``astra`` is absent.

It implements the part of ASTRA's contract a pipeline plugin relies on, with the same
names: the ``task`` decorator (batching, upsert on ``(spectrum_pk, v_astra_major_minor)``,
results yielded after writing, ``yield ...`` overhead accounting, options consumed from
keyword arguments), ``BaseModel``, ``Source``, ``Spectrum``, the BOSS and APOGEE spectrum
models with lazily loaded (and assignable) pixel arrays, ``SpectrumClassification`` and
``PipelineOutputModel``. Models are bound to a database at run time
(:func:`zeta_payne.astra.database.bind_database`), never at import.
"""

from zeta_payne.astra.standin.apogee import (
    ApogeeCoaddedSpectrumInApStar,
    ApogeeVisitSpectrum,
    ApogeeVisitSpectrumInApStar,
)
from zeta_payne.astra.standin.base import BaseModel
from zeta_payne.astra.standin.boss import BossVisitSpectrum
from zeta_payne.astra.standin.classifier import SpectrumClassification
from zeta_payne.astra.standin.fields import BitField, FloatArrayField, PixelArray
from zeta_payne.astra.standin.mwm import (
    ApogeeCombinedSpectrum,
    ApogeeRestFrameVisitSpectrum,
    BossCombinedSpectrum,
    BossRestFrameVisitSpectrum,
)
from zeta_payne.astra.standin.pipeline import PipelineOutputModel
from zeta_payne.astra.standin.source import Source
from zeta_payne.astra.standin.spectrum import Spectrum
from zeta_payne.astra.standin.task import task
from zeta_payne.astra.standin.version import (
    __version__,
    version_integer_to_string,
    version_string_to_integer,
)

__all__ = [
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
    "FloatArrayField",
    "PipelineOutputModel",
    "PixelArray",
    "Source",
    "Spectrum",
    "SpectrumClassification",
    "__version__",
    "task",
    "version_integer_to_string",
    "version_string_to_integer",
]

#: Spectrum models whose tables the stand-in creates.
SPECTRUM_MODELS = (
    BossVisitSpectrum,
    BossCombinedSpectrum,
    BossRestFrameVisitSpectrum,
    ApogeeCoaddedSpectrumInApStar,
    ApogeeVisitSpectrumInApStar,
    ApogeeVisitSpectrum,
    ApogeeCombinedSpectrum,
    ApogeeRestFrameVisitSpectrum,
)
