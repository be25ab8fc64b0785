"""ASTRA's version arithmetic (``v_astra`` as ``major·10⁶ + minor·10³ + patch``)."""

from __future__ import annotations

__all__ = ["__version__", "version_integer_to_string", "version_string_to_integer"]

#: The ASTRA version whose contract the stand-in implements (``dev``, 0.8).
__version__: str = "0.8.0"


def version_string_to_integer(version: str) -> int:
    """``"0.8.1"`` → ``8001``; missing parts count as 0 (``"0.8"`` → ``8000``)."""
    parts = [int(p) for p in str(version).split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 10**6 + parts[1] * 10**3 + parts[2]


def version_integer_to_string(value: int) -> str:
    """``8001`` → ``"0.8.1"``."""
    value = int(value)
    return f"{value // 10**6}.{(value // 10**3) % 1000}.{value % 1000}"
