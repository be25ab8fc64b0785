"""Equivalent widths of clean solar Fe lines from the synthesis backend (a physics check).

Each line is synthesized *alone* (only its own entry of the line list, so blends do not
count) in the solar model atmosphere the backend uses — ATLAS9 ODFNEW interpolated to
5,777 K / 4.44 / 0.0, v_micro 1 km/s, Asplund et al. (2009) abundances — and its equivalent
width is compared with the solar flux value. Optionally the same line is synthesized in an
ATLAS9 deck read by SME's own reader (``--krz``, e.g. the ``testatmo1.krz`` of the
``pysme-astro`` sdist), which tests how the backend hands its atmosphere to SME.

The reference widths are rounded solar-flux equivalent widths of well-studied unblended
lines as commonly tabulated in solar and solar-twin analyses (e.g. Meléndez & Barbuy 2009,
A&A 497, 611 for Fe II); they are good to about ±5 % and serve as an order-of-magnitude
check of the abundance scale (0.1 dex ≈ 10–20 % in these widths), not as a calibration.

Run::

    python -m zeta_payne.validation.solar_lines [--krz FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["SOLAR_LINES", "isolated_equivalent_width"]

#: (species, air wavelength [Å], solar flux equivalent width [mÅ], rounded).
SOLAR_LINES: tuple[tuple[str, float, float], ...] = (
    ("Fe 1", 6151.62, 50.0),
    ("Fe 1", 6173.34, 68.0),
    ("Fe 1", 6240.65, 49.0),
    ("Fe 1", 6082.71, 35.0),
    ("Fe 1", 5247.05, 67.0),
    ("Fe 1", 5250.21, 66.0),
    ("Fe 1", 6498.94, 46.0),
    ("Fe 2", 6516.08, 56.0),
    ("Fe 2", 6432.68, 42.0),
    ("Fe 2", 6247.56, 53.0),
    ("Fe 2", 6456.38, 64.0),
)


def isolated_equivalent_width(
    line: Any,
    atmosphere: Any,
    teff: float,
    logg: float,
    m_h: float,
    v_micro: float,
    half_width: float = 1.5,
) -> float:
    """Equivalent width [mÅ] of one line synthesized alone by SME.

    Parameters
    ----------
    line : pandas.DataFrame
        One row (or the components of one line) in the backend's line-list columns.
    atmosphere : pysme Atmosphere
        The model atmosphere handed to SME.
    teff, logg, m_h, v_micro : float
        [K], [dex cgs], [dex], [km/s].
    half_width : float
        Half width of the synthesized window [Å]; the width is integrated over all of it.
    """
    from zeta_payne.grids.sme import synthesize_sme

    centre = float(np.mean(line["wlcent"]))
    wave = np.linspace(centre - half_width, centre + half_width, 3001)
    (segment,) = synthesize_sme(teff, logg, m_h, [wave], line, atmosphere, v_micro)
    return float(np.trapezoid(1.0 - segment.flux, wave) * 1000.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table of synthesized and solar equivalent widths."""
    from zeta_payne.grids.atmospheres import get_atmosphere, load_kurucz_grid
    from zeta_payne.grids.sme import _sme_atmosphere, load_linelist

    parser = argparse.ArgumentParser(prog="python -m zeta_payne.validation.solar_lines", description=__doc__)
    parser.add_argument("--linelist", default="data/linelists/obaf_merged.csv.gz")
    parser.add_argument(
        "--krz", default=None, help="an ATLAS9 deck read by SME's own KrzFile (5,750 K / 4.5)"
    )
    parser.add_argument("--v-micro", type=float, default=1.0)
    args = parser.parse_args(argv)
    lines = load_linelist(args.linelist)
    ours = _sme_atmosphere(get_atmosphere(load_kurucz_grid(), 5777.0, 4.44, 0.0))
    krz = None
    if args.krz:
        from pysme.atmosphere.krzfile import KrzFile

        krz = KrzFile(args.krz)
        deck = _sme_atmosphere(get_atmosphere(load_kurucz_grid(), krz.teff, krz.logg, 0.0))
    print(f"line list {args.linelist}; solar model 5777/4.44/0.0, v_micro {args.v_micro} km/s")
    header = "| line | log gf | EP [eV] | W synthesized [mÅ] | W Sun [mÅ] | ratio |"
    if krz is not None:
        header += f" W, SME's reader of {krz.teff:.0f}/{krz.logg} | W, backend's same model |"
    print(header)
    print("|---|---|---|---|---|---|" + ("---|---|" if krz is not None else ""))
    ratios = {"Fe 1": [], "Fe 2": []}
    for species, wl, sun in SOLAR_LINES:
        row = lines[(np.abs(lines["wlcent"] - wl) < 0.02) & (lines["species"] == species)]
        if row.empty:
            print(f"| {species} {wl:.2f} | not in the list |")
            continue
        # the line itself among same-species entries within 0.02 Å: the strongest by the
        # Boltzmann-weighted gf at the Sun's temperature
        strength = row["gflog"] - 5040.0 / 5777.0 * row["excit"]
        row = row.loc[[strength.idxmax()]]
        w = isolated_equivalent_width(row, ours, 5777.0, 4.44, 0.0, args.v_micro)
        ratios[species].append(w / sun)
        text = (
            f"| {species} {wl:.2f} | {row['gflog'].iloc[0]:+.3f} | {row['excit'].iloc[0]:.3f} | "
            f"{w:.1f} | {sun:.0f} | {w / sun:.2f} |"
        )
        if krz is not None:
            a = isolated_equivalent_width(row, krz, krz.teff, krz.logg, 0.0, args.v_micro)
            b = isolated_equivalent_width(row, deck, krz.teff, krz.logg, 0.0, args.v_micro)
            text += f" {a:.1f} | {b:.1f} |"
        print(text)
    for species, r in ratios.items():
        if r:
            print(f"{species}: median ratio {np.median(r):.3f} ({len(r)} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
