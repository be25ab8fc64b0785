"""ZETA-PAYNE: stellar labels for hot (OBAF) stars from non-normalised spectra."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("zeta-payne")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
