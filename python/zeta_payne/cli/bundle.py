"""``zeta-payne bundle``: import the authors' networks, verify and list bundles."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "bundle", help="model bundles: list, verify, calibrate, holdout, defaults, import-legacy, make-toy")
    cmds = parser.add_subparsers(dest="bundle_command", metavar="ACTION")
    imp = cmds.add_parser("import-legacy", help="convert an authors' network NPZ into a bundle")
    imp.add_argument("npz", help="the authors' network file (w_array_*, b_array_*, x_min, x_max, wave)")
    imp.add_argument("--instrument", required=True, choices=["boss", "apogee"])
    imp.add_argument("--out", required=True, help="bundle folder to write")
    imp.add_argument("--name", default=None)
    imp.add_argument("--version", default="1.0.0")
    imp.add_argument("--labels", default=None, help="comma-separated canonical label names of the inputs")
    imp.set_defaults(func=_import)
    ver = cmds.add_parser("verify", help="check a bundle's schema and hashes")
    ver.add_argument("bundle", help="folder, name, or instrument")
    ver.set_defaults(func=_verify)
    toy = cmds.add_parser("make-toy", help="write a synthetic (not physics) bundle for tests and benchmarks")
    toy.add_argument("--instrument", required=True, choices=["boss", "apogee"])
    toy.add_argument("--out", required=True)
    toy.add_argument("--hidden", type=int, default=300)
    toy.add_argument("--pixels", type=int, default=None, help="model pixels (default: R_model sampling)")
    toy.add_argument("--seed", type=int, default=1)
    toy.set_defaults(func=_toy)
    cal = cmds.add_parser(
        "calibrate",
        help="measure the error calibration on a synthesis-truth study and store it with the bundle",
        description=(
            "Fit per-label error models e = sqrt((a*cov_e)^2 + floor^2) (teff: floor relative to "
            "teff; with --box-bound at most the RMS distance to a truth anywhere in the bundle's "
            "box), so that "
            "robust pull widths (fit - truth)/e are 1 at every S/N of the studies; "
            "report the widths (raw, covariance, calibrated in sample and two-fold cross-validated "
            "by truth point) and write the bundle as a new version with error_calibration.json."
        ),
        epilog=(
            "example: zeta-payne validate --bundle boss --generator synthesis --truth "
            "data/truth/synth-truth-v1 --snr 10,20,50,100,200 --n 300 -o cal/boss; "
            "zeta-payne bundle calibrate boss --study cal/boss --in-place -o docs/validation/calibration/boss"
        ),
    )
    cal.add_argument("bundle", help="folder, name, or instrument")
    cal.add_argument(
        "--study",
        action="append",
        required=True,
        metavar="DIR",
        help="a validate output folder (results.csv + studies.json) of this bundle; repeat to combine",
    )
    cal.add_argument(
        "--snr-range", default="10,200", help="S/N range the models are fitted on (default 10,200)"
    )
    where = cal.add_mutually_exclusive_group()
    where.add_argument(
        "--in-place", action="store_true", help="replace the bundle's folder with the new version"
    )
    where.add_argument("--bundle-out", default=None, metavar="DIR", help="write the calibrated bundle here")
    where.add_argument(
        "--check",
        action="store_true",
        help="check the bundle's stored calibration on new studies of its network: report the widths "
        "of the errors it gives them (recomputed from the fits' covariance errors; the 'reported' "
        "column); no models written",
    )
    cal.add_argument(
        "--regions",
        default=None,
        metavar="LABEL:EDGES",
        help="also fit one error model per region of a fitted label, e.g. 'teff:10000,15000' "
        "(regions with too few cases keep the global model)",
    )
    cal.add_argument(
        "--box-bound",
        action="store_true",
        help="bound each label's error by the RMS distance from the fitted value to a truth uniform "
        "over the bundle's box, fitted with the models and stored with them: for bundles with labels "
        "the spectrum barely constrains (APOGEE's [M/H] of hot stars: 27 -> 29 of 30 cells within "
        "0.8-1.25 on an independent seed; BOSS, where every label is constrained: 29 -> 26)",
    )
    cal.add_argument(
        "--check-study",
        action="append",
        default=[],
        metavar="DIR",
        help="an independent study (another seed) of this bundle's network: report the widths the new "
        "calibration gives on it (its errors recomputed from the fits' covariance errors); repeatable",
    )
    cal.add_argument(
        "--label-study",
        action="append",
        default=[],
        metavar="LABEL:DIR",
        help="a study whose cases enter LABEL's error model only (repeatable): for a label fitted in "
        "part of the box, e.g. 'v_micro:DIR' with a study of 6-10 kK truth points "
        "(validate --teff-range 6000 10000)",
    )
    cal.add_argument(
        "--check-label-study",
        action="append",
        default=[],
        metavar="LABEL:DIR",
        help="an independent study whose cases enter LABEL's check widths only (repeatable): more "
        "fits for a label fitted in part of the box, whose check cells are small on whole-box "
        "seeds (docs/validation/diagnosis/check-power/)",
    )
    cal.add_argument("--version", default=None, help="version of the calibrated bundle (default: next patch)")
    cal.add_argument(
        "-o", "--output", default=None, metavar="DIR", help="write report.md and widths.csv here"
    )
    cal.set_defaults(func=_calibrate)
    hold = cmds.add_parser(
        "holdout",
        help="score a trained bundle against held-out syntheses made after it was trained",
        description=(
            "Node interpolation (the bundle's training generator) and emulator error at the nodes of "
            "held-out synthesis sets, per teff region: the accuracy report's held-out sections, for "
            "sets synthesized after training (the training grid, lattice and stencil come from the "
            "bundle's provenance). Printed; with --in-place or --bundle-out written into the bundle's "
            "emulator_accuracy.md as a new version."
        ),
        epilog=(
            "example: zeta-payne bundle holdout scratch/bundles-v3/zeta-payne-boss "
            "--holdout-grid data/truth/synth-truth-v3 "
            "--holdout-grid data/grids/obaf-sme-v3-midpoints --in-place"
        ),
    )
    hold.add_argument("bundle", help="folder, name, or instrument")
    hold.add_argument("--holdout-grid", action="append", required=True, metavar="DIR",
                      help="node grid of held-out syntheses (repeatable)")
    hold.add_argument("--grid", default=None, metavar="DIR",
                      help="the training grid, if not where the bundle's provenance says")
    hold.add_argument("-o", "--output", default=None, metavar="FILE",
                      help="write the sections here (markdown)")
    hwhere = hold.add_mutually_exclusive_group()
    hwhere.add_argument("--in-place", action="store_true",
                        help="replace the bundle's folder with a new version whose report has these sections")
    hwhere.add_argument("--bundle-out", default=None, metavar="DIR", help="write the new version here")
    hold.add_argument("--version", default=None, help="version of the new bundle (default: next patch)")
    hold.set_defaults(func=_holdout)
    dfl = cmds.add_parser(
        "defaults",
        help="change a bundle's fit defaults (a new version; drops a calibration made with the old ones)",
        description=(
            "Write the bundle as a new version whose fit_defaults have KEY set to a JSON VALUE "
            "(or removed with --unset). The change and its reason are recorded in the provenance; "
            "an error calibration measured with the old defaults is dropped (calibrate again), "
            "unless only options that change flags alone change (edge_chi2_min, "
            "refit_shift_max: fitting.options.FLAG_ONLY_OPTIONS)."
        ),
        epilog=(
            "example: zeta-payne bundle defaults data/bundles/zeta-payne-boss "
            "--set response_segments='[8208.0]' --reason 'the Paschen jump' --in-place"
        ),
    )
    dfl.add_argument("bundle", help="folder, name, or instrument")
    dfl.add_argument("--set", action="append", default=[], metavar="KEY=JSON", help="repeatable")
    dfl.add_argument("--unset", action="append", default=[], metavar="KEY", help="repeatable")
    dfl.add_argument(
        "--from", dest="from_bundle", default=None, metavar="BUNDLE",
        help="take over the fit rules another bundle of the instrument was given after its "
        "training (every key of its recorded fit_defaults_changes, at its value there): a newly "
        "trained network gets the shipped bundle's rules; --set/--unset apply after it",
    )
    dfl.add_argument("--reason", default=None,
                     help="why (stored in the provenance; required unless --from)")
    dwhere = dfl.add_mutually_exclusive_group(required=True)
    dwhere.add_argument("--in-place", action="store_true", help="replace the bundle's folder")
    dwhere.add_argument("--bundle-out", default=None, metavar="DIR", help="write the new version here")
    dfl.add_argument("--version", default=None, help="version of the new bundle (default: next patch)")
    dfl.set_defaults(func=_defaults)
    lst = cmds.add_parser("list", help="list the bundles found")
    lst.set_defaults(func=_list)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _import(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.legacy import import_legacy

    labels = args.labels.split(",") if args.labels else None
    bundle = import_legacy(
        args.npz, args.out, args.instrument, name=args.name, version=args.version, label_names=labels
    )
    print(json.dumps(bundle.describe(), indent=2))
    return 0


def _toy(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.toy import make_toy_bundle

    bundle = make_toy_bundle(
        args.out, args.instrument, n_pixels=args.pixels, n_hidden=args.hidden, seed=args.seed
    )
    print(json.dumps(bundle.describe(), indent=2))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    import shlex
    import sys
    from pathlib import Path

    import numpy as np

    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.calibration import write_calibrated_bundle
    from zeta_payne.bundles.registry import resolve_bundle_path
    from zeta_payne.exceptions import ZetaPayneError
    from zeta_payne.validation.calibrate import calibrate
    from zeta_payne.validation.calibration_report import write_calibration_report
    from zeta_payne.validation.report import load_studies

    try:
        lo, hi = (float(x) for x in args.snr_range.split(","))
    except ValueError:
        raise ZetaPayneError(f"--snr-range takes two numbers 'LO,HI', not {args.snr_range!r}") from None
    bundle = load_bundle(resolve_bundle_path(args.bundle))
    studies = []
    for folder in args.study:
        loaded, _ = load_studies(folder)
        studies += [st for st in loaded if st.instrument == bundle.instrument]
    if not studies:
        raise ZetaPayneError(f"no {bundle.instrument} study in {', '.join(args.study)}")
    truths = {st.meta.get("truth", "?") for st in studies}
    if truths != {"synthesis truth"}:
        print(f"warning: the studies' truth is {sorted(truths)}, not synthesis truth", file=sys.stderr)
    free = [s.name for s in bundle.labels if s.free]
    first = studies[0].meta
    provenance = {
        "truth": sorted(truths),
        "observations": first.get("observation", {}).get("kind", "?"),
        "snr": sorted({st.snr for st in studies}),
        "studies": [str(Path(f)) for f in args.study],
        "bundle_calibrated": f"{bundle.name}@{bundle.version}",
        "command": "zeta-payne " + shlex.join(sys.argv[1:]),
    }
    regions = _parse_regions(args.regions, free)
    label_studies = _label_studies(args.label_study, bundle, free + ["v_rad"])
    if label_studies:
        provenance["label_studies"] = list(args.label_study)
    bounds = ({s.name: (float(s.lower), float(s.upper)) for s in bundle.labels if s.free}
              if args.box_bound else {})
    if bounds:
        provenance["bounds"] = "box_rms of the bundle's box: " + ", ".join(
            f"{name} [{lo:g}, {hi:g}]" for name, (lo, hi) in bounds.items())
    if args.check_study:
        provenance["check_studies"] = [str(Path(f)) for f in args.check_study]
    if args.check_label_study and (args.check or not args.check_study):
        raise ZetaPayneError("--check-label-study goes with --check-study (with --check, give the "
                             "label's studies as --label-study)")
    if args.check_label_study:
        provenance["check_label_studies"] = list(args.check_label_study)
    if regions:
        provenance["regions"] = f"{regions[0]}:{','.join(f'{e:g}' for e in regions[1])}"
    if args.check:
        if bundle.error_calibration is None:
            raise ZetaPayneError(f"{bundle.name}@{bundle.version} has no error calibration to check")
        studies = _same_network(bundle, studies, "--check", bundle.error_calibration)
    if args.check and label_studies:
        label_studies = {
            name: _same_network(bundle, more, "--label-study", bundle.error_calibration)
            for name, more in label_studies.items()
        }
    report = calibrate(
        studies, free + ["v_rad"], (lo, hi), provenance, strict=not args.check, regions=regions,
        bounds=bounds, label_studies=label_studies,
    )
    independent = None
    if args.check_study and not args.check:
        more = _label_studies(args.check_label_study, bundle, free + ["v_rad"], "--check-label-study")
        independent = _independent_check(bundle, args.check_study, report, free, (lo, hi), regions,
                                         bounds, more)
    for name, why in report.calibration.provenance.get("skipped", {}).items():
        print(f"warning: {name} not checked: {why}", file=sys.stderr)
    if args.output:
        write_calibration_report(report, args.output, bundle, check=args.check, independent=independent)
    if args.check:
        every = [r for r in report.widths if r.get("region", -1) == -1]
        worst = max(every, key=lambda r: abs(np.log(r["reported"])) if r["reported"] > 0 else np.inf)
        widths = [r["reported"] for r in every]
        print(
            f"stored calibration of {bundle.name}@{bundle.version}: reported-error pull widths "
            f"{min(widths):.2f}-{max(widths):.2f} (worst: {worst['name']} at S/N {worst['snr']:g})"
        )
        return 0
    for name, model in report.calibration.models.items():
        print(
            f"{name:7s} scale {model.scale:.3f}  floor {model.floor:.4g}  "
            f"relative floor {model.relative_floor:.4g}  rchi2 power {model.rchi2_power:g}"
        )
    if independent is not None:
        widths = [r["reported"] for r in independent.widths if r.get("region", -1) == -1]
        print(
            f"independent check ({', '.join(args.check_study)}): pull widths "
            f"{min(widths):.2f}-{max(widths):.2f}"
        )
    if args.in_place or args.bundle_out:
        new = write_calibrated_bundle(bundle, report.calibration, args.bundle_out, args.version)
        print(f"wrote {new.name}@{new.version} to {new.path} (sha256 {new.sha256[:12]})")
    else:
        print("(no bundle written: give --in-place or --bundle-out DIR)")
    return 0


def _label_studies(
    specs: list[str], bundle, names: list[str], option: str = "--label-study"
) -> dict[str, list]:
    """``['v_micro:DIR', …]`` → ``{"v_micro": [studies of DIR for the bundle's instrument]}``."""
    from zeta_payne.exceptions import ZetaPayneError
    from zeta_payne.validation.report import load_studies

    out: dict[str, list] = {}
    for spec in specs:
        label, _, folder = spec.partition(":")
        if label not in names or not folder:
            raise ZetaPayneError(f"{option} takes 'LABEL:DIR' with LABEL one of {names}, not {spec!r}")
        loaded, _ = load_studies(folder)
        found = [st for st in loaded if st.instrument == bundle.instrument]
        if not found:
            raise ZetaPayneError(f"{option} {spec}: no {bundle.instrument} study in {folder}")
        out.setdefault(label, []).extend(found)
    return out


def _parse_regions(text: str | None, free: list[str]) -> tuple[str, tuple[float, ...]] | None:
    """``'teff:10000,15000'`` → ``("teff", (10000.0, 15000.0))`` (None for None)."""
    from zeta_payne.exceptions import ZetaPayneError

    if not text:
        return None
    label, _, edges = text.partition(":")
    try:
        values = tuple(float(e) for e in edges.split(","))
    except ValueError:
        raise ZetaPayneError(f"--regions takes 'LABEL:E1,E2,…', not {text!r}") from None
    if label not in free or not values or list(values) != sorted(set(values)):
        raise ZetaPayneError(
            f"--regions: {label!r} must be a free label and the edges must increase ({text!r})"
        )
    return label, values


def _same_network(bundle, studies, option, calibration):
    """The studies with their errors recomputed by ``calibration``, after checking that each
    was fitted with ``bundle`` or an earlier version that differs from it only by its error
    calibration (``same_fits_as`` of its provenance: the same network and fit defaults)."""
    from zeta_payne.bundles.calibration import same_fits
    from zeta_payne.exceptions import ZetaPayneError
    from zeta_payne.validation.calibrate import apply_calibration

    out = []
    for st in studies:
        meta = st.meta.get("bundle", {})
        if not same_fits(bundle, meta):
            raise ZetaPayneError(
                f"{option}: a study was fitted with {meta.get('name')}@{meta.get('version')} "
                f"({str(meta.get('sha256'))[:12]}), not {bundle.name}@{bundle.version} "
                f"({bundle.sha256[:12]}) or a version it differs from only by its error calibration: "
                f"not the same fits"
            )
        out.append(apply_calibration(st, calibration))
    return out


def _independent_check(bundle, folders, report, free, snr_range, regions, bounds, label_studies=None):
    """Widths of the new calibration on studies it was not fitted to (same network);
    ``label_studies`` (``{label: studies}``) add cases to one label's widths only."""
    from zeta_payne.exceptions import ZetaPayneError
    from zeta_payne.validation.calibrate import calibrate
    from zeta_payne.validation.report import load_studies

    studies = []
    for folder in folders:
        loaded, _ = load_studies(folder)
        studies += [st for st in loaded if st.instrument == bundle.instrument]
    if not studies:
        raise ZetaPayneError(f"no {bundle.instrument} study in {', '.join(folders)}")
    studies = _same_network(bundle, studies, f"--check-study {', '.join(folders)}", report.calibration)
    more = {name: _same_network(bundle, found, "--check-label-study", report.calibration)
            for name, found in (label_studies or {}).items()}
    return calibrate(studies, free + ["v_rad"], snr_range, {}, strict=False, regions=regions,
                     bounds=bounds, label_studies=more)


def _holdout(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.calibration import write_bundle_revision
    from zeta_payne.bundles.registry import resolve_bundle_path
    from zeta_payne.exceptions import ZetaPayneError
    from zeta_payne.training.holdout import bundle_holdout, replace_holdout_sections
    from zeta_payne.training.pipeline import holdout_markdown

    bundle = load_bundle(resolve_bundle_path(args.bundle))
    results, warnings = bundle_holdout(bundle, args.holdout_grid, args.grid)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    stencil = (bundle.manifest.provenance.get("training") or {}).get("stencil")
    sections, summary = [], []
    for r in results:
        if not r["emulator"]:
            print(f"{r['grid']}: no node inside the bundle's lattice", file=sys.stderr)
            continue
        sections.append("\n".join(holdout_markdown(r, r["grid"], stencil)))
        i, e = r["interpolation"], r["emulator"]
        print(f"{r['grid']}: {e['n_nodes']} nodes; interpolation median {i['median']:.5f} "
              f"p95 {i['p95']:.5f}; emulator median {e['median']:.5f} p95 {e['p95']:.5f}")
        summary.append({"grid": r["grid"], **{k: r[k] for k in ("interpolation", "emulator", "regions")}})
    if not sections:
        raise ZetaPayneError("no held-out node inside the bundle's lattice")
    if args.output:
        Path(args.output).write_text(f"# Held-out syntheses: {bundle.name}@{bundle.version}\n\n"
                                     + "\n".join(sections))
    if args.in_place or args.bundle_out:
        report = (Path(bundle.path) / "emulator_accuracy.md").read_text()
        provenance = dict(bundle.manifest.provenance)
        accuracy = dict(provenance.get("accuracy") or {})
        accuracy["holdout_grids"] = summary
        provenance["accuracy"] = accuracy
        files = {"emulator_accuracy.md": replace_holdout_sections(report, sections).encode()}
        new = write_bundle_revision(bundle, files, provenance, args.bundle_out, args.version)
        print(f"wrote {new.name}@{new.version} to {new.path} (sha256 {new.sha256[:12]})")
    return 0


def _defaults(args: argparse.Namespace) -> int:
    import dataclasses

    from zeta_payne.bundles.bundle import CALIBRATION_NAME, load_bundle
    from zeta_payne.bundles.calibration import write_bundle_revision
    from zeta_payne.bundles.registry import resolve_bundle_path
    from zeta_payne.exceptions import ZetaPayneError
    from zeta_payne.fitting.options import FLAG_ONLY_OPTIONS, FitOptions, merge_options

    bundle = load_bundle(resolve_bundle_path(args.bundle))
    defaults = dict(bundle.manifest.fit_defaults)
    changes: dict = {}
    reason = args.reason
    if args.from_bundle is not None:
        source = load_bundle(resolve_bundle_path(args.from_bundle))
        if source.instrument != bundle.instrument:
            raise ZetaPayneError(f"--from {args.from_bundle}: a {source.instrument} bundle, "
                                 f"not {bundle.instrument}")
        changes.update(fit_rules_of(source.manifest.fit_defaults, source.manifest.provenance))
        if not changes:
            raise ZetaPayneError(f"--from {args.from_bundle}: no fit defaults were changed "
                                 "after its training")
        reason = reason or (f"the fit rules of {source.name} {source.version} "
                            f"({', '.join(changes)})")
    if not reason:
        raise ZetaPayneError("give --reason (why the defaults change)")
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ZetaPayneError(f"--set {item!r}: expected KEY=JSON")
        try:
            changes[key] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ZetaPayneError(f"--set {key}: {value!r} is not JSON ({exc})") from exc
    for key in args.unset:
        if key not in defaults and changes.get(key, None) is None:
            raise ZetaPayneError(f"--unset {key}: not among the bundle's fit defaults")
        changes[key] = None
    if not changes:
        raise ZetaPayneError("nothing to change: give --set or --unset")
    unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(FitOptions)})
    if unknown:
        raise ZetaPayneError(f"unknown fit default(s) {', '.join(unknown)}")
    for key, value in changes.items():
        if value is None:
            defaults.pop(key, None)
        else:
            defaults[key] = value
    try:
        merge_options(defaults)  # the new defaults must make valid fit options
    except (TypeError, ValueError) as exc:
        raise ZetaPayneError(f"the new fit defaults are not valid fit options: {exc}") from exc
    provenance = dict(bundle.manifest.provenance)
    # flag-only options leave the labels and errors as the calibration measured them
    refits = set(changes) - FLAG_ONLY_OPTIONS
    drop = (CALIBRATION_NAME,) if CALIBRATION_NAME in bundle.manifest.payloads and refits else ()
    if drop:
        provenance.pop("error_calibration", None)
    history = list(provenance.get("fit_defaults_changes") or [])
    history.append({"from_version": bundle.version, "changes": changes, "reason": reason,
                    "dropped": list(drop)})
    provenance["fit_defaults_changes"] = history
    new = write_bundle_revision(bundle, {}, provenance, args.bundle_out, args.version,
                                fit_defaults=defaults, drop=drop)
    print(f"wrote {new.name}@{new.version} to {new.path} (sha256 {new.sha256[:12]})"
          + (" — its error calibration was dropped: calibrate again" if drop else ""))
    return 0


def fit_rules_of(fit_defaults: dict, provenance: dict) -> dict:
    """The fit defaults a bundle was given after its training, ``{key: value}``.

    Every key of its ``provenance.fit_defaults_changes``, in the order first changed, at the
    value the bundle has now (``None``: unset there).
    """
    keys: list[str] = []
    for change in provenance.get("fit_defaults_changes") or []:
        keys += [k for k in change.get("changes", {}) if k not in keys]
    return {k: fit_defaults.get(k) for k in keys}


def _verify(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.registry import resolve_bundle_path

    bundle = load_bundle(resolve_bundle_path(args.bundle))
    described = bundle.describe()
    described["model_resolving_power_R"] = described.pop("resolution")
    described["wavelength_range_angstrom_vacuum"] = described.pop("wavelength")
    print(json.dumps({"ok": True, **described}, indent=2))
    return 0


def _list(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.bundle import load_bundle
    from zeta_payne.bundles.registry import list_bundles
    from zeta_payne.exceptions import BundleError

    for folder in list_bundles():
        try:
            d = load_bundle(folder).describe()
            print(f"{d['name']}@{d['version']}  {d['instrument']:6s}  {folder}  sha256={d['sha256'][:12]}")
        except BundleError as exc:
            print(f"INVALID  {folder}: {exc}")
    return 0
