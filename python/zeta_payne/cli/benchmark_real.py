"""``zeta-payne benchmark-real``: fit observed library spectra with literature labels."""

from __future__ import annotations

import argparse
import os

__all__ = ["DEFAULT_SAMPLE", "register"]

#: The committed sample (``data/real``), relative to the repository root.
DEFAULT_SAMPLE = os.path.join("data", "real")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark-real",
        help="real-star benchmark: fit library spectra of hot stars, offsets from literature labels",
    )
    p.add_argument("--bundle", default="boss", help="bundle folder or name (default: boss)")
    p.add_argument(
        "--sample", default=DEFAULT_SAMPLE, help="sample folder: stars.csv + .npz (default: data/real)"
    )
    p.add_argument("-o", "--output", default=os.path.join("docs", "validation", "real"))
    p.add_argument(
        "--star", action="append", default=None, metavar="NAME", help="fit only this star (repeat)"
    )
    p.add_argument(
        "--limit", type=int, default=None, help="fit only every k-th star so that about N are fitted"
    )
    p.add_argument(
        "--teff-range",
        nargs=2,
        type=float,
        metavar=("LO", "HI"),
        default=None,
        help="fit only the stars whose reference teff [K] is in [LO, HI) (e.g. 5800 10200 for a bundle "
        "trained on the cool part of the box)",
    )
    p.add_argument("--processes", type=int, default=1, help="worker processes")
    p.add_argument("--worst", type=int, default=6, help="worst cases plotted, in and out of the box")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--report-only", action="store_true", help="no fitting: write the report from OUTPUT/results.csv"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--synthetic",
        metavar="TRUTH",
        default=None,
        help="instead of the real stars: fit one realistic observation of every stored synthesis-truth "
        "point (e.g. data/truth/synth-truth-v1, in and out of the box) and score the out-of-box "
        "detection; written to OUTPUT/synthetic-<instrument>/ (with --report-only: score its "
        "results.csv again, the out-of-box bits recomputed from the stored spectra and models)",
    )
    p.add_argument(
        "--snr", type=float, default=50.0, help="S/N of the --synthetic observations (default: 50)"
    )
    p.add_argument(
        "--noiseless",
        action="store_true",
        help="with --synthetic: observe without noise, weighted at --snr; the fit's χ² is each case's "
        "distance λ from the box in noise units; written to OUTPUT/synthetic-noiseless-<instrument>/ "
        "with detectability.md (which out-of-box cases any detector could flag; flagged or not in "
        "OUTPUT/synthetic-<instrument>/ when that run exists)",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        default=None,
        help="no fitting: two earlier runs' output folders side by side, median offsets per bin of "
        "reference teff on the stars inside both runs' boxes and flagged bad by neither (written to "
        "-o as a markdown file when -o ends in .md, else printed)",
    )
    p.add_argument(
        "--tune-out-of-box",
        nargs="*",
        metavar="GROUP",
        default=None,
        help="no fitting: tune the bundle's out-of-box thresholds on OUTPUT (results.csv + models.npz "
        "of a run of this bundle on --sample), each GROUP (ratios, helium, emission, metal_weak, all; "
        "default: ratios helium emission) on each half, scored on both; writes "
        "OUTPUT/out-of-box-tuning.md with the fit_defaults.out_of_box entry of every variant",
    )
    p.set_defaults(func=_run)


