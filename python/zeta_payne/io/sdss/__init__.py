"""Readers (and fixture writers) of SDSS spectrum products.

Importing this package registers the readers ``mwm`` (mwmStar/mwmVisit), ``apstar``,
``apvisit`` and ``boss_spec`` (specFull/spec-lite) with :mod:`zeta_payne.io.registry`.
:func:`describe_file` lists the spectra in a file from its headers, for ingestion.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from zeta_payne.exceptions import SpectrumError
from zeta_payne.io.sdss.apstar import describe_apstar, identify_apstar, load_apstar_pixels, write_apstar
from zeta_payne.io.sdss.apvisit import describe_apvisit, identify_apvisit, load_apvisit_pixels, write_apvisit
from zeta_payne.io.sdss.boss_spec import (
    describe_boss_spec,
    identify_boss_spec,
    load_boss_spec_pixels,
    write_boss_spec,
)
from zeta_payne.io.sdss.common import PixelData, SpectrumRecord, bad_pixel_bits, to_spectrum
from zeta_payne.io.sdss.mwm import describe_mwm, identify_mwm, load_mwm_pixels, write_mwm

__all__ = [
    "PixelData",
    "SpectrumRecord",
    "bad_pixel_bits",
    "describe_file",
    "load_apstar_pixels",
    "load_apvisit_pixels",
    "load_boss_spec_pixels",
    "load_mwm_pixels",
    "to_spectrum",
    "write_apstar",
    "write_apvisit",
    "write_boss_spec",
    "write_mwm",
]

_DESCRIBERS: tuple[tuple[str, Callable[[str], bool], Callable[[str], list[SpectrumRecord]]], ...] = (
    ("mwm", identify_mwm, describe_mwm),
    ("apstar", identify_apstar, describe_apstar),
    ("apvisit", identify_apvisit, describe_apvisit),
    ("boss_spec", identify_boss_spec, describe_boss_spec),
)


def describe_file(path: str | os.PathLike) -> list[SpectrumRecord]:
    """The spectra in an SDSS file, described from headers (pixels are not read).

    Raises
    ------
    SpectrumError
        Missing file, not a recognised SDSS product, unreadable headers, or no spectra.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise SpectrumError(f"{path}: no such file")
    for _, identify, describe in _DESCRIBERS:
        try:
            known = identify(path)
        except Exception:
            known = False
        if known:
            records = describe(path)
            if not records:
                raise SpectrumError(f"{path}: no spectra in this file (its extensions are empty)")
            return records
    raise SpectrumError(f"{path}: not a recognised SDSS spectrum product")
