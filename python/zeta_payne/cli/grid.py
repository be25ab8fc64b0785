"""``zeta-payne grid``: the node-grid synthesis campaign and grid inspection."""

from __future__ import annotations

import argparse

from zeta_payne.cli.parser import add_command

__all__ = ["add_synthesize_arguments", "campaign_parser", "register"]


def add_synthesize_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``grid synthesize`` (and ``python -m zeta_payne.grids.campaign synthesize``)."""
    from pathlib import Path

    # zeta_payne.grids.campaign's DEFAULT_ROOT and DEFAULT_LINELIST, without importing it
    # (and scipy) whenever the command line is parsed
    DEFAULT_ROOT, DEFAULT_LINELIST = Path("data/grids"), Path("data/linelists/obaf_merged.csv.gz")  # noqa: N806

    parser.add_argument("--grid", required=True, help="grid name (folder under --root)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder holding node grids ")
    parser.add_argument("--linelist", type=Path, default=DEFAULT_LINELIST, help="merged line list ")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--chunk-size", type=int, default=10, help="nodes per chunk file")
    parser.add_argument(
        "--limit", type=int, default=None, help="synthesize at most this many new nodes, then stop"
    )
    parser.add_argument(
        "--max-level", type=int, default=None, help="stop after this refinement level (0 = coarsest)"
    )
    parser.add_argument(
        "--nodes-file",
        type=Path,
        default=None,
        help="text file of 'teff logg m_h' rows to synthesize instead of the default lattice",
    )
    parser.add_argument(
        "--new-level",
        action="store_true",
        help="with --nodes-file: the file refines the grid's lattice; its axis values are added "
        "to the last level's as a new, finer refinement level of the manifest (interpolation "
        "uses it where its stencil is on disk)",
    )
    parser.add_argument(
        "--patch-of",
        type=int,
        default=None,
        metavar="LEVEL",
        help="with --nodes-file: the file refines level LEVEL over its nodes' box, for this "
        "run's --instruments only (a patch, tried before the levels there; see "
        "zeta_payne.grids.patch); refused where it would hide nodes of a finer level",
    )
    parser.add_argument(
        "--take-from",
        type=Path,
        action="append",
        default=[],
        metavar="GRID_DIR",
        help="before synthesizing, copy the chunks of another grid made with the same settings "
        "(a probe of some planned nodes) whose nodes are all planned and not on disk (repeatable)",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny wavelength ranges (Hβ 4840-4885, Br11 16795-16825 Å vac), for tests",
    )
    parser.add_argument(
        "--model-range",
        nargs=3,
        action="append",
        metavar=("INSTRUMENT", "MIN", "MAX"),
        help="restrict an instrument's model grid to MIN-MAX Å (vacuum), e.g. a "
        "preliminary grid over part of the optical",
    )
    parser.add_argument(
        "--model-resolution",
        nargs=2,
        action="append",
        metavar=("INSTRUMENT", "R"),
        help="store an instrument's spectra at resolving power R (3 pixels per "
        "FWHM) instead of the default (boss 6000, apogee 60000), e.g. a "
        "truth set far above the instruments' resolution",
    )
    parser.add_argument(
        "--instruments", nargs="+", default=None, help="instruments to synthesize (default: all)"
    )
    parser.add_argument("--segment-length", type=float, default=300.0, help="SME segment length [Å]")
    parser.add_argument(
        "--segments-per-call", type=int, default=6, help="SME segments synthesized per SME call"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="atmosphere cache (default ~/.cache/zeta-payne)"
    )
    parser.add_argument(
        "--v-micro", type=float, default=2.0,
        help="microturbulence of the syntheses [km/s] (default 2.0, the shipped grids' value)",
    )
    return parser


def campaign_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m zeta_payne.grids.campaign synthesize ...``."""
    from zeta_payne.cli.parser import CliParser

    parser = CliParser(prog="python -m zeta_payne.grids.campaign")
    sub = parser.add_subparsers(dest="command", required=True)
    add_synthesize_arguments(sub.add_parser("synthesize", help="synthesize node spectra"))
    return parser


