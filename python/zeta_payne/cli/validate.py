"""``zeta-payne validate``: the paper's simulation study (Tables 2 and 3, Figure 6) on a bundle."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

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
    p.add_argument(
        "--report-only",
        metavar="DIR",
        action="append",
        default=[],
        help="write the report again from a study's results.csv + studies.json in DIR "
        "(no fitting; output to -o, default DIR itself); repeat to combine studies "
        "(e.g. both instruments) in one report",
    )
    p.add_argument("--n", type=int, default=1000, help="test spectra per S/N (Sobol points)")
    p.add_argument("--snr", default="inf,100,50", help="comma-separated S/N values (inf = noiseless)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--generator",
        choices=["grid", "emulator", "synthesis"],
        default="grid",
        help="true spectra from the node grid (default; the interpolant, an emulator-only view), "
        "the bundle's own network, or stored syntheses at random points (--truth; synthesis truth)",
    )
    p.add_argument(
        "--truth",
        metavar="DIR",
        default=None,
        help="synthesis-truth folder (node-grid format, e.g. data/truth/synth-truth-v1) "
        "for --generator synthesis",
    )
    p.add_argument(
        "--truth-points",
        metavar="FILE",
        default=None,
        help="the truth points file marking each point in/out:<group> (default: "
        "truth-points-<v>.txt beside the truth folder)",
    )
    p.add_argument(
        "--out-of-box",
        action="store_true",
        help="synthesis truth: also fit the points outside the box, reported apart in "
        "OUTPUT/out-of-box/ (result flags and offsets per group)",
    )
    p.add_argument(
        "--observations",
        choices=["ideal", "realistic"],
        default=None,
        help="simulated observations: realistic (SED, reddening, throughput, S/N(λ), "
        "per-pixel LSF, flagged pixels, sky and telluric residuals; default for "
        "synthesis truth) or ideal (the paper's; default otherwise)",
    )
    p.add_argument(
        "--fit-lsf",
        choices=["default", "constant"],
        default="default",
        help="LSF the fitter assumes: its defaults, as in production (default: the "
        "spectrum's per-pixel LSF where the file carries one, i.e. BOSS wresl), or "
        "the bundle's constant R whatever the spectrum carries",
    )
    p.add_argument(
        "--grid",
        default=None,
        help="node grid folder (default: the bundle's provenance); another grid than the "
        "bundle's gives a model-mismatch study",
    )
    p.add_argument(
        "--vmicro-grid",
        action="append",
        default=None,
        metavar="DIR",
        help="grid generator: a v_micro response grid (repeatable), so the truth varies "
        "v_micro as the bundle's label does (default: the bundle's training grids, when it "
        "fits v_micro and --grid is not given; else v_micro is pinned to the grid's value)",
    )
    p.add_argument(
        "--grid-level",
        type=int,
        default=None,
        help="model mismatch: true spectra from the grid's refinement levels 0..K only "
        "(a coarser node spacing than the bundle was trained on)",
    )
    ranges = {
        "--teff-range": "synthesis truth: fit only the in-box truth points with LO <= teff <= HI K (e.g. "
        "6000 10000, where v_micro is fitted: a v_micro calibration study, bundle calibrate --label-study)",
        "--v-sini-range": "synthesis truth: draw the cases' v sin i uniformly in [LO, HI] km/s instead of "
        "over the bundle's whole range (e.g. 0 20 for the slow rotators most F stars are)",
    }
    for flag, text in ranges.items():
        p.add_argument(flag, type=float, nargs=2, metavar=("LO", "HI"), default=None, help=text)
    p.add_argument(
        "--lsf-wings",
        type=float,
        nargs=2,
        metavar=("FRACTION", "WIDTH"),
        default=None,
        help="realistic observations with a non-Gaussian LSF: FRACTION of the light in a "
        "Gaussian WIDTH times wider than the core (the reported wresl stays the core's)",
    )
    p.add_argument(
        "--observation-set",
        action="append",
        default=[],
        type=observation_setting,
        metavar="FIELD=VALUE",
        help="realistic observations: set one field of the observation model (repeatable), "
        "to take one effect out and measure what it costs, e.g. sky=false, telluric=false, "
        "sky_shift_error=0, lsf_scatter=0, calibration_error=0, reject_fraction=0, "
        "bad_columns=0, ebv_range=0,0 (fields: zeta_payne.validation.observe.ObservationModel; "
        "'default' restores the instrument's default of a field that has one)",
    )
    p.add_argument("--processes", type=int, default=2)
    p.add_argument(
        "--batch-size",
        type=int,
        default=16,
        help="cases fitted together by the batched fitter, the path of `fit` and the tasks "
        "(default 16; 1 = each case alone by the per-spectrum fitter, the reference path)",
    )
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
        pin_truth_labels,
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
        observation = _observation(args)
        options = Fitter.default_options(bundle).updated(presearch_points=args.presearch_points)
        if args.fit_lsf == "constant":
            options = options.updated(use_spectrum_lsf=False)
        if args.generator == "synthesis":
            studies += _synthesis_studies(args, path, bundle, snrs, options, observation)
            continue
        if args.generator == "grid":
            if not grid:
                recorded = bundle.manifest.provenance.get("grid_path")
                raise GridError(
                    f"bundle {bundle.name}: its node grid {recorded!r} is not found here; pass --grid"
                    if recorded
                    else f"bundle {bundle.name} names no node grid; pass --grid"
                )
            if not (Path(grid) / "manifest.json").is_file():
                raise GridError(f"--grid {grid}: no node grid there (no manifest.json)")
            grid = str(Path(grid).resolve())
        gen = GeneratorSpec(
            kind=args.generator, path=grid, instrument=bundle.instrument, max_level=args.grid_level
        )
        if args.generator == "grid":
            labels, rv = test_labels(bundle, args.n, args.seed, keep=_interpolable(bundle, grid))
            gen = _grid_generator(args, bundle, gen)
            if not gen.vmicro_grids:
                # the interpolant has the grid's one v_micro
                fixed = json.loads((Path(grid) / "manifest.json").read_text()).get("fixed_labels")
                labels = pin_truth_labels(labels, bundle.manifest.label_names, fixed)
        else:
            labels, rv = test_labels(bundle, args.n, args.seed)
        overlap = training_overlap(bundle, labels)
        if overlap and overlap["coincident"]:
            log.warning("%d test points coincide with training points", overlap["coincident"])
        for snr in snrs:
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
                progress=_progress(bundle.instrument, snr),
                observation=observation,
                batch_size=args.batch_size,
            )
            print(file=sys.stderr)
            if overlap:
                st.meta["training_overlap"] = overlap
            studies.append(st)
            log.info("%s S/N %s: %.0f s", bundle.instrument, snr, st.wall_seconds)
    report = write_report(studies, args.output, title=args.title or _title(args))
    print(report.read_text())
    return 0 if np.isfinite([s.wall_seconds for s in studies]).all() else 1


def _truth_continuum(truth: Path, bundle) -> str | None:
    """The truth set's own jump factors for the bundle's instrument, if made (else None, logged)."""
    from zeta_payne.validation.runner import provenance_continuum_grid, truth_continuum_grid

    cont = truth_continuum_grid(truth)
    if cont is not None:
        instruments = json.loads((cont / "manifest.json").read_text()).get("instruments", {})
        if bundle.instrument in instruments:
            log.info("truth %s: the syntheses carry the continuum jumps of %s", truth.name, cont.name)
            return str(cont)
    if bundle.instrument == "boss":
        trained = provenance_continuum_grid(bundle) is not None or (
            (bundle.manifest.provenance.get("training") or {}).get("continuum_grid"))
        log.warning("truth %s has no continuum jump factors (`zeta-payne grid continuum %s`): its "
                    "spectra lack the Balmer and Paschen jumps%s", truth.name, truth,
                    ", which this bundle models" if trained else "")
    return None


def _interpolable(bundle, grid: str):
    """``keep`` of :func:`~zeta_payne.validation.runner.test_labels`: the points where the node
    grid can interpolate (not in cells that miss a node: holes where no atmosphere exists)."""
    from zeta_payne.grids.nodes import load_node_grid

    nodes = load_node_grid(grid, bundle.instrument)
    names = list(bundle.manifest.label_names)
    axes = [names.index(a) for a in nodes.label_names]
    return lambda labels: nodes.covers(labels[:, axes])


def _grid_generator(args: argparse.Namespace, bundle, gen):
    """The grid generator as the bundle was trained: its stencil and its v_micro response.

    Without the response (a bundle without v_micro, a grid other than its own without
    ``--vmicro-grid``, or response grids not found here) the caller pins v_micro.
    """
    import dataclasses

    from zeta_payne.grids.stencil import parse_points
    from zeta_payne.validation.runner import provenance_vmicro_grids

    training = bundle.manifest.provenance.get("training") or {}
    points = parse_points(training.get("stencil"))
    grids: tuple = ()
    free = {s.name for s in bundle.labels if s.free}
    if "v_micro" in free:
        if args.vmicro_grid:
            grids = tuple(args.vmicro_grid)
        elif args.grid is None:
            found = provenance_vmicro_grids(bundle)
            if found is None:
                log.warning("bundle %s: its v_micro response grids %s are not found here; the "
                            "truth keeps the grid's one v_micro", bundle.name,
                            training.get("vmicro_grids"))
            grids = tuple(str(g.resolve()) for g in found or ())
    continuum = None
    if training.get("continuum_grid") and args.grid is None:
        from zeta_payne.validation.runner import provenance_continuum_grid

        found = provenance_continuum_grid(bundle)
        if found is None:
            log.warning("bundle %s: its continuum grid %s is not found here; the truth lacks the "
                        "jumps the network models", bundle.name, training.get("continuum_grid"))
        continuum = str(found.resolve()) if found else None
    return dataclasses.replace(gen, points=points, vmicro_grids=grids,
                               vmicro_taper=training.get("vmicro_taper") if grids else None,
                               continuum_grid=continuum)


def _progress(instrument: str, snr: float | None):
    def progress(done: int, total: int) -> None:
        if done % max(1, total // 20) == 0 or done == total:
            print(f"\r{instrument} S/N {snr or 'inf'}: {done}/{total}", end="", file=sys.stderr)

    return progress


def _observation(args: argparse.Namespace):
    """The realistic observation model, or None for the idealised observations."""
    kind = args.observations or ("realistic" if args.generator == "synthesis" else "ideal")
    if kind == "ideal":
        if getattr(args, "observation_set", None) or getattr(args, "lsf_wings", None):
            from zeta_payne.exceptions import ZetaPayneError

            raise ZetaPayneError("--observation-set and --lsf-wings change realistic observations only")
        return None
    from zeta_payne.validation.observe import ObservationModel

    settings = dict(getattr(args, "observation_set", None) or [])
    if getattr(args, "lsf_wings", None):
        fraction, width = args.lsf_wings
        settings.update(lsf_wing_fraction=fraction, lsf_wing_width=width)
    return ObservationModel(**settings)


def observation_setting(pair: str) -> tuple[str, Any]:
    """One field of :class:`~zeta_payne.validation.observe.ObservationModel` from a
    ``FIELD=VALUE`` string, converted to the field's type (bool: true/false; a pair:
    ``lo,hi``; ``default``: None, the instrument's default, for the fields that have one).
    The ``type`` of ``--observation-set``.

    Raises
    ------
    argparse.ArgumentTypeError
        An unknown field, a malformed pair or a value of the wrong type (a usage error).
    """
    import dataclasses

    from zeta_payne.validation.observe import ObservationModel

    fields = {f.name: f for f in dataclasses.fields(ObservationModel)}
    name, sep, text = (part.strip() for part in pair.partition("="))
    if not sep or name not in fields:
        raise argparse.ArgumentTypeError(
            f"{pair!r}: expected FIELD=VALUE, FIELD one of {', '.join(sorted(fields))}"
        )
    kind = str(fields[name].type)
    try:
        if text.lower() == "default":
            if "None" not in kind:
                raise ValueError("this field has no instrument default")
            return name, None
        if kind.startswith("bool"):
            if text.lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return name, text.lower() == "true"
        if kind.startswith("tuple"):
            lo, hi = (float(v) for v in text.split(","))
            return name, (lo, hi)
        return name, (int(text) if kind.startswith("int") else float(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{pair!r}: {err}") from None


def _synthesis_studies(args, path, bundle, snrs, options, observation) -> list:
    """Studies on synthesis truth: the in-box points (and, with --out-of-box, the others apart)."""
    import numpy as np

    from zeta_payne.exceptions import GridError
    from zeta_payne.grids.nodes import load_node_grid
    from zeta_payne.validation.report import write_report
    from zeta_payne.validation.runner import (
        GeneratorSpec,
        pin_truth_labels,
        run_study,
        training_overlap,
    )
    from zeta_payne.validation.truth import (
        default_points_file,
        point_kinds,
        read_truth_points,
        synthesis_cases,
    )

    if not args.truth:
        raise SystemExit("zeta-payne validate: --generator synthesis needs --truth DIR")
    truth = Path(args.truth).resolve()
    if not (truth / "manifest.json").is_file():
        raise GridError(f"--truth {truth}: no truth folder there (no manifest.json)")
    grid = load_node_grid(truth, bundle.instrument)
    points_file = args.truth_points or default_points_file(truth)
    points = read_truth_points(points_file) if points_file else None
    names = [s.name for s in bundle.labels]
    box = [
        (bundle.labels[names.index(n)].lower, bundle.labels[names.index(n)].upper)
        for n in ("teff", "logg", "m_h")
    ]
    kinds = np.array(point_kinds(grid.labels, points, box))
    gen = GeneratorSpec(kind="synthesis", path=str(truth), instrument=bundle.instrument,
                        continuum_grid=_truth_continuum(truth, bundle))
    inside = kinds == "in"
    if args.teff_range is not None:
        teff = grid.labels[:, list(grid.label_names).index("teff")]
        inside &= (teff >= args.teff_range[0]) & (teff <= args.teff_range[1])
    subsets = [("in", inside, args.n, args.output)]
    if args.out_of_box:
        out = kinds != "in"
        subsets.append(("out", out, int(out.sum()), str(Path(args.output) / "out-of-box")))
    log.info(
        "%s: %d stored truth spectra (%d in the box)%s",
        truth.name,
        len(kinds),
        (kinds == "in").sum(),
        f", points file {points_file}" if points_file else "",
    )
    studies, extra = [], []
    for subset, select, n, _ in subsets:
        rows = np.flatnonzero(select)
        if rows.size == 0:
            log.warning("no %s-box truth points stored in %s yet", subset, truth)
            continue
        labels, rv, point = synthesis_cases(
            grid.labels[rows], bundle, n, args.seed, v_sini_range=args.v_sini_range
        )
        labels = pin_truth_labels(
            labels, bundle.manifest.label_names, (grid.manifest or {}).get("fixed_labels")
        )
        cases = {"truth_point": rows[point].astype(float), "truth_kind": kinds[rows][point]}
        overlap = training_overlap(bundle, labels)
        for snr in snrs:
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
                progress=_progress(bundle.instrument, snr),
                observation=observation,
                cases=cases,
                batch_size=args.batch_size,
            )
            print(file=sys.stderr)
            st.meta["truth_folder"] = {
                "path": str(truth),
                "points_file": str(points_file or ""),
                "stored": int(len(kinds)),
                "subset": subset,
            }
            st.meta["fit_lsf"] = args.fit_lsf
            if args.teff_range is not None:
                st.meta["truth_folder"]["teff_range"] = list(args.teff_range)
            if overlap:
                st.meta["training_overlap"] = overlap
            (studies if subset == "in" else extra).append(st)
    if extra:
        write_report(
            extra,
            Path(args.output) / "out-of-box",
            title=(args.title or _title(args)) + ": points outside the box",
        )
    if not studies:
        raise GridError(f"{truth}: no stored truth spectrum inside {bundle.name}'s box")
    return studies


def _title(args: argparse.Namespace) -> str:
    from zeta_payne.validation.runner import TRUTH_LABELS

    mismatch = args.grid_level is not None or (args.grid and args.generator == "grid")
    observations = args.observations or ("realistic" if args.generator == "synthesis" else "ideal")
    changed = getattr(args, "observation_set", None) or []
    if changed and observations == "realistic":
        observations += " (" + ", ".join(f"{k}={v}" for k, v in changed) + ")"
    return (
        f"ZETA-PAYNE simulation study ({TRUTH_LABELS[args.generator]}, {observations} observations"
        + (", model mismatch" if mismatch else "")
        + ")"
    )
