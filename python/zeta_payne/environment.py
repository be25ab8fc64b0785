"""The software a result was computed with: package versions, recorded beside the result.

Fits of flat χ² valleys (a hot star's [M/H] in the H band) can end at another point when
numpy, SciPy or torch differ in their last digits — or the processor does: the same code,
bundle and packages gave 9 of APOGEE's 328 out-of-box synthetic fits a teff more than 1 % apart
on an Intel Xeon and on an AMD EPYC (``docs/validation/v3/README.md``, thirty-fourth session).
A validation figure is reproducible only in the environment that made it, so every study,
benchmark and grid records the packages (:func:`package_versions`) and studies the machine
(:func:`machine`).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

NUMERICAL_PACKAGES: tuple[str, ...] = ("zeta-payne", "numpy", "scipy", "torch", "astropy")
"""The packages whose versions decide a fit's last digits (and the pipeline's own)."""


def package_versions(packages: Sequence[str] = NUMERICAL_PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``packages`` (None where one is not installed), and Python's.

    Parameters
    ----------
    packages : sequence of str
        Distribution names as pip knows them.

    Returns
    -------
    dict
        ``{"python": "3.x.y", package: version or None, ...}``.
    """
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def differences(a: dict | None, b: dict | None) -> dict[str, tuple]:
    """The packages whose versions differ between two records.

    Parameters
    ----------
    a, b : dict or None
        Records of :func:`package_versions`; None where a result predates the record.

    Returns
    -------
    dict
        ``{package: (version in a, version in b)}`` for every package that differs, or
        ``{"environment": ("not recorded", …)}`` when either record is missing.
    """
    if not a or not b:
        return {"environment": ("recorded" if a else "not recorded", "recorded" if b else "not recorded")}
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def describe(record: dict | None) -> str:
    """One line for a report: ``"python 3.11.7, numpy 2.4.6, …"`` (installed packages only)."""
    if not record:
        return "environment not recorded"
    return ", ".join(f"{k} {v}" for k, v in record.items() if v)


def machine() -> dict[str, str | int | None]:
    """The processor a result was computed on: ``{"cpu": model name, "isa": the vector
    instructions torch's CPU kernels use (e.g. "AVX512"; None without torch), "cores": n}``."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    try:
        import torch

        isa: str | None = str(torch.backends.cpu.get_cpu_capability())
    except (ImportError, AttributeError):
        isa = None
    return {"cpu": model, "isa": isa, "cores": os.cpu_count()}


def describe_machine(record: dict | None) -> str:
    """One line for a report: ``"AMD EPYC (AVX512)"`` from a :func:`machine` record."""
    if not record:
        return f"{platform.machine()} (processor not recorded)"
    return f"{record.get('cpu')} ({record.get('isa') or 'vector instructions unknown'})"
