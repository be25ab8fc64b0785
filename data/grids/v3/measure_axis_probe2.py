"""Would a finer lattice at 8-10 kK (interpolated-atmosphere nodes) cut the interpolation error?

The first axis probes (``measure_axis_probe.py``) found that at the three 8-10 kK truth
points with the largest BOSS interpolation error, linear interpolation over one ATLAS9 step
(250 K, 0.5 dex) misses the synthesized spectrum by p95 0.0021-0.0025 along teff and
0.0013-0.0016 along log g. The lattice's nodes there are the ATLAS9 models themselves, so a
finer lattice needs nodes whose atmospheres are interpolated between them. The second probe
grid ``data/grids/obaf-sme-v3-axisprobe2`` (``nodes-v3-axisprobe2.txt``, 12 BOSS nodes)
holds, at each point's other labels, the values a + step/2 and a + step/4 above the lower
ATLAS9 neighbour a along teff and along log g. Printed per point and axis, p95 and max
|Δflux| over all model pixels, from 3,900 Å and below 3,900 Å:

* ``step``: linear between a and a + step, at a + step/2, against its synthesis — the error
  of today's lattice step at its worst place;
* ``step/2``: linear between a and a + step/2, at a + step/4, against its synthesis — the
  same for a lattice refined once with interpolated-atmosphere nodes;

and their ratio (4 if the error scales with the step squared).

Usage: ``python data/grids/v3/measure_axis_probe2.py`` (a few seconds).
Made by: ``python -m zeta_payne.grids.campaign synthesize --root data/grids --grid
obaf-sme-v3-axisprobe2 --nodes-file data/grids/v3/nodes-v3-axisprobe2.txt --v-micro 2.0
--instruments boss --chunk-size 2 --processes 1``.
"""

from __future__ import annotations

import numpy as np

from zeta_payne.grids.nodes import load_node_grid

#: (teff, logg, m_h) of each point, the lower ATLAS9 neighbour along teff and along log g
POINTS = (
    ((8311.2, 3.2549, -0.6013), 8250.0, 3.0),
    ((8624.8, 3.7601, -0.0015), 8500.0, 3.5),
    ((8845.8, 4.2341, -0.1127), 8750.0, 4.0),
)
STEPS = {"teff": 250.0, "logg": 0.5}


def _on(point: tuple, axis: int, value: float) -> tuple:
    """``point`` with its ``axis``-th label set to ``value``."""
    return tuple(value if k == axis else v for k, v in enumerate(point))


def main() -> None:
    probe = load_node_grid("data/grids/obaf-sme-v3-axisprobe", "boss")
    probe2 = load_node_grid("data/grids/obaf-sme-v3-axisprobe2", "boss")
    if not np.allclose(probe.wavelength, probe2.wavelength):
        raise SystemExit("the two probe grids differ in wavelength")
    labels = np.vstack([probe.labels, probe2.labels])
    flux = np.vstack([probe.flux, probe2.flux]).astype(float)
    lam = probe.wavelength
    ranges = {"all": lam >= 0, ">=3900": lam >= 3900, "<3900": lam < 3900}

    def spectrum(target) -> np.ndarray:
        d = np.abs(labels - np.asarray(target)).max(axis=1)
        j = int(np.argmin(d))
        if d[j] > 1e-3:
            raise SystemExit(f"no probe node at {target}")
        return flux[j]

    def p95(d: np.ndarray, m: np.ndarray) -> float:
        return float(np.percentile(np.abs(d[m]), 95))

    print("p95 / max |Δflux| over", ", ".join(ranges), "; ratio step / step/2 of the p95")
    for point, teff_lo, logg_lo in POINTS:
        print(f"point teff {point[0]} logg {point[1]} [M/H] {point[2]}")
        for axis, (name, lo) in enumerate(zip(STEPS, (teff_lo, logg_lo), strict=True)):
            h = STEPS[name]
            errors = {}
            for label, span in (("step", h), ("step/2", h / 2)):
                mid = 0.5 * (spectrum(_on(point, axis, lo)) + spectrum(_on(point, axis, lo + span)))
                errors[label] = mid - spectrum(_on(point, axis, lo + span / 2))
            for label, d in errors.items():
                cells = "  ".join(
                    f"{k} {p95(d, m):.5f} / {np.abs(d[m]).max():.4f}" for k, m in ranges.items()
                )
                print(f"  {name:4s} {label:6s} {cells}")
            ratio = "  ".join(
                f"{k} {p95(errors['step'], m) / p95(errors['step/2'], m):.2f}" for k, m in ranges.items()
            )
            print(f"  {name:4s} ratio  {ratio}")


if __name__ == "__main__":
    main()
