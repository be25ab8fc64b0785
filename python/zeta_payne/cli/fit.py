"""``zeta-payne fit``: fit spectrum files without any database."""

from __future__ import annotations

import argparse
import logging
from typing import Any

__all__ = ["register"]

log = logging.getLogger(__name__)

#: Label columns of the ``fit`` table, each with ``e_`` (reported), ``raw_e_`` (χ² parabola)
#: and ``cov_e_`` (covariance) errors.
LABELS: tuple[str, ...] = ("teff", "logg", "v_sini", "m_h", "v_rad")
COLUMNS = [
    "name",
    *[f"{prefix}{label}" for label in LABELS for prefix in ("", "e_", "raw_e_", "cov_e_")],
    "chi2",
    "rchi2",
    "snr",
    "frame",
    "lsf_source",
    "result_flags",
    "flag_names",
]

#: Frame assumed for spectra whose file does not say (an npz without ``frame``): the wide
#: observed-frame search finds a rest-frame RV too, the narrow one misses large RVs.
UNKNOWN_FRAME = "observed"


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    """Fit options shared by the commands that fit."""
    g = parser.add_argument_group("fit options (default: the bundle's)")
    g.add_argument("--wavelength-range", nargs=2, type=float, metavar=("MIN", "MAX"))
    g.add_argument(
        "--resolution",
        type=float,
        help="constant R for a Gaussian LSF, overriding the spectrum's own per-pixel LSF "
        "(default: the spectrum's LSF, else the bundle's R, flagged lsf_from_bundle)",
    )
    g.add_argument("--n-chebyshev", type=int)
    g.add_argument("--presearch-points", type=int)
    g.add_argument("--rv-range", nargs=2, type=float, metavar=("MIN", "MAX"))
    g.add_argument("--fix", action="append", default=[], metavar="LABEL=VALUE", help="hold a label fixed")
    g.add_argument(
        "--free", action="append", default=[], metavar="LABEL", help="free a label the bundle fixes"
    )
    g.add_argument("--device", default="cpu", help="cpu or cuda[:N]")


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
        name, _, value = item.partition("=")
        fixed[name] = float(value)
    if fixed:
        out["fixed"] = fixed
    if getattr(args, "free", None):
        out["free"] = tuple(args.free)
    return out


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fit", help="fit spectrum files (npz or SDSS products), no database")
    parser.add_argument("files", nargs="+", help="spectrum files")
    parser.add_argument("--bundle", default=None, help="bundle folder or name (default: by instrument)")
    parser.add_argument("--format", default=None, help="reader name (default: detect)")
    parser.add_argument("-o", "--output", default=None, help="CSV table to write (default: print)")
    parser.add_argument(
        "--frame",
        choices=["rest", "observed"],
        default=None,
        help="frame of the input wavelengths (default: from the file — mwmStar/mwmVisit/apStar rest, "
        "specFull/apVisit observed, npz its 'frame' array, else observed). Observed: RV searched "
        "over ±500 km/s, rest: the bundle's range (±50), unless --rv-range is given",
    )
    add_fit_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.cli.common import pin_threads, write_table
    from zeta_payne.exceptions import SpectrumError
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.flags import ResultFlags
    from zeta_payne.fitting.options import merge_options
    from zeta_payne.io.registry import read_spectra

    pin_threads(1)
    overrides = fit_overrides(args)
    fitters: dict[tuple[str, str], Fitter] = {}
    rows = []
    status = 0
    for path in args.files:
        try:
            spectra = read_spectra(path, format=args.format)
        except SpectrumError as exc:
            log.error("%s", exc)
            rows.append(
                {
                    "name": path,
                    "result_flags": int(ResultFlags.RUNTIME_EXCEPTION),
                    "flag_names": f"unreadable: {exc}",
                }
            )
            status = 1
            continue
        for spectrum in spectra:
            spec = args.bundle or spectrum.meta.get("instrument") or "boss"
            frame = args.frame or spectrum.frame or UNKNOWN_FRAME
            if (spec, frame) not in fitters:
                bundle = find_bundle(spec)
                options = merge_options(bundle.manifest.fit_defaults, overrides, frame=frame)
                fitters[spec, frame] = Fitter(bundle, options, device=args.device)
            result = fitters[spec, frame].fit(spectrum)
            rows.append({"name": spectrum.meta.get("name", path), "frame": frame, **result.as_row()})
    write_table(rows, args.output, COLUMNS)
    return status
