"""The inputs of ``zeta-payne fit``: files, folders and glob patterns, read into spectra."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from zeta_payne.exceptions import SpectrumError, ZetaPayneError

__all__ = ["SPECTRUM_PATTERNS", "expand_inputs", "guess_instrument", "read_inputs"]

#: Files a folder is searched for.
SPECTRUM_PATTERNS: tuple[str, ...] = ("*.npz", "*.fits", "*.fits.gz")


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """The files of ``inputs``: files as given, folders searched (recursively) for
    :data:`SPECTRUM_PATTERNS`, glob patterns expanded (``**`` included). Duplicates removed.

    Raises
    ------
    ZetaPayneError
        An input that does not exist, a pattern or folder that finds no file.
    """
    files: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(
                {
                    p
                    for pattern in SPECTRUM_PATTERNS
                    for p in glob.glob(os.path.join(item, "**", pattern), recursive=True)
                }
            )
            if not found:
                raise ZetaPayneError(f"{item}: no {', '.join(SPECTRUM_PATTERNS)} files in this folder")
            files.extend(found)
        elif os.path.exists(item):
            files.append(item)
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            if not found:
                raise ZetaPayneError(f"{item}: no file matches this pattern")
            files.extend(found)
        else:
            raise ZetaPayneError(f"{item}: no such file or folder")
    return list(dict.fromkeys(files))


def guess_instrument(wavelength: np.ndarray) -> str:
    """``"apogee"`` for near-infrared wavelengths (median above 12,000 Å), else ``"boss"``."""
    return "apogee" if float(np.nanmedian(wavelength)) > 12000.0 else "boss"


def read_inputs(files: Sequence[str], format: str | None = None) -> tuple[list[Any], list[tuple[str, str]]]:
    """Read every spectrum of ``files``.

    Returns
    -------
    spectra : list of Spectrum
        With ``meta["file"]`` and ``meta["instrument"]`` (guessed from the wavelengths when the
        file does not say).
    unreadable : list of (path, message)
    """
    from zeta_payne.io.registry import read_spectra

    spectra, unreadable = [], []
    for path in files:
        try:
            found = read_spectra(path, format=format)
        except SpectrumError as exc:
            unreadable.append((path, str(exc)))
            continue
        if not found:
            unreadable.append((path, f"{path}: no spectra in this file"))
        for index, spectrum in enumerate(found):
            spectrum.meta.setdefault("file", path)
            spectrum.meta.setdefault("index", index)
            if not spectrum.meta.get("instrument"):
                spectrum.meta["instrument"] = guess_instrument(spectrum.wavelength)
            spectra.append(spectrum)
    return spectra, unreadable
