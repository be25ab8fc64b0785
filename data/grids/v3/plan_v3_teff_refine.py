"""Write the node list of the v3 lattice's teff refinement (``nodes-v3-level1-teff.txt``).

Measured, not assumed (``measure_teff_interpolant.py`` on the probe nodes of
``nodes-v3-teffprobe.txt``; ``docs/synthesis.md``, "Along teff on level 0's own step"): on
level 0's 1,000-K teff step the interpolation error along teff at 6,500 and 7,500 K is BOSS
p95 0.003–0.011 even with a cubic teff stencil, concentrated blueward of 4,200 Å (the range v3
adds), against a target of about 0.0014 (half the emulator's error). So below 10 kK the teff
axis is halved: slices at 6,500, 7,500, 8,500 and 9,500 K at every level-0 (log g, [M/H]) that
has nodes at both neighbouring teff values. The campaign adds them as a refinement level
(``campaign synthesize --new-level``): interpolation uses the finer level wherever its stencil
is on disk, so a partial refinement is already used where it is complete. The probe's own
nodes are taken over (``--take-from``), not synthesized again.

The slices come in order of measured need (6,500 and 7,500 K first). Run from the repository
root: ``python data/grids/v3/plan_v3_teff_refine.py``.
"""

from __future__ import annotations

from pathlib import Path

SLICES = [(6500.0, 6000.0, 7000.0), (7500.0, 7000.0, 8000.0), (8500.0, 8000.0, 9000.0),
          (9500.0, 9000.0, 10000.0)]


def _nodes(path: Path) -> list[tuple[float, float, float]]:
    rows = [line.split() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    return [(float(t), round(float(g), 4), round(float(m), 4)) for t, g, m in rows]


def _write_nodes(path: Path, note: str, nodes: list[tuple[float, float, float]]) -> None:
    """Write ``nodes`` as the campaign's ``teff logg m_h`` rows under a header naming ``note``."""
    lines = [f"# teff logg m_h  ({note})"] + [f"{t:.1f} {g:.4f} {m:.4f}" for t, g, m in nodes]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    here = Path(__file__).parent
    level0 = _nodes(here / "nodes-v3-level0.txt")
    have = set(level0)
    pairs = sorted({(g, m) for _, g, m in level0})
    nodes, skipped = [], []
    for teff, below, above in SLICES:
        for g, m in pairs:
            if (below, g, m) in have and (above, g, m) in have:
                nodes.append((teff, g, m))
            else:
                skipped.append((teff, g, m))
    path = here / "nodes-v3-level1-teff.txt"
    _write_nodes(path, "data/grids/v3/plan_v3_teff_refine.py; teff refinement level, "
                 "6,500 and 7,500 K first", nodes)
    probe = set(_nodes(here / "nodes-v3-teffprobe.txt"))
    print(f"wrote {path}: {len(nodes)} nodes ({len(probe & set(nodes))} already in the probe); "
          f"{len(skipped)} left out (a neighbouring level-0 node has no atmosphere): {skipped}")


if __name__ == "__main__":
    main()
