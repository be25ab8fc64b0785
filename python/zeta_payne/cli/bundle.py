"""``zeta-payne bundle``: import the authors' networks, verify and list bundles."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bundle", help="model bundles: import-legacy, verify, list")
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
