"""``zeta-payne validate``: the paper's simulation study (Tables 2 and 3, Figure 6) on a bundle."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="simulation study: Tables 2 and 3 and Figure 6 for bundles")
    p.add_argument(
        "--bundle",
        action="append",
        default=[],
        help="bundle folder/name/instrument (repeat for several instruments)",
    )
    p.add_argument("--report-only", metavar="DIR", action="append", default=[],
                   help="write the report again from a study's results.csv + studies.json in DIR "
                        "(no fitting; output to -o, default DIR itself); repeat to combine studies "
                        "(e.g. both instruments) in one report")
    p.add_argument("--n", type=int, default=1000, help="test spectra per S/N (Sobol points)")
    p.add_argument("--snr", default="inf,100,50", help="comma-separated S/N values (inf = noiseless)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--generator",
        choices=["grid", "emulator"],
        default="grid",
        help="true spectra from the node grid (default) or the bundle's own network",
    )
    p.add_argument("--grid", default=None,
                   help="node grid folder (default: the bundle's provenance); another grid than the "
                        "bundle's gives a model-mismatch study")
    p.add_argument("--grid-level", type=int, default=None,
                   help="model mismatch: true spectra from the grid's refinement levels 0..K only "
                        "(a coarser node spacing than the bundle was trained on)")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--presearch-points", type=int, default=None)
    p.add_argument("-o", "--output", default=None, help="output folder (default validation)")
    p.add_argument("--title", default=None)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from zeta_payne.bundles.registry import find_bundle, resolve_bundle_path
    from zeta_payne.exceptions import GridError
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.validation.report import write_report
    from zeta_payne.validation.runner import (
        GeneratorSpec,
        provenance_grid,
        run_study,
        test_labels,
        training_overlap,
    )

    if args.report_only:
        from zeta_payne.validation.report import load_studies

        studies, titles = [], []
        for folder in args.report_only:
            found, title = load_studies(folder)
            studies += found
            titles.append(title)
        if len(args.report_only) > 1 and not args.output:
            raise SystemExit("zeta-payne validate: give -o for a report combining several studies")
        title = args.title or " + ".join(dict.fromkeys(titles))
        report = write_report(studies, args.output or args.report_only[0], title=title)
        print(report.read_text())
        return 0
    if not args.bundle:
        raise SystemExit("zeta-payne validate: give --bundle (or --report-only DIR)")
    args.output = args.output or "validation"
    snrs = [None if s.strip().lower() in ("inf", "none") else float(s) for s in args.snr.split(",")]
    studies = []
    for spec in args.bundle:
        path = str(resolve_bundle_path(spec))
        bundle = find_bundle(path)
        grid = args.grid or provenance_grid(bundle)
        if args.generator == "grid":
            if not grid:
                recorded = bundle.manifest.provenance.get("grid_path")
                raise GridError(
                    f"bundle {bundle.name}: its node grid {recorded!r} is not found here; pass --grid"
                    if recorded else f"bundle {bundle.name} names no node grid; pass --grid"
                )
            if not (Path(grid) / "manifest.json").is_file():
                raise GridError(f"--grid {grid}: no node grid there (no manifest.json)")
            grid = str(Path(grid).resolve())
        gen = GeneratorSpec(kind=args.generator, path=grid, instrument=bundle.instrument,
                            max_level=args.grid_level)
        options = Fitter.default_options(bundle).updated(presearch_points=args.presearch_points)
        labels, rv = test_labels(bundle, args.n, args.seed)
        overlap = training_overlap(bundle, labels)
        if overlap and overlap["coincident"]:
            log.warning("%d test points coincide with training points", overlap["coincident"])
        for snr in snrs:

            def progress(done: int, total: int, _inst=bundle.instrument, _snr=snr) -> None:
                if done % max(1, total // 20) == 0 or done == total:
                    print(f"\r{_inst} S/N {_snr or 'inf'}: {done}/{total}", end="", file=sys.stderr)

            st = run_study(
                path,
                bundle.instrument,
                snr,
                labels,
                rv,
                gen,
                options,
                processes=args.processes,
                seed=args.seed,
                progress=progress,
            )
            print(file=sys.stderr)
            if overlap:
                st.meta["training_overlap"] = overlap
            studies.append(st)
            log.info("%s S/N %s: %.0f s", bundle.instrument, snr, st.wall_seconds)
    report = write_report(studies, args.output, title=args.title or _title(args))
    print(report.read_text())
    return 0 if np.isfinite([s.wall_seconds for s in studies]).all() else 1


def _title(args: argparse.Namespace) -> str:
    mismatch = args.grid_level is not None or (args.grid and args.generator == "grid")
    return (f"ZETA-PAYNE simulation study ({args.generator} generator"
            + (", model mismatch" if mismatch else "") + ")")
