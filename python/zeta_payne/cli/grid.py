"""``zeta-payne grid``: the node-grid synthesis campaign and grid inspection."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    from zeta_payne.grids.campaign import add_synthesize_arguments, run_synthesize

    p = sub.add_parser("grid", help="node grids: synthesize (resumable campaign), info")
    cmds = p.add_subparsers(dest="grid_command", metavar="ACTION")
    syn = cmds.add_parser("synthesize", help="compute (or resume) a node grid with the SME backend")
    add_synthesize_arguments(syn)
    syn.set_defaults(func=run_synthesize)
    info = cmds.add_parser("info", help="summarise a node grid")
    info.add_argument("path", help="grid folder")
    info.set_defaults(func=_info)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _info(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from zeta_payne.grids.nodes import load_node_grid

    manifest = json.loads((Path(args.path) / "manifest.json").read_text())
    for instrument in manifest["instruments"]:
        grid = load_node_grid(args.path, instrument)
        lab = grid.labels
        print(
            f"{instrument}: {len(grid)} nodes, {grid.npix} pixels "
            f"{grid.wavelength[0]:.1f}–{grid.wavelength[-1]:.1f} Å; teff {lab[:, 0].min():.0f}–"
            f"{lab[:, 0].max():.0f}, logg {lab[:, 1].min():.2f}–{lab[:, 1].max():.2f}, m_h "
            f"{lab[:, 2].min():.2f}–{lab[:, 2].max():.2f}; {float(grid.seconds.sum()) / 3600:.2f} CPU-hours"
        )
    return 0
