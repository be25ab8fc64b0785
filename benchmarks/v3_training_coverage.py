"""What the v3 node lists give the training pipeline, before any spectrum exists.

From the plan's node lists (``data/grids/v3/nodes-v3-level0.txt``, ``nodes-v3-vmicro.txt``,
``nodes-v3-vmicro-check.txt``) and the v3 manifest's axes, with placeholder spectra (three
pixels), prints: the largest complete sub-lattice (``zeta-payne train --lattice complete``),
the training labels a ``--lattice nodes`` run drops over the v3 box (``--box grid``), and the
v_micro response lattice, check nodes and knots ``--vmicro-grid`` would use::

    python benchmarks/v3_training_coverage.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zeta_payne.grids.generator import GridGenerator
from zeta_payne.grids.nodes import NodeGrid, complete_lattice
from zeta_payne.grids.vmicro import build_vmicro_response, check_node_errors
from zeta_payne.training.pipeline import LABELS, training_box
from zeta_payne.training.sampling import training_labels

V3 = Path("data/grids/v3")


def _nodes(path: Path) -> np.ndarray:
    rows = [line.split() for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return np.array(rows, dtype=float)


def _grid(labels: np.ndarray, v_micro: float, manifest: dict) -> NodeGrid:
    wave = 5000.0 * np.exp(np.arange(3) / 18000.0)
    return NodeGrid(labels=labels, wavelength=wave, flux=np.ones((len(labels), 3), np.float32),
                    manifest={**manifest, "fixed_labels": {"v_micro": v_micro}, "name": f"vmic{v_micro:g}"},
                    levels=[tuple(np.asarray(manifest["node_axes"][n]) for n in ("teff", "logg", "m_h"))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", default="data/grids/obaf-sme-v3/manifest.json")
    parser.add_argument("--n", type=int, default=1024, help="Sobol training labels to try")
    args = parser.parse_args()
    manifest = json.loads(Path(args.manifest).read_text())
    main_grid = _grid(_nodes(V3 / "nodes-v3-level0.txt"), 2.0, manifest)
    lattice = complete_lattice(main_grid)
    print(f"level 0: {len(main_grid)} nodes; largest complete sub-lattice {len(lattice)} nodes:")
    for name, axis in zip(("teff", "logg", "m_h"), lattice.levels[0], strict=True):
        lost = sorted(set(manifest["node_axes"][name]) - set(axis.tolist()))
        print(f"  {name}: {axis.tolist()}  (lost: {lost})")
    vmicro = _nodes(V3 / "nodes-v3-vmicro.txt")
    grids = [_grid(vmicro, v, manifest) for v in (1.0, 4.0)]
    grids.append(_grid(_nodes(V3 / "nodes-v3-vmicro-check.txt"), 3.0, manifest))
    response = build_vmicro_response(main_grid, grids)
    print(f"v_micro knots {response.values} km/s; response lattice {response.lattice_axes(1.0)}; "
          f"meaningful teff {response.teff_range}, taper {response.taper:g} K")
    print(f"check nodes: {response.check_labels(1.0).tolist()}")
    print("checks:", [(r["kind"], r["v_micro"], r["teff"], r["logg"], r["m_h"])
                      for r in check_node_errors(response)])
    names = (*LABELS, "v_micro")
    box = training_box(main_grid, "grid", v_micro=response.v_micro_range)
    labels = training_labels(names, box, args.n, 0, seed=0)
    gen = GridGenerator(main_grid, names, resolution=6000.0, response=response, missing="nan")
    bad = ~np.all(np.isfinite(gen(labels)), axis=1)
    hot = bad & (labels[:, 0] > 18000) & (labels[:, 1] < 3.5)
    print(f"box {box}: {int(bad.sum())} of {len(labels)} Sobol labels in cells without all their "
          f"nodes ({int(hot.sum())} above 18 kK at log g < 3.5, {int((bad & ~hot).sum())} elsewhere)")


if __name__ == "__main__":
    main()
