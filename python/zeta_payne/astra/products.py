"""The model-flux data product: one FITS file per result, written atomically.

HDU1 (``MODEL``) is a table on the observed wavelength grid with ``wavelength`` [Å, vacuum],
``flux``, ``ivar``, ``model_flux`` (NaN where not modelled) and ``used`` (pixel in χ²); the
header carries the labels, RV, fit statistics, flags and the bundle.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from astropy.io import fits

from zeta_payne.fitting.result import FitResult
from zeta_payne.fitting.spectrum import Spectrum
from zeta_payne.io.sdss.fitsutil import atomic_write, open_fits, utc_now
from zeta_payne.io.sdss.paths import expand_path

__all__ = ["DEFAULT_PRODUCT_DIR", "product_path", "read_model_flux", "write_model_flux"]

#: Where products go by default (``{v_astra}`` is filled in).
DEFAULT_PRODUCT_DIR: str = "$MWM_ASTRA/{v_astra}/pipelines/zeta_payne"


def product_path(directory: str, spectrum_pk: int, v_astra: str) -> str:
    """``<directory>/<pk[-4:-2]>/<pk[-2:]>/zetaPayne-<spectrum_pk>.fits`` (variables unexpanded)."""
    folder = directory.format(v_astra=v_astra)
    n = f"{int(spectrum_pk):0>4d}"
    return os.path.join(folder, n[-4:-2], n[-2:], f"zetaPayne-{int(spectrum_pk)}.fits")


def write_model_flux(
    path: str,
    spectrum: Spectrum,
    result: FitResult,
    header: dict[str, Any] | None = None,
) -> str:
    """Write the model flux of ``result`` on the grid of ``spectrum`` (temp file + rename).

    Parameters
    ----------
    path : str
        Destination; ``$VARIABLES`` and ``~`` are expanded.
    spectrum : Spectrum
        The fitted spectrum, shape (N,).
    result : FitResult
        Its fit (``model_flux`` shape (N,)).
    header : dict, optional
        Extra header cards (``{KEY: value}``).

    Returns
    -------
    str
        The expanded path written.
    """
    n = spectrum.n_pixels
    model = np.full(n, np.nan) if result.model_flux is None else np.asarray(result.model_flux, float)
    used = np.isfinite(model) & spectrum.usable()
    columns = [
        fits.Column(name="wavelength", format="D", unit="Angstrom", array=spectrum.wavelength),
        fits.Column(name="flux", format="E", array=np.asarray(spectrum.flux, np.float32)),
        fits.Column(name="ivar", format="E", array=np.asarray(spectrum.ivar, np.float32)),
        fits.Column(name="model_flux", format="E", array=model.astype(np.float32)),
        fits.Column(name="used", format="L", array=used),
    ]
    table = fits.BinTableHDU.from_columns(columns, name="MODEL")
    cards: dict[str, Any] = {"CREATED": utc_now(), "PIPELINE": "ZETA-PAYNE"}
    for name in result.label_names:
        cards[name.upper()[:8]] = result.label(name)
    cards.update(
        V_RAD=result.v_rad, CHI2=result.chi2, RCHI2=result.rchi2, SNR=result.snr, FLAGS=int(result.flags)
    )
    cards.update(header or {})
    for key, value in cards.items():
        if isinstance(value, float) and not np.isfinite(value):
            value = "NaN"
        table.header[key] = value
    return atomic_write(fits.HDUList([fits.PrimaryHDU(), table]), expand_path(path))


def read_model_flux(path: str) -> dict[str, Any]:
    """Read a model-flux product: arrays (shape (N,)) and ``header``."""
    with open_fits(expand_path(path)) as hdul:
        data = hdul["MODEL"].data
        out: dict[str, Any] = {name: np.array(data[name]) for name in data.columns.names}
        out["header"] = dict(hdul["MODEL"].header)
    return out
