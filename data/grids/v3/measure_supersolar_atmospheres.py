#!/usr/bin/env python
"""The supersolar atmospheres: the atmosnet [M/H] change at fixed column mass or at fixed τ.

Above ATLAS9's [M/H] +0.5 the backend builds an atmosphere as the ATLAS9 +0.5 model plus
atmosnet's (a C3K/ATLAS12 emulator) change from +0.5 to [M/H]. Until the twenty-fourth
session that change was taken at fixed column mass (rhox); it is now taken at fixed
log τ_Ross (:func:`zeta_payne.grids.atmospheres.get_atmosphere`). Printed:

1. atmospheres: the largest change of log T per 0.05 dex of [M/H] in the line- and
   continuum-forming layers (log τ_Ross −4 … +1 of the ATLAS9 +0.5 model) from +0.5 to +0.8,
   the old way and the new, beside ATLAS9's own change from 0 to +0.5 and atmosnet's;
2. spectra along [M/H] at the two APOGEE midpoint probes below 8 kK whose [M/H] is +0.6
   (probe grids ``obaf-sme-v3-axisprobe-mh``, old, and ``-mh-tau``, new; 20 nodes each,
   [M/H] 0.2-0.8): the mean flux (line absorption) at each [M/H] and p95 |second difference|
   at h = 0.05 — a smooth physics has small ones, as below +0.5;
3. the lattice's [M/H] +0.8 nodes as they are on disk against the same nodes made the new
   way (``obaf-sme-v3-supersolar-check``, 5 level-0 nodes, both instruments): p95 and max
   |Δflux|. Run at commit 98fb425 (before the retirement) it measured what the retirement
   changes (``docs/synthesis.md``, "Supersolar atmospheres"); once the campaign has made the
   nodes again it checks that they are made identically (≈ 0).

Usage: ``python data/grids/v3/measure_supersolar_atmospheres.py`` (a minute). The probe
grids: ``python -m zeta_payne.grids.campaign synthesize --root data/grids --grid G
--nodes-file data/grids/v3/nodes-v3-axisprobe-mh.txt --v-micro 2.0 --instruments apogee``
(G = ``obaf-sme-v3-axisprobe-mh`` with the old code, ``-mh-tau`` with the new) and ``--grid
obaf-sme-v3-supersolar-check --nodes-file data/grids/v3/nodes-v3-supersolar-check.txt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zeta_payne.grids import atmospheres as atm
from zeta_payne.grids.nodes import load_node_grid

GRIDS = Path("data/grids")
ATMOSPHERE_POINTS = ((6750.0, 3.25), (7750.0, 2.75), (9000.0, 4.0), (15000.0, 4.0))
PROBE_POINTS = ((6750.0, 3.25), (7750.0, 2.75))


def _fixed_rhox(grid: atm.KuruczGrid, teff: float, logg: float, m_h: float) -> np.ndarray:
    """log T of the old construction: the atmosnet change at fixed log rhox, on the +0.5 model."""
    base = atm.interpolate_atmosphere(grid, teff, logg, 0.5)
    hi, ref = atm._emulated_deck(teff, logg, m_h), atm._emulated_deck(teff, logg, 0.5)
    x = np.log10(base.rhox)
    return (np.log10(base.temp) + np.interp(x, np.log10(hi[:, 0]), np.log10(hi[:, 1]))
            - np.interp(x, np.log10(ref[:, 0]), np.log10(ref[:, 1])))


def _atlas9_log_t(grid: atm.KuruczGrid, teff: float, logg: float, m_h: float,
                  tau: np.ndarray) -> np.ndarray:
    """log T of the ATLAS9 model at (teff, logg, m_h) on the log τ_Ross scale ``tau``."""
    model, own = atm._weighted_on_tau(grid, teff, logg, m_h, atm._corners(grid, teff, logg, m_h), 72)
    return np.interp(tau, own, np.log10(model.temp))


def atmospheres() -> None:
    grid = atm.load_kurucz_grid()
    print("1. max |Δ log T| per 0.05 dex of [M/H], log τ_Ross −4 … +1 (of the +0.5 model)")
    print("   teff  logg | ATLAS9 0→0.5 | atmosnet 0→0.5 | old 0.5→0.8 | new 0.5→0.8")
    for teff, logg in ATMOSPHERE_POINTS:
        _, tau = atm._weighted_on_tau(grid, teff, logg, 0.5, atm._corners(grid, teff, logg, 0.5), 72)
        layers = (tau > -4) & (tau < 1)

        atlas = np.abs(_atlas9_log_t(grid, teff, logg, 0.5, tau)
                       - _atlas9_log_t(grid, teff, logg, 0.0, tau))[layers].max() / 10
        decks = [atm._emulated_deck(teff, logg, m) for m in (0.0, 0.5)]
        net = [np.interp(tau, atm._log_tau_ross(d[:, 0], d[:, 4]), np.log10(d[:, 1])) for d in decks]
        net_step = np.abs(net[1] - net[0])[layers].max() / 10
        steps = np.arange(0.5, 0.801, 0.05)
        old = np.array([_fixed_rhox(grid, teff, logg, m) for m in steps])
        new = np.array([np.log10(atm.get_atmosphere(grid, teff, logg, m).temp) for m in steps])
        print(f"  {teff:6.0f} {logg:5.2f} |    {atlas:.4f}    |     {net_step:.4f}     |"
              f"    {np.abs(np.diff(old, axis=0))[:, layers].max():.4f}   |"
              f"    {np.abs(np.diff(new, axis=0))[:, layers].max():.4f}")


def _node(grid, label: tuple[float, float, float]) -> np.ndarray | None:
    d = np.abs(grid.labels - np.asarray(label)).max(axis=1)
    j = int(np.argmin(d))
    return grid.flux[j].astype(float) if d[j] < 1e-3 else None


def probes() -> None:
    print("\n2. APOGEE spectra along [M/H] at the +0.6 midpoints: mean flux; p95 |second difference|")
    grids = {name: load_node_grid(GRIDS / f"obaf-sme-v3-axisprobe-{name}", "apogee")
             for name in ("mh", "mh-tau")}
    for teff, logg in PROBE_POINTS:
        print(f"  teff {teff:.0f} logg {logg}")
        for name, g in grids.items():
            ms = [m for m in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7) if _node(g, (teff, logg, m)) is not None]
            means = " ".join(f"{_node(g, (teff, logg, m)).mean():.4f}" for m in ms)
            second = [np.percentile(np.abs(_node(g, (teff, logg, m - 0.05)) - 2 * _node(g, (teff, logg, m))
                                           + _node(g, (teff, logg, m + 0.05))), 95)
                      for m in (0.45, 0.5, 0.55, 0.6, 0.65)]
            print(f"    {'old' if name == 'mh' else 'new'}: mean flux at {ms}: {means}")
            print("         second differences at 0.45 … 0.65: " + " ".join(f"{x:.5f}" for x in second))


def lattice_nodes() -> None:
    print("\n3. lattice [M/H] +0.8 nodes, old against new: p95 / max |Δflux|")
    for inst in ("boss", "apogee"):
        lattice = load_node_grid(GRIDS / "obaf-sme-v3", inst)
        check = load_node_grid(GRIDS / "obaf-sme-v3-supersolar-check", inst)
        for label, flux in zip(check.labels, check.flux, strict=True):
            old = _node(lattice, tuple(label))
            if old is None:
                print(f"  {inst} {label}: not in the lattice (retired?)")
                continue
            d = np.abs(old - flux.astype(float))
            print(f"  {inst:6s} teff {label[0]:6.0f} logg {label[1]:.2f}: p95 {np.percentile(d, 95):.5f}"
                  f"  max {d.max():.4f}")


if __name__ == "__main__":
    atmospheres()
    probes()
    if (GRIDS / "obaf-sme-v3-supersolar-check" / "manifest.json").is_file():
        lattice_nodes()
