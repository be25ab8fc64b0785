"""Fitting: pre-search, least squares, uncertainties, results and flags."""

from zeta_payne.fitting.fitter import Fitter
from zeta_payne.fitting.flags import BAD_MASK, WARN_MASK, ResultFlags, flag_names
from zeta_payne.fitting.options import FitOptions
from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.spectrum import Spectrum

__all__ = [
    "BAD_MASK",
    "WARN_MASK",
    "FitOptions",
    "FitResult",
    "Fitter",
    "ResultFlags",
    "Spectrum",
    "flag_names",
]