def _synthesize(args: argparse.Namespace) -> int:
    from zeta_payne.grids.campaign import run_synthesize

    return run_synthesize(args)


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "grid",
        "node grids: synthesize (resumable campaign), info, import, concat, continuum, retire,"
        " vmicro-check, next-start",
        example="zeta-payne grid synthesize --grid my-grid --instruments apogee --max-level 1 --processes 2\n"
        "zeta-payne grid info data/grids/my-grid",
    )
    cmds = p.add_subparsers(dest="grid_command", metavar="ACTION")
    syn = add_command(
        cmds,
        "synthesize",
        "compute (or resume) a node grid with the SME backend",
        example="zeta-payne grid synthesize --grid my-grid --instruments apogee --max-level 1 --processes 2",
    )
    add_synthesize_arguments(syn)
    syn.set_defaults(func=_synthesize)
    info = cmds.add_parser("info", help="summarise a node grid")
    info.add_argument("path", help="grid folder")
    info.set_defaults(func=_info)
    cat = cmds.add_parser(
        "concat",
        help="join two grids over adjacent wavelength ranges (extend a grid without resynthesizing it)",
    )
    cat.add_argument("blue", help="grid folder covering the shorter wavelengths")
    cat.add_argument("red", help="grid folder starting at the pixel after the blue grid's last")
    cat.add_argument("--out", required=True, help="new grid folder")
    cat.add_argument("--instrument", default="boss")
    cat.add_argument("--chunk-size", type=int, default=10, help="nodes per chunk file")
    cat.set_defaults(func=_concat)
    imp = cmds.add_parser(
        "import", help="write a user-brought grid (GSSP output, the authors' NPZ) as a node grid"
    )
    source = imp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--gssp", metavar="TABLE", help="GSSP parameter table (a 'file' column + one column per label)"
    )
    source.add_argument("--authors-npz", metavar="FILE", help="the authors' assembled grid NPZ")
    imp.add_argument("--out", required=True, help="new grid folder")
    imp.add_argument(
        "--instrument",
        required=True,
        choices=["boss", "apogee"],
        help="model wavelength grid to put the spectra on",
    )
    imp.add_argument(
        "--labels",
        default=None,
        help="comma-separated label names of the source columns (default: the table "
        "header; the authors' order teff,logg,v_sini,v_micro,m_h for the NPZ)",
    )
    imp.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="LABEL=VALUE",
        help="keep the spectra with this value of a label not on the node lattice "
        "(repeat), e.g. --select v_sini=0 --select v_micro=2",
    )
    imp.add_argument(
        "--medium",
        choices=["air", "vacuum"],
        default="air",
        help="medium of the source wavelengths (GSSP and the authors' grids: air)",
    )
    imp.add_argument(
        "--source-resolution",
        type=float,
        default=None,
        help="resolving power of the source spectra (default: unbroadened synthesis)",
    )
    imp.add_argument(
        "--allow-pickle",
        action="store_true",
        help="read the NPZ's pickled 'grid' dict (only for files you trust)",
    )
    imp.set_defaults(func=_import)
    vmic = cmds.add_parser(
        "vmicro-check",
        help="measure how well the v_micro response interpolates, at the nodes it does not use",
    )
    vmic.add_argument("path", help="the main grid folder (the reference v_micro)")
    vmic.add_argument("--vmicro-grid", action="append", required=True, metavar="DIR",
                      help="v_micro response grid (repeatable)")
    vmic.add_argument("--instrument", action="append", default=None, choices=["boss", "apogee"],
                      help="instrument (repeatable; default every instrument of the main grid)")
    vmic.add_argument("--wavelength-range", type=float, nargs=2, default=None, metavar=("MIN", "MAX"),
                      help="measure over these model wavelengths [Å, vacuum] only")
    vmic.add_argument("--json", action="store_true", help="print the rows as JSON")
    vmic.set_defaults(func=_vmicro_check)
    cont = cmds.add_parser(
        "continuum",
        help="the continuum jump factor (Balmer and Paschen jumps) of every node of a grid, as a "
        "node grid of its own (resumable)",
    )
    cont.add_argument("path", help="the source grid folder")
    cont.add_argument("-o", "--out", default=None, help="output grid folder (default: <path>-continuum)")
    cont.add_argument("--instrument", default="boss", help="model grid J is put on (default: boss)")
    cont.add_argument("--processes", type=int, default=1)
    cont.add_argument("--chunk-size", type=int, default=16, help="nodes per chunk file")
    cont.add_argument(
        "--linelist",
        default="data/linelists/obaf_merged.csv.gz",
        help="line list (one hydrogen line is used)",
    )
    cont.set_defaults(func=_continuum)
    ret = add_command(
        cmds,
        "retire",
        "remove the nodes a changed synthesis must make again (e.g. [M/H] > +0.5 after the "
        "supersolar atmospheres changed) and record it in the manifest; the campaign then makes them",
        example="zeta-payne grid retire data/grids/obaf-sme-v3 --above m_h=0.5",
    )
    ret.add_argument("path", help="grid folder")
    ret.add_argument("--above", required=True, metavar="LABEL=VALUE",
                     help="remove the nodes with LABEL > VALUE (teff, logg or m_h)")
    ret.add_argument("--reason", default="supersolar atmospheres: atmosnet [M/H] change at fixed "
                     "log tau_Ross instead of fixed column mass (docs/synthesis.md)")
    ret.add_argument("--force", action="store_true",
                     help="remove them even from a grid whose manifest already records the "
                     "atmospheres the campaign makes now (by default such a grid is left alone: "
                     "its nodes above the bound were made again with them)")
    ret.set_defaults(func=_retire)
    start = cmds.add_parser(
        "next-start", help="print the wavelength an extension of a grid must start at [Å, vacuum]"
    )
    start.add_argument("path", help="grid folder")
    start.add_argument("--instrument", default="boss")
    start.set_defaults(func=lambda args: print(repr(_next_start(args))) or 0)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _continuum(args: argparse.Namespace) -> int:
    from zeta_payne.grids.continuum_campaign import run_continuum

    res = run_continuum(
        args.path,
        args.out,
        instrument=args.instrument,
        processes=args.processes,
        chunk_size=args.chunk_size,
        linelist=args.linelist,
    )
    print(
        f"{res['done']} nodes on disk ({res['computed']} computed now, "
        f"{res['cpu_seconds'] / 3600:.2f} CPU-h; {len(res['failed'])} failed)"
    )
    for labels, err in res["failed"]:
        print(f"  failed {labels}: {err}")
    return 1 if res["failed"] else 0