def _run_tuning(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.fitting.outofbox import OutOfBoxThresholds
    from zeta_payne.validation.realstars import load_models, read_results, rediagnose
    from zeta_payne.validation.realstars_tuning import TUNING_GROUPS, format_tuning, tuning_table

    groups = args.tune_out_of_box or ["ratios", "helium", "emission"]
    unknown = set(groups) - set(TUNING_GROUPS)
    if unknown:
        raise SystemExit(f"unknown tuning groups {sorted(unknown)}; known: {sorted(TUNING_GROUPS)}")
    models_path = os.path.join(args.output, "models.npz")
    if not os.path.isfile(models_path):
        raise SystemExit(f"{models_path} not found: run the benchmark with -o {args.output} first")
    bundle = find_bundle(args.bundle)
    rows = read_results(os.path.join(args.output, "results.csv"))
    diags = rediagnose(rows, load_models(models_path), args.sample)
    start = OutOfBoxThresholds.from_changes(bundle.manifest.fit_defaults.get("out_of_box"))
    table = tuning_table(rows, diags, start, groups)
    title = f"Out-of-box thresholds tuned for {bundle.name} {bundle.version} on {args.output}"
    text = format_tuning(table, title)
    path = os.path.join(args.output, "out-of-box-tuning.md")
    with open(path, "w") as fh:
        fh.write(text)
    print(text, end="")
    print(f"→ {path}")
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from zeta_payne.validation.realstars import read_results
    from zeta_payne.validation.realstars_compare import compare_runs, format_comparison

    before, after = args.compare
    table = compare_runs(
        read_results(os.path.join(before, "results.csv")), read_results(os.path.join(after, "results.csv"))
    )
    text = format_comparison(table, before, after)
    if args.output.endswith(".md"):
        with open(args.output, "w") as fh:
            fh.write(text)
        print(f"comparison → {args.output}")
    else:
        print(text, end="")
    return 0


def _select(sample: str, teff_range: list[float] | None, limit: int | None) -> list[str] | None:
    """Names of the stars to fit: those in ``teff_range`` (reference teff), thinned to ``limit``."""
    from zeta_payne.validation.realstars import load_sample

    if teff_range is None and not limit:
        return None
    everyone = load_sample(sample)
    if teff_range is not None:
        lo, hi = teff_range
        everyone = [s for s in everyone if lo <= float(s.reference["teff_ref"]) < hi]
    names = [s.name for s in everyone]
    if limit:
        step = max(1, len(names) // limit)
        names = names[::step][:limit]
    return names


def _run_synthetic(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.environment import describe as describe_environment
    from zeta_payne.environment import describe_machine
    from zeta_payne.validation.realstars_synth import (
        detectability,
        read_synthetic,
        rediagnose,
        reflag_synthetic,
        run_environment,
        run_synthetic,
        scoring_box,
        synthetic_detection,
        write_detectability_report,
        write_synthetic_report,
    )

    bundle = find_bundle(args.bundle)
    kind = "synthetic-noiseless" if args.noiseless else "synthetic"
    out = os.path.join(args.output, f"{kind}-{bundle.instrument}")
    made_by = (
        f"Made by `zeta-payne benchmark-real --bundle {args.bundle} --synthetic {args.synthetic} "
        f"--snr {args.snr:g}{' --noiseless' if args.noiseless else ''} -o {args.output}`."
    )
    note = made_by + (
        " Sets: `zeta_payne.validation.realstars.scored_set` of the "
        "true labels against the bundle's box, its lower log g raised to the bundle's log g floor at "
        "the star's Teff (out: beyond it by more than Teff 2 %, log g 0.25, [M/H] 0.35; edge: within "
        "that of an edge, or a true v sin i within 20 km/s of the box's upper v sin i). Halves: "
        "even/odd rows."
    )
    if args.report_only:
        rows = read_synthetic(out)
        if os.path.isfile(os.path.join(out, "spectra.npz")):  # the current detector on the stored fits
            rows = reflag_synthetic(rows, rediagnose(out, rows))
            note += " Out-of-box bits recomputed by the current detector from the stored spectra and models."
    else:
        rows = run_synthetic(
            bundle, args.synthetic, out, snr=args.snr, limit=args.limit, noiseless=args.noiseless
        )
    box, floor = scoring_box(bundle)
    table = synthetic_detection(rows, box, floor)
    if args.noiseless:
        noisy_dir = os.path.join(args.output, f"synthetic-{bundle.instrument}")
        noisy = None
        if os.path.isfile(os.path.join(noisy_dir, "results.csv")):
            noisy = read_synthetic(noisy_dir)
            synthetic_detection(noisy, box, floor)
        cases, summary = detectability(rows, noisy)
        write_detectability_report(
            os.path.join(out, "detectability.md"),
            cases,
            summary,
            f"Detectability of the out-of-box cases: {bundle.name} {bundle.version}, noiseless "
            f"observations weighted at S/N {args.snr:g}",
            made_by + " λ: the fit's χ² of the noise-free observation.",
        )
    snr = rows[0]["snr"] if rows else args.snr
    title = (
        f"Out-of-box detection on synthesis truth: {bundle.name} {bundle.version}, "
        f"{len(rows)} points of {args.synthetic}, realistic observations at S/N {snr:.0f}"
    )
    note += (f" Fitted with {describe_environment(run_environment(out))} on "
             f"{describe_machine(run_environment(out, 'machine'))}.")
    write_synthetic_report(os.path.join(out, "report.md"), rows, table, title, note)
    print(f"{len(rows)} synthetic spectra → {os.path.join(out, 'report.md')}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.cli.common import pin_threads
    from zeta_payne.validation.realstars import run_benchmark

    if args.compare:
        return _run_compare(args)
    if args.tune_out_of_box is not None:
        return _run_tuning(args)
    pin_threads(1)
    if args.synthetic:
        return _run_synthetic(args)
    names = args.star
    if names is None:
        names = _select(args.sample, args.teff_range, args.limit)
    summary = run_benchmark(
        find_bundle(args.bundle),
        args.sample,
        args.output,
        names=names,
        n_worst=args.worst,
        plots=not args.no_plots,
        device=args.device,
        processes=args.processes,
        report_only=args.report_only,
    )
    rows = summary["rows"]
    n_in = sum(r["in_box"] for r in rows)
    print(f"{len(rows)} stars ({n_in} in the box) → {os.path.join(args.output, 'report.md')}")
    return 0
