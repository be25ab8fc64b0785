"""The paper's simulation study (Section 4): simulate, fit, summarise, report."""

from zeta_payne.validation.statistics import binned_rms, converged, summarize

__all__ = ["binned_rms", "converged", "summarize"]
