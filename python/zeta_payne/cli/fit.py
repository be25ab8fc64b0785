"""``zeta-payne fit``: fit spectrum files without any database.

Inputs are files, folders (searched for spectrum files) and glob patterns. Each spectrum is
fitted with the bundle of its instrument (``--bundle-boss``, ``--bundle-apogee``; LAMOST
spectra with the BOSS bundle), a progress line per spectrum goes to stderr (``-q``: none),
and each row is written as soon as it is fitted (:mod:`zeta_payne.cli.fit_table`), so that
Ctrl-C keeps every spectrum fitted so far (exit status 130).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from typing import Any

from zeta_payne.cli.parser import add_command, finite_float, positive_int
from zeta_payne.exceptions import ZetaPayneError

__all__ = [
    "UNKNOWN_FRAME",
    "add_fit_options",
    "check_device",
    "check_fit_labels",
    "fit_overrides",
    "register",
]

log = logging.getLogger(__name__)

#: Frame assumed for spectra whose file does not say (an npz without ``frame``): the wide
#: observed-frame search finds a rest-frame RV too, the narrow one misses large RVs.
UNKNOWN_FRAME = "observed"

#: Bundle instrument that fits each spectrum instrument (LAMOST low resolution: BOSS's).
BUNDLE_FOR: dict[str, str] = {"boss": "boss", "apogee": "apogee", "lamost": "boss"}

#: Labels a bundle may have (the flags know these five; ``v_rad`` is always fitted).
KNOWN_LABELS = "teff [K], logg [dex], v_sini [km/s], m_h [dex], v_micro [km/s]"


def _label_value(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=VALUE, e.g. m_h=0")
    try:
        number = finite_float(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    return name.strip(), number


def _default_fit_defaults() -> dict[str, dict[str, Any]]:
    """Each default bundle's ``fit_defaults``, read from its manifest (no network is loaded);
    an instrument whose bundle is not found is left out."""
    import json

    from zeta_payne.bundles.registry import resolve_bundle_path

    out = {}
    for instrument in ("boss", "apogee"):
        try:
            manifest = resolve_bundle_path(instrument) / "manifest.json"
            out[instrument] = dict(json.loads(manifest.read_text())["fit_defaults"])
        except (ZetaPayneError, OSError, ValueError, KeyError, TypeError):
            continue
    return out


def shipped_default(key: str, defaults: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The default bundles' ``fit_defaults[key]`` as help text ("BOSS …, APOGEE …"); ``defaults``
    as from :func:`_default_fit_defaults` (read when not given); "" where no bundle has it."""
    parts = []
    for instrument, values in (_default_fit_defaults() if defaults is None else defaults).items():
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, list):
            value = "-".join(f"{v:.0f}" for v in value)
        parts.append(f"{instrument.upper()} {value}")
    return f" (the default bundles: {', '.join(parts)})" if parts else ""


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    """Fit options shared by the commands that fit (the bundle's value where not given)."""
    g = parser.add_argument_group("fit options (default: the bundle's)")
    shipped = _default_fit_defaults()  # the manifests read once for every option's help
    g.add_argument(
        "--wavelength-range",
        nargs=2,
        type=finite_float,
        metavar=("MIN", "MAX"),
        help="fitted range [Å, vacuum]" + shipped_default("wavelength_range", shipped),
    )
    g.add_argument(
        "--resolution",
        type=finite_float,
        metavar="R",
        help="constant resolving power R = λ/FWHM for a Gaussian LSF, overriding the spectrum's own "
        "per-pixel LSF (default: the spectrum's LSF, else the bundle's R, flagged lsf_from_bundle)",
    )
    g.add_argument(
        "--n-chebyshev",
        type=positive_int,
        metavar="N",
        help="Chebyshev terms of the response" + shipped_default("n_chebyshev", shipped),
    )
    g.add_argument(
        "--presearch-points",
        type=positive_int,
        metavar="N",
        help="Sobol points of the pre-search" + shipped_default("presearch_points", shipped),
    )
    g.add_argument(
        "--rv-range",
        nargs=2,
        type=finite_float,
        metavar=("MIN", "MAX"),
        help="pre-search radial-velocity range [km/s] (default: rest frame ±50, observed frame ±500)",
    )
    g.add_argument(
        "--fix",
        action="append",
        default=[],
        type=_label_value,
        metavar="LABEL=VALUE",
        help=f"hold a label fixed, in its unit (repeatable); labels: {KNOWN_LABELS} — those of the bundle",
    )
    g.add_argument(
        "--free",
        action="append",
        default=[],
        metavar="LABEL",
        help="free a label the bundle fixes (repeatable; the shipped bundles have no fixed label)",
    )
    g.add_argument("--device", default="cpu", help="torch device: cpu, cuda or cuda:N")


