"""The exception and warning tree of zeta-payne."""

__all__ = [
    "ZetaPayneError",
    "SpectrumError",
    "BundleError",
    "GridError",
    "SynthesisError",
    "ZetaPayneWarning",
]


class ZetaPayneError(Exception):
    """Base class of every error raised by zeta-payne."""


class SpectrumError(ZetaPayneError, ValueError):
    """An input spectrum cannot be used (inconsistent shapes, bad wavelengths, ...)."""


class BundleError(ZetaPayneError):
    """A model bundle is missing, malformed, or fails its hash check."""


class GridError(ZetaPayneError):
    """A spectral grid is missing, malformed, or inconsistent."""


class SynthesisError(ZetaPayneError):
    """The synthesis backend failed or is not installed."""


class ZetaPayneWarning(UserWarning):
    """Base class of zeta-payne warnings."""
