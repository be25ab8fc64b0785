"""The fit defaults a newly trained bundle gets (its manifest's ``fit_defaults``): the fitted
range and response terms, and the refit rules and masks of hot BOSS stars
(:mod:`zeta_payne.fitting.refits`; measured in ``docs/fitting.md``, "Refits")."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zeta_payne.bundles.manifest import INSTRUMENT_COVERAGE, INSTRUMENT_DEFAULTS

__all__ = [
    "HOT_BLUE_LIMIT",
    "HOT_TEFF",
    "INTERSTELLAR_BANDS",
    "NO_JUMP_BLUE_LIMIT",
    "PASCHEN_EDGE",
    "UNCONSTRAINED_ERROR",
    "default_fit_range",
    "hot_fit_range",
    "hot_interstellar_mask",
    "jump_segments",
]

#: First wavelength [Å] a BOSS model *without* the continuum's jumps may fit: real
#: flux-calibrated spectra fitted from 3,600 Å (across the Balmer jump, which a smooth response
#: cannot follow) came back +0.2 to +1.2 dex in log g; from 3,750 and 3,900 Å they did not
#: (336 MILES/STELIB stars, docs/synthesis.md, "The continuum's jumps").
NO_JUMP_BLUE_LIMIT = 3900.0

#: Above :data:`HOT_TEFF` [K] a BOSS fit starts no bluer than :data:`HOT_BLUE_LIMIT` [Å] (the
#: fit options' ``blue_limit_outside``): from 3,900 Å the v3 BOSS bundle fitted 22 in-box real
#: B stars (≥ 14,000 K) 7.2 % too cool at median with twice the reduced χ², from 4,450 Å
#: 3.0 %; below 10,000 K the blue range is the better one ([M/H] −0.14 / −0.26 / −0.10 against
#: −0.20 / −0.33 / −0.36 at 6.0–6.4 / 6.4–7.5 / 7.5–10 kK; docs/fitting.md).
HOT_TEFF = 10000.0
HOT_BLUE_LIMIT = 4450.0

#: The interstellar lines and bands a BOSS fit leaves out above :data:`HOT_TEFF` (the fit
#: options' ``masked_bands_outside``) [Å, vacuum, the observatory's frame]: Ca II K and H,
#: the DIB at 4428 Å (FWHM ≈ 20 Å), the DIBs at 5780 and 5797, Na I D, the DIBs at 6284 and
#: 6614 — each ± 3 Gaussian σ of its width at R ≈ 2,000 plus 20 km/s of gas motion. A hot
#: star's own lines there are weak, and a reddened sight line's gas (E(B−V) 0–1) biased the
#: v3 BOSS bundle's [M/H] by +0.05 dex at median and up to 0.5 dex in the realistic
#: simulations; masked, the bias is gone and clean spectra lose nothing measurable. Cooler
#: stars keep the bands: their stellar Ca II K and Na D carry [M/H] (masking them for every
#: star moved the real F and A stars' [M/H] by −0.03 to −0.10 dex; docs/fitting.md,
#: "Refits", and docs/validation/diagnosis/interstellar/).
INTERSTELLAR_BANDS: tuple[tuple[float, float], ...] = (
    (3931.0, 3938.5), (3967.5, 3971.5), (4409.0, 4450.0), (5778.0, 5802.0),
    (5888.0, 5901.0), (6277.5, 6293.5), (6611.5, 6619.5),
)


#: A new bundle's ``unconstrained_error`` fit option: [M/H] with a covariance error above
#: 0.3 dex is flagged ``M_H_UNCONSTRAINED`` (a warning). The v3 APOGEE bundle's 200 realistic
#: truth-v1 fits at S/N 50: 63 % flagged (12 % of those below 10,000 K), [M/H] RMS 0.93 on the
#: flagged against 0.25 on the rest (S/N ∞: 40 %, 1.05 against 0.20); the H band above
#: 10,000 K has almost no metal lines. The v2 BOSS bundle's fits never reach it
#: (docs/validation/v3/README.md).
UNCONSTRAINED_ERROR: dict[str, float] = {"m_h": 0.3}


def default_fit_range(
    instrument: str, model_lo: float, model_hi: float, jumps: bool = False
) -> tuple[list[float], int]:
    """A new bundle's fitted wavelength range and number of response terms.

    The range is what the model covers, less 0.5 % at each end (room for the RV search and
    the LSF wings), within what the instrument records
    (:data:`~zeta_payne.bundles.manifest.INSTRUMENT_COVERAGE`: BOSS 3,600–10,400 Å for a v3
    grid); a model that does not reach 2 % below the authors' range (a v2 grid from 4,400 Å)
    keeps the authors' 4,500–10,170 Å. Response terms: 15 over the authors' range (the paper),
    in proportion to the ln λ span otherwise, 8–20.

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    model_lo, model_hi : float
        The model's first and last wavelength [Å].
    jumps : bool
        Whether the model carries the continuum's jumps (trained with a continuum grid).
        Without them a BOSS fit starts no bluer than :data:`NO_JUMP_BLUE_LIMIT`.

    Returns
    -------
    fit_range : [float, float]
        [Å]
    n_chebyshev : int
    """
    cover_lo, cover_hi = INSTRUMENT_COVERAGE[instrument]
    default_lo, default_hi = INSTRUMENT_DEFAULTS[instrument]["wavelength_range"]
    fit_range = [max(cover_lo, model_lo * 1.005), min(cover_hi, model_hi / 1.005)]
    if instrument == "boss" and not jumps:
        fit_range[0] = max(fit_range[0], NO_JUMP_BLUE_LIMIT)
    if fit_range[0] >= default_lo * 0.98:
        fit_range = [max(default_lo, fit_range[0]), min(default_hi, fit_range[1])]
    span = np.log(fit_range[1] / fit_range[0]) / np.log(default_hi / default_lo)
    return fit_range, int(np.clip(round(15 * span), 8, 20))


def hot_fit_range(instrument: str, fit_range: Sequence[float]) -> dict:
    """The ``fit_defaults`` entry that fits hot stars from :data:`HOT_BLUE_LIMIT` (empty when the
    range starts there or redder, or the instrument is not BOSS).

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    fit_range : (float, float)
        The bundle's fitted range [Å] (:func:`default_fit_range`).
    """
    if instrument != "boss" or fit_range[0] >= HOT_BLUE_LIMIT:
        return {}
    return {"blue_limit_outside": {"label": "teff", "range": [0.0, HOT_TEFF], "value": HOT_BLUE_LIMIT}}


def hot_interstellar_mask(instrument: str) -> dict:
    """The ``fit_defaults`` entry that leaves :data:`INTERSTELLAR_BANDS` out of hot stars' fits
    (``masked_bands_outside`` above :data:`HOT_TEFF`; empty for APOGEE: the H band's own
    diffuse band at 15,273 Å is neither simulated nor measured here).

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    """
    if instrument != "boss":
        return {}
    bands = [list(band) for band in INTERSTELLAR_BANDS]
    return {"masked_bands_outside": {"label": "teff", "range": [0.0, HOT_TEFF], "bands": bands}}


#: The continuum's Paschen edge [Å, vacuum; 8,205.9 Å in air, ``zeta_payne.grids.continuum``].
#: A BOSS model without the continuum's jumps gets a separate response series on each side of
#: it (fit option ``response_segments``): the step (up to 19 % in A stars) is no smooth
#: response's shape. Measured on 60 realistic v3-truth fits at S/N 100 (the same cases), median
#: |Δteff| at 8–10 / 10–15 / 15–20 kK: one response 6.8 / 12.0 / 11.7 %, a fit stopped at
#: 8,150 Å 0.50 / 0.66 / 0.89 %, two responses 0.43 / 0.45 / 0.65 % (docs/validation/v3).
PASCHEN_EDGE = 8208.0


def jump_segments(instrument: str, fit_range: Sequence[float], jumps: bool = False) -> dict:
    """The ``fit_defaults`` entry that breaks the response at the Paschen edge (empty for
    APOGEE, for a model that emits the jumps, or a range that does not cross the edge).

    Parameters
    ----------
    instrument : {"boss", "apogee"}
    fit_range : (float, float)
        The bundle's fitted range [Å].
    jumps : bool
        Whether the model carries the continuum's jumps.
    """
    if instrument != "boss" or jumps or not fit_range[0] < PASCHEN_EDGE < fit_range[1]:
        return {}
    return {"response_segments": [PASCHEN_EDGE]}
