"""The exception and warning tree of zeta-payne."""

__all__ = [
    "ZetaPayneError",
    "SpectrumError",
    "SpectrumRejected",
    "BundleError",
    "GridError",
    "SynthesisError",
    "ZetaPayneWarning",
]


class ZetaPayneError(Exception):
    """Base class of every error raised by zeta-payne."""


class SpectrumError(ZetaPayneError, ValueError):
    """An input spectrum cannot be used (inconsistent shapes, bad wavelengths, ...)."""


class SpectrumRejected(SpectrumError):
    """A valid spectrum that cannot be fitted (no pixels in range, outside the model, ...).

    Parameters
    ----------
    flags : int
        The :class:`zeta_payne.fitting.flags.ResultFlags` bits that say why (and any
        warnings found before the rejection).
    message : str
        A human-readable reason.
    """

    def __init__(self, flags: int, message: str) -> None:
        super().__init__(message)
        self.flags = int(flags)
        self.message = message


class BundleError(ZetaPayneError):
    """A model bundle is missing, malformed, or fails its hash check."""


class GridError(ZetaPayneError):
    """A spectral grid is missing, malformed, or inconsistent."""


class SynthesisError(ZetaPayneError):
    """The synthesis backend failed or is not installed."""


class ZetaPayneWarning(UserWarning):
    """Base class of zeta-payne warnings."""