def _retire(args: argparse.Namespace) -> int:
    from zeta_payne.grids.campaign import ATMOSPHERES
    from zeta_payne.grids.retire import records_atmospheres, removed_summary, retire_nodes

    label, _, value = args.above.partition("=")
    if records_atmospheres(args.path, ATMOSPHERES) and not args.force:
        print(f"{args.path}: already made with the atmospheres the campaign makes now; "
              "nothing retired (--force to retire anyway)")
        return 0
    removed = retire_nodes(args.path, label.strip(), float(value), atmospheres=ATMOSPHERES,
                           reason=args.reason, force=args.force)
    print(f"{args.path}: removed {removed_summary(removed)} nodes with {label.strip()} > {value}; "
          "the manifest records the atmospheres the campaign makes now")
    return 0


def _next_start(args: argparse.Namespace) -> float:
    from zeta_payne.grids.concat import next_wave_start

    return next_wave_start(args.path, args.instrument)


def _import(args: argparse.Namespace) -> int:
    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.convert import write_imported_grid
    from zeta_payne.grids.importers import read_authors_npz, read_gssp_grid

    names = [n.strip() for n in args.labels.split(",")] if args.labels else None
    if args.gssp:
        grid = read_gssp_grid(args.gssp, names, medium=args.medium)
    else:
        grid = read_authors_npz(args.authors_npz, names, allow_pickle=args.allow_pickle, medium=args.medium)
    select = {}
    for item in args.select:
        name, sep, value = item.partition("=")
        if not sep:
            raise GridError(f"--select {item!r}: expected LABEL=VALUE")
        select[name.strip()] = float(value)
    info = write_imported_grid(grid, args.out, args.instrument, select, args.source_resolution)
    lo, hi = info["wave_range"]
    print(
        f"{args.out}: {info['nodes']} nodes ({info['dropped']} source spectra not selected), "
        f"{info['npix']} pixels {lo:.1f}-{hi:.1f} Å (vacuum)"
    )
    return 0


def _concat(args: argparse.Namespace) -> int:
    from zeta_payne.grids.concat import concatenate_grids

    info = concatenate_grids(args.blue, args.red, args.out, args.instrument, args.chunk_size)
    print(
        f"{args.out}: {info['nodes']} nodes, {info['npix']} pixels; left out "
        f"{len(info['only_blue'])} nodes only in {args.blue}, {len(info['only_red'])} only in {args.red}"
    )
    return 0


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
        if len(grid.levels) > 1:
            for line in _level_lines(grid):
                print("  " + line)
        for line in _patch_lines(grid, manifest.get("patches", []), instrument):
            print("  " + line)
    return 0


