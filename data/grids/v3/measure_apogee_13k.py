"""Does a gradual teff step at 13 kK bring APOGEE's 10–15 kK midpoints under ½ the emulator?

The shipped APOGEE bundle's interpolant (its training generator: the lattice
``data/grids/obaf-sme-v3`` with its levels, cubic stencils) meets issue 14's "interpolation
≤ ½ emulator" everywhere but at the median of the five 10–15 kK midpoint probes (0.60), set
by the three at 13,250 K. The probe grid ``data/grids/obaf-sme-v3-apogee-13k``
(``plan_v3_apogee_13k.py``) holds APOGEE syntheses at teff 13,250 / 13,500 / 13,750 / 14,500 K
on the lattice's log g and [M/H], and the three midpoints' log g and [M/H] at 13,000 and
14,000 K.
Printed:

1. the check: the probe's copy of a lattice node against the lattice's (same physics);
2. the [M/H] part: at 13,000 and 14,000 K (on the lattice's teff), the interpolant at the
   midpoints' off-lattice [M/H] against the synthesis there;
3. per variant of the lattice — as trained; with 13,500 K added as a new finest level (teff
   spacing 250 / 500 / 500 / 1,000 K around 13–14 kK); with 13,500 and 14,500 K (250 / 500 /
   500 / 500 / 500 / 1,000); with 13,250, 13,500 and 13,750 K —
   the shipped network against the interpolant at the held-out sets (the midpoint probes and
   the v3 synthesis truth, 10–15 kK and 12.5–15 kK), as ``zeta-payne bundle holdout`` reports
   them (median and p95 of |Δflux| over all pixels of the region's nodes, and their ratio to
   the emulator's). The emulator is the shipped one throughout: this measures the lattice,
   not a network trained on it.

Usage (from the repository root, ≈ 1 min): ``python data/grids/v3/measure_apogee_13k.py``.
"""

from __future__ import annotations

import numpy as np

from zeta_payne.bundles.bundle import load_bundle
from zeta_payne.grids.nodes import NodeGrid, load_node_grid
from zeta_payne.training.accuracy import holdout_errors, holdout_on_grid
from zeta_payne.training.holdout import _pixels, _training_grid

BUNDLE = "data/bundles/zeta-payne-apogee"
PROBE = "data/grids/obaf-sme-v3-apogee-13k"
HELD = ("data/grids/obaf-sme-v3-midpoints", "data/truth/synth-truth-v3")
MIDPOINTS = ((13250.0, 3.75, 0.2), (13250.0, 4.75, -0.75), (13250.0, 4.75, 0.2))
CHECK = (13000.0, 4.0, 0.0)
VARIANTS = {"as trained": (), "+ 13,500 K": (13500.0,), "+ 13,500 / 14,500 K": (13500.0, 14500.0),
            "+ 13,250 / 13,500 / 13,750 K": (13250.0, 13500.0, 13750.0)}


def _row(grid: NodeGrid, label) -> np.ndarray:
    d = np.abs(grid.labels - np.asarray(label)).max(axis=1)
    j = int(np.argmin(d))
    if d[j] > 1e-3:
        raise SystemExit(f"no node at {label}")
    return grid.flux[j].astype(float)


def with_teff(grid: NodeGrid, probe: NodeGrid, teffs: tuple[float, ...]) -> NodeGrid:
    """The lattice with the probe's nodes at ``teffs`` as a new, finest refinement level."""
    if not teffs:
        return grid
    take = np.isin(probe.labels[:, 0], teffs)
    last = grid.levels[-1]
    level = (np.unique(np.concatenate([last[0], teffs])), last[1], last[2])
    return NodeGrid(labels=np.concatenate([grid.labels, probe.labels[take]]), wavelength=grid.wavelength,
                    flux=np.concatenate([grid.flux, probe.flux[take]]), manifest=grid.manifest,
                    medium=grid.medium, levels=[*grid.levels, level], points=grid.points)


def _stats(e: np.ndarray) -> str:
    return f"median {np.median(e):.5f}, p95 {np.percentile(e, 95):.5f}"


