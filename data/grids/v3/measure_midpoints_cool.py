"""The patched lattice below 8 kK at its own midpoints: the teff planes' effect, probe by probe.

The probes (``obaf-sme-v3-midpoints-cool``, ``plan_v3_midpoints_cool.py``) are centres of cells
of the lattice with BOSS's teff planes below 8 kK (campaign steps 15-16). Each is interpolated
by the lattice without the patch (levels 0-6, the training generator's cubic stencils) and with
it, and scored against its synthesis: p95 |Δflux| over all model pixels per probe, and the
pooled median and p95 over the probes whose patch stencil is complete — while the planes are
still being made, a probe whose cubic patch stencil misses a node ("incomplete") is answered
by a smaller stencil of the patch or by the levels, and is listed but not pooled. Before the
take-over the patch is the probe grid's nodes as ``--patch-of 3`` would take them
(``measure_truth_interpolation.py``'s ``+PATCH@OF``); after it, pass ``--with data/grids/obaf-sme-v3:4,4,4``.

    python data/grids/v3/measure_midpoints_cool.py [--without SPEC] [--with SPEC]

Half the emulator's p95 below 8 kK, the target: BOSS 3.4's 0.00259 / 2 at the finished
lattice's midpoints, 3.2.6's 0.00267 / 2 (``docs/validation/v3/release-boss-3.4/out/``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from measure_truth_interpolation import grid_view  # noqa: E402

from zeta_payne.grids.nodes import NodeGrid, load_node_grid  # noqa: E402

PROBES = "data/grids/obaf-sme-v3-midpoints-cool"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--without", default="data/grids/obaf-sme-v3:4,4,4:6")
    ap.add_argument("--with", dest="patched",
                    default="data/grids/obaf-sme-v3:4,4,4+data/grids/obaf-sme-v3-boss-cool@3")
    args = ap.parse_args(argv)
    _, plain = grid_view(args.without, "boss")
    _, patched = grid_view(args.patched, "boss")
    if not patched.patches:
        raise SystemExit(f"{args.patched}: no patch")
    probes = load_node_grid(PROBES, "boss")
    if not np.allclose(probes.wavelength, plain.wavelength, rtol=1e-9):
        raise SystemExit(f"{PROBES} is not on the lattice's pixels")
    alone = NodeGrid(labels=patched.labels, wavelength=patched.wavelength, flux=patched.flux,
                     levels=[patched.patches[-1]], points=patched.points)
    full = alone.stencil_on_disk(probes.labels)
    truth = probes.flux.astype(float)
    d_plain = np.abs(plain.interpolate(probes.labels) - truth)
    d_patched = np.abs(patched.interpolate(probes.labels) - truth)
    print(f"probes {PROBES}: {len(probes)} made; without `{args.without}`, with `{args.patched}`")
    print("| teff [K] | log g | [M/H] | patch stencil | p95 without | p95 with |")
    print("|---|---|---|---|---|---|")
    for i in np.lexsort(probes.labels.T[::-1]):
        t, g, m = probes.labels[i]
        print(f"| {t:g} | {g:.2f} | {m:+.2f} | {'cubic' if full[i] else 'incomplete'} | "
              f"{np.percentile(d_plain[i], 95):.5f} | {np.percentile(d_patched[i], 95):.5f} |")
    for name, sel in (("complete patch stencil", full), ("all probes", np.ones(len(probes), bool))):
        if sel.any():
            print(f"{name} ({int(sel.sum())}): median / p95 |Δflux| without "
                  f"{np.median(d_plain[sel]):.5f} / {np.percentile(d_plain[sel], 95):.5f}, with "
                  f"{np.median(d_patched[sel]):.5f} / {np.percentile(d_patched[sel], 95):.5f}")


if __name__ == "__main__":
    main()