def _patch_lines(grid, patches: list[dict], instrument: str) -> list[str]:
    """Per patch of ``instrument``: the level it refines, its box, its axis values beyond the
    level's, and its nodes on disk (all / off the level's lattice)."""
    import numpy as np

    lines = []
    for p in patches:
        if instrument not in p["instruments"]:
            continue
        names = ("teff", "logg", "m_h")
        axes = [np.asarray(p[n], float) for n in names]
        level = grid.levels[p["of_level"]]
        on = np.all([np.isin(grid.labels[:, d], axes[d]) for d in range(3)], axis=0)
        new = on & ~np.all([np.isin(grid.labels[:, d], level[d]) for d in range(3)], axis=0)
        added = "; ".join(f"{n} +{', '.join(f'{v:g}' for v in np.setdiff1d(a, b))}"
                          for n, a, b in zip(names, axes, level, strict=True)
                          if np.setdiff1d(a, b).size)
        box = ", ".join(f"{n} {a[0]:g}–{a[-1]:g}" for n, a in zip(names, axes, strict=True))
        lines.append(f"patch of level {p['of_level']} ({added}; box {box}): "
                     f"{int(on.sum())} nodes on disk, {int(new.sum())} of them new")
    return lines


def _level_lines(grid) -> list[str]:
    """Per refinement level: its axis values beyond the level before, and nodes on disk."""
    import numpy as np

    lines, previous = [], None
    names = ("teff", "logg", "m_h")
    for k, axes in enumerate(grid.levels):
        on = np.all([np.isin(grid.labels[:, d], axes[d]) for d in range(3)], axis=0)
        if previous is None:
            what = " × ".join(f"{n} {a.size}" for n, a in zip(names, axes, strict=True))
            new = on
        else:
            added = [f"{n} +{', '.join(f'{v:g}' for v in np.setdiff1d(a, b))}"
                     for n, a, b in zip(names, axes, previous, strict=True) if a.size > b.size]
            what = "; ".join(added) or "no new axis values"
            new = on & ~np.all([np.isin(grid.labels[:, d], previous[d]) for d in range(3)], axis=0)
        lines.append(f"level {k} ({what}): {int(new.sum())} nodes on disk")
        previous = axes
    return lines


def _vmicro_check(args: argparse.Namespace) -> int:
    """Print the response interpolation errors at the check nodes (the v3 report's figure)."""
    import json
    from pathlib import Path

    import numpy as np

    from zeta_payne.grids.nodes import load_node_grid
    from zeta_payne.grids.vmicro import check_node_errors, load_vmicro_response, summarize_check_errors

    manifest = json.loads((Path(args.path) / "manifest.json").read_text())
    out = {}
    for instrument in args.instrument or list(manifest["instruments"]):
        main = load_node_grid(args.path, instrument)
        response = load_vmicro_response(main, args.vmicro_grid, instrument)
        pixels = None
        if args.wavelength_range:
            lo, hi = args.wavelength_range
            pixels = slice(int(np.searchsorted(main.wavelength, lo)),
                           int(np.searchsorted(main.wavelength, hi, side="right")))
        rows = check_node_errors(response, pixels)
        out[instrument] = {"teff_range": list(response.teff_range), "rows": rows,
                           "summary": summarize_check_errors(rows)}
        if args.json:
            continue
        print(f"{instrument}: v_micro {', '.join(f'{v:g}' for v in response.values)} km/s; response "
              f"lattice teff {response.teff_range[0]:.0f}-{response.teff_range[1]:.0f} K")
        print("check    v_micro  teff   logg   [M/H]  median   p95      max      max resp  max/resp")
        for r in rows:
            print(f"{r['kind']:8s} {r['v_micro']:7g} {r['teff']:6.0f} {r['logg']:5.2f} {r['m_h']:+6.2f} "
                  f"{r['median']:.5f}  {r['p95']:.5f}  {r['max']:.5f}  {r['response_max']:.5f}  "
                  f"{r['relative_max']:.2f}")
    if args.json:
        print(json.dumps(out, indent=1))
    return 0