def main() -> None:
    bundle = load_bundle(BUNDLE)
    grid, continuum, warnings = _training_grid(bundle, None)
    for w in warnings:
        print("warning:", w)
    pixels = _pixels(bundle, grid.wavelength)
    probe = load_node_grid(PROBE, "apogee")
    if not np.allclose(probe.wavelength, grid.wavelength, rtol=1e-12):
        raise SystemExit("the probe grid is on other pixels than the lattice")
    print(f"# APOGEE at 13 kK: {bundle.name} {bundle.version}, lattice {len(grid)} nodes, "
          f"probe {len(probe)} nodes\n")
    diff = np.abs(_row(probe, CHECK) - _row(grid, CHECK))
    print(f"1. check node {CHECK}: probe − lattice max |Δflux| {diff.max():.2e}\n")

    print("2. [M/H] part (on the lattice's teff, cubic in [M/H]): interpolant − synthesis, all pixels\n")
    print("| teff | log g | [M/H] | |Δflux| |")
    print("|---|---|---|---|")
    for _, g, m in MIDPOINTS:
        for t in (13000.0, 14000.0):
            e = np.abs(grid.interpolate(np.array([[t, g, m]]))[0].astype(float) - _row(probe, (t, g, m)))
            print(f"| {t:.0f} | {g:.2f} | {m:+.2f} | {_stats(e[pixels])} |")
    print()

    names = list(bundle.manifest.label_names)
    vmic = (bundle.manifest.provenance or {}).get("vmicro_response") or {}
    fixed = {"v_micro": float(vmic.get("reference", 2.0))} if "v_micro" in names else None
    held_sets = {path: holdout_on_grid(path, "apogee", grid) for path in HELD}
    print("3. interpolation / emulator by variant (the shipped network throughout)\n")
    print("| lattice | held-out set | teff [K] | nodes | interp. median | p95 | emulator median | p95 | "
          "ratio median, p95 |")
    print("|---|---|---|---|---|---|---|---|---|")
    per_point = {}
    for name, teffs in VARIANTS.items():
        view = with_teff(grid, probe, teffs)
        for path, held in held_sets.items():
            res = holdout_errors(view, bundle.weights, held, pixels, names, fixed, continuum=continuum)
            rows = [(r["teff_lo"], r["teff_hi"], r) for r in res["regions"] if r["teff_lo"] == 10000.0]
            near = (held.labels[:, 0] >= 12500.0) & (held.labels[:, 0] < 15000.0)
            if near.any():
                part = NodeGrid(labels=held.labels[near], wavelength=held.wavelength,
                                flux=held.flux[near], manifest=held.manifest, medium=held.medium)
                r = holdout_errors(view, bundle.weights, part, pixels, names, fixed, continuum=continuum)
                rows.append((12500.0, 15000.0, r))
            for lo, hi, r in rows:
                ri, re_ = r["interpolation"], r["emulator"]
                print(f"| {name} | `{path}` | {lo:.0f}–{hi:.0f} | {ri['n_nodes']} | {ri['median']:.5f} | "
                      f"{ri['p95']:.5f} | {re_['median']:.5f} | {re_['p95']:.5f} | "
                      f"{ri['median'] / re_['median']:.2f}, {ri['p95'] / re_['p95']:.2f} |")
            for n in res["nodes"]:
                if 12500.0 <= n["teff"] < 15000.0:
                    key = (path, n["teff"], n["logg"], n["m_h"])
                    per_point.setdefault(key, {"emulator": (n["emulator_median"], n["emulator_p95"])})
                    per_point[key][name] = (n["interpolation_median"], n["interpolation_p95"])
    print("\nPer held-out node at 12.5–15 kK: interpolation median / p95 by variant, and the emulator's\n")
    print("| set | teff | log g | [M/H] | " + " | ".join(VARIANTS) + " | emulator |")
    print("|---|---|---|---|" + "---|" * (len(VARIANTS) + 1))
    for (path, t, g, m), v in sorted(per_point.items()):
        cells = " | ".join(f"{v[k][0]:.5f} / {v[k][1]:.5f}" if k in v else "—" for k in VARIANTS)
        print(f"| {path.split('/')[-1]} | {t:.0f} | {g:.2f} | {m:+.2f} | {cells} | "
              f"{v['emulator'][0]:.5f} / {v['emulator'][1]:.5f} |")


if __name__ == "__main__":
    main()