def fit_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Fit options given on the command line, as overrides of each bundle's defaults.

    Only what the user gave (``None`` and empty options are left out), so that
    :func:`~zeta_payne.fitting.options.merge_options` can tell an explicit ``--resolution``
    or ``--rv-range`` from the bundle's defaults.
    """
    out: dict[str, Any] = {}
    if getattr(args, "wavelength_range", None):
        out["wavelength_range"] = tuple(args.wavelength_range)
    if getattr(args, "rv_range", None):
        out["rv_range"] = tuple(args.rv_range)
    for name in ("resolution", "n_chebyshev", "presearch_points"):
        if getattr(args, name, None) is not None:
            out[name] = getattr(args, name)
    fixed = {}
    for item in getattr(args, "fix", []) or []:
        name, value = item if isinstance(item, tuple) else _label_value(item)
        fixed[name] = float(value)
    if fixed:
        out["fixed"] = fixed
    if getattr(args, "free", None):
        out["free"] = tuple(args.free)
    return out


def check_ranges(args: argparse.Namespace) -> None:
    """Raise for ranges whose minimum is not below their maximum, or a non-positive R."""
    for name in ("wavelength_range", "rv_range"):
        value = getattr(args, name, None)
        if value and not value[0] < value[1]:
            flag = "--" + name.replace("_", "-")
            raise ZetaPayneError(f"{flag} {value[0]:g} {value[1]:g}: MIN must be below MAX")
    if getattr(args, "resolution", None) is not None and args.resolution <= 0:
        raise ZetaPayneError(f"--resolution {args.resolution:g}: R must be positive")


def check_fit_labels(args: argparse.Namespace, bundles: Mapping[str, Any]) -> None:
    """Raise unless every ``--fix``/``--free`` label is a label of each bundle in ``bundles``.

    ``bundles`` maps instruments to a bundle spec (name, folder) or a loaded bundle; one that
    cannot be found is left to the command to report.
    """
    check_ranges(args)
    wanted = {name for name, _ in (args.fix or [])} | set(args.free or [])
    if not wanted:
        return
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.exceptions import BundleError

    unique = {id(spec): spec for spec in bundles.values()}
    for spec in unique.values():
        try:
            bundle = spec if hasattr(spec, "labels") else find_bundle(spec)
        except BundleError:
            continue
        names = [s.name for s in bundle.labels]
        unknown = sorted(wanted - set(names))
        if unknown:
            option = "--fix" if unknown[0] in {n for n, _ in (args.fix or [])} else "--free"
            raise ZetaPayneError(
                f"{option} {unknown[0]}: not a label of bundle {bundle.name} (its labels: {', '.join(names)})"
            )
        fixed_by_bundle = [s.name for s in bundle.labels if not s.free]
        already = sorted(set(args.free or []) - set(fixed_by_bundle))
        if already:
            raise ZetaPayneError(f"--free {already[0]}: already free in bundle {bundle.name}")


def check_device(text: str) -> None:
    """Raise unless ``text`` names a torch device this machine has."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise ZetaPayneError(f"--device {text!r}: not a torch device (cpu, cuda, cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ZetaPayneError(
                f"--device {text}: this torch has no usable CUDA (a CPU build, or no GPU visible); "
                "use --device cpu or install a CUDA build of torch"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ZetaPayneError(f"--device {text}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise ZetaPayneError(f"--device {text}: use cpu or cuda[:N]")


_EXAMPLE = """\
zeta-payne fit spectrum.npz --bundle boss -o results.csv
zeta-payne fit spectra/ 'more/*.fits' -o results.fits --bundle-boss zeta-payne-boss@2.1.0
zeta-payne fit mwmStar-0.8.0-90000001.fits --instrument boss --fix m_h=0 -q -o out.ecsv"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fit``."""
    parser = add_command(
        sub,
        "fit",
        "fit spectrum files (npz, SDSS products, LAMOST) without a database",
        example=_EXAMPLE,
        description="Fit every spectrum in the given files, folders (searched for .npz, .fits, "
        ".fits.gz) and glob patterns with the bundle of its instrument. One row per fitted spectrum "
        "(file, hdu, instrument, identifier, frame, labels with e_/raw_e_/cov_e_ errors, fit "
        "statistics, flags), written as it is fitted: Ctrl-C keeps the rows so far. Without -o the "
        "table is printed. Exit status: 0 all fitted, 1 some input unreadable, 130 interrupted.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="spectrum files, folders or glob patterns")
    parser.add_argument(
        "--bundle",
        default=None,
        help="one bundle (folder, name, name@version) for every spectrum of its instrument",
    )
    parser.add_argument(
        "--bundle-boss", default=None, help="bundle of BOSS (and LAMOST) spectra (default: boss)"
    )
    parser.add_argument("--bundle-apogee", default=None, help="bundle of APOGEE spectra (default: apogee)")
    parser.add_argument(
        "--instrument",
        action="append",
        choices=["boss", "apogee", "lamost"],
        help="fit only spectra of this instrument (repeatable; default: all)",
    )
    parser.add_argument("--format", default=None, help="reader name (default: detect from the file)")
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="table to write: .csv, .fits or .ecsv (default: print)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="spectra of one bundle fitted together by the batched fitter, their rows written when "
        "the batch is done (default: chosen from the device's memory, at most 32 on a CPU; "
        "1: one at a time)",
    )
    parser.add_argument(
        "--frame",
        choices=["rest", "observed"],
        default=None,
        help="frame of the input wavelengths (default: from the file — mwmStar/mwmVisit/apStar rest, "
        "specFull/apVisit/LAMOST observed, npz its 'frame' array, else observed). Observed: RV "
        "searched over ±500 km/s, rest: the bundle's range (±50), unless --rv-range is given",
    )
    joint = parser.add_argument_group("one source, all its spectra (issue 17)")
    modes = joint.add_mutually_exclusive_group()
    modes.add_argument(
        "--joint",
        action="store_true",
        help="fit the inputs as spectra of one star (BOSS + APOGEE, each with its bundle) with shared "
        "labels: one joint row plus one row per spectrum (tension, its own fit as single_*)",
    )
    modes.add_argument(
        "--epochs",
        action="store_true",
        help="fit the inputs as visits of one star (one instrument) with shared labels and one RV per "
        "visit: one source row (RV statistics, rv_variable / sb2_candidate flags) plus one row per visit",
    )
    joint.add_argument(
        "--by-source",
        action="store_true",
        help="with --joint/--epochs: group the spectra by identifier (sdss_id, name) into sources "
        "(default: all inputs are one source)",
    )
    add_fit_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.cli.common import pin_threads
    from zeta_payne.cli.fit_inputs import expand_inputs, read_inputs
    from zeta_payne.cli.fit_table import FitTable
    from zeta_payne.io.tables import check_output

    check_ranges(args)
    if args.format is not None:
        from zeta_payne.io.registry import readers

        if args.format not in readers():
            raise ZetaPayneError(f"--format {args.format}: unknown reader (known: {', '.join(readers())})")
    if args.output:
        check_output(args.output, args.overwrite)
    files = expand_inputs(args.inputs)
    check_device(args.device)
    spectra, unreadable = read_inputs(files, args.format)
    if not spectra and unreadable:
        more = f" (and {len(unreadable) - 1} more unreadable files)" if len(unreadable) > 1 else ""
        raise ZetaPayneError(unreadable[0][1] + more)
    for path, message in unreadable:
        shown = message if message.startswith(path) else f"{path}: {message}"
        print(f"skipped {shown}", file=sys.stderr)
    spectra = [s for s in spectra if not args.instrument or s.meta.get("instrument") in args.instrument]
    bundles = _bundles(args, {s.meta["instrument"] for s in spectra})
    skipped = [s for s in spectra if BUNDLE_FOR.get(s.meta["instrument"]) not in bundles]
    if skipped:
        kinds = sorted({s.meta["instrument"] for s in skipped})
        print(
            f"skipped {len(skipped)} {'/'.join(kinds)} spectra: --bundle is a {next(iter(bundles))} bundle "
            f"(give --bundle-{BUNDLE_FOR[kinds[0]]} to fit them)",
            file=sys.stderr,
        )
    # by identity: Spectrum's dataclass equality compares arrays (and fails on unequal sizes)
    skipped_ids = {id(s) for s in skipped}
    spectra = [s for s in spectra if id(s) not in skipped_ids]
    if not spectra:
        raise ZetaPayneError("nothing to fit: no readable spectrum in " + ", ".join(args.inputs))
    check_fit_labels(args, bundles)
    pin_threads(1)
    if getattr(args, "joint", False) or getattr(args, "epochs", False):
        from zeta_payne.cli.fit_joint import run_joint

        status = run_joint(args, spectra, bundles, BUNDLE_FOR)
        return status if status == 130 else (1 if unreadable else status)
    table = FitTable(args.output, bundles)
    status = _fit_all(args, spectra, bundles, table)
    if status == 130:
        return status
    return 1 if unreadable else status


def _bundles(args: argparse.Namespace, instruments: set[str]) -> dict[str, Any]:
    """The loaded bundle of each needed bundle instrument (``--bundle``: only its own)."""
    from zeta_payne.bundles.registry import find_bundle

    if args.bundle:
        bundle = find_bundle(args.bundle)
        return {bundle.instrument: bundle}
    specs = {"boss": args.bundle_boss or "boss", "apogee": args.bundle_apogee or "apogee"}
    needed = {BUNDLE_FOR.get(i, "boss") for i in instruments}
    out = {}
    for instrument in sorted(needed):
        bundle = find_bundle(specs[instrument])
        if bundle.instrument != instrument:
            raise ZetaPayneError(
                f"--bundle-{instrument} {specs[instrument]}: a {bundle.instrument} bundle, not {instrument}"
            )
        out[instrument] = bundle
    return out


def _fit_all(args: argparse.Namespace, spectra: list[Any], bundles: Mapping[str, Any], table: Any) -> int:
    from zeta_payne.cli.errors import EXIT_INTERRUPTED
    from zeta_payne.cli.progress import ProgressBar

    progress = None if args.quiet else ProgressBar()
    total = len(spectra)
    counts = {"bad": 0}
    start = time.monotonic()
    if progress:
        progress("fit", 0, total)
    try:
        for fitter, frame, batch in _batches(args, spectra, bundles):
            # rows are written as each batch is done: Ctrl-C keeps the finished batches
            writer = _RowWriter(table, batch, frame, fitter.bundle, progress, total)
            fitter.fit_batch(batch, progress=writer)
            counts["bad"] += writer.bad
    except KeyboardInterrupt:
        table.close()
        where = f" in {args.output}" if args.output else ""
        print(
            f"zeta-payne: interrupted: {table.n_rows} of {total} spectra fitted and kept{where}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    table.close()
    if not args.quiet or args.output:
        elapsed = time.monotonic() - start
        where = f" to {args.output}" if args.output else ""
        print(
            f"fitted {table.n_rows} spectra ({counts['bad']} flagged bad) in {elapsed:.1f} s; "
            f"wrote {table.n_rows} rows{where}",
            file=sys.stdout if args.output else sys.stderr,
        )
    return 0


def _batches(
    args: argparse.Namespace, spectra: list[Any], bundles: Mapping[str, Any]
) -> Iterator[tuple[Any, str, list[Any]]]:
    """``(fitter, frame, spectra)`` batches: spectra of one bundle and frame, in input order.

    A batch is fitted once it holds the fitter's batch size (``--batch-size``, else chosen
    from the device's memory), the rest at the end, so mixed inputs (an mwmStar file with
    BOSS and APOGEE spectra) come out batch by batch, not in input order.
    """
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import merge_options

    overrides = fit_overrides(args)
    fitters: dict[tuple[str, str], Fitter] = {}
    sizes: dict[tuple[str, str], int] = {}
    pending: dict[tuple[str, str], list[Any]] = {}
    for spectrum in spectra:
        instrument = BUNDLE_FOR[spectrum.meta["instrument"]]
        frame = args.frame or spectrum.frame or UNKNOWN_FRAME
        if args.frame and spectrum.frame != args.frame:  # the fit's masked bands follow it too
            spectrum.frame = args.frame
        key = (instrument, frame)
        if key not in fitters:
            bundle = bundles[instrument]
            options = merge_options(bundle.manifest.fit_defaults, overrides, frame=frame)
            fitters[key] = Fitter(bundle, options, device=args.device, batch_size=args.batch_size)
            sizes[key] = fitters[key].resolved_batch_size(spectrum.n_pixels)
        waiting = pending.setdefault(key, [])
        waiting.append(spectrum)
        if len(waiting) >= sizes[key]:
            yield fitters[key], frame, pending.pop(key)
    for key, waiting in pending.items():
        yield fitters[key], key[1], waiting


class _RowWriter:
    """``Fitter.fit_batch`` progress callback: writes each result's row and reports progress."""

    def __init__(
        self, table: Any, batch: list[Any], frame: str, bundle: Any, progress: Any, total: int
    ) -> None:
        self.table, self.batch, self.frame, self.bundle = table, batch, frame, bundle
        self.progress, self.total, self.bad = progress, total, 0

    def __call__(self, index: int, result: Any) -> None:
        self.bad += bool(result.flag_bad)
        self.table.add(self.batch[index], self.frame, self.bundle, result)
        if self.progress:
            self.progress("fit", self.table.n_rows, self.total)
