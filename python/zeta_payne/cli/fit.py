"""``zeta-payne fit``: fit spectrum files without any database."""

from __future__ import annotations

import argparse
import logging

__all__ = ["register"]

log = logging.getLogger(__name__)

COLUMNS = [
    "name",
    "teff",
    "e_teff",
    "logg",
    "e_logg",
    "v_sini",
    "e_v_sini",
    "m_h",
    "e_m_h",
    "v_rad",
    "e_v_rad",
    "chi2",
    "rchi2",
    "snr",
    "result_flags",
    "flag_names",
]


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    """Fit options shared by the commands that fit."""
    g = parser.add_argument_group("fit options (default: the bundle's)")
    g.add_argument("--wavelength-range", nargs=2, type=float, metavar=("MIN", "MAX"))
    g.add_argument(
        "--resolution", type=float, help="constant R for a Gaussian LSF (overrides the spectrum's)"
    )
    g.add_argument("--n-chebyshev", type=int)
    g.add_argument("--presearch-points", type=int)
    g.add_argument("--rv-range", nargs=2, type=float, metavar=("MIN", "MAX"))
    g.add_argument("--fix", action="append", default=[], metavar="LABEL=VALUE", help="hold a label fixed")
    g.add_argument(
        "--free", action="append", default=[], metavar="LABEL", help="free a label the bundle fixes"
    )
    g.add_argument("--device", default="cpu", help="cpu or cuda[:N]")


def fit_options_from_args(bundle, args: argparse.Namespace):
    """Bundle defaults overridden by the command-line fit options."""
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.options import FitOptions

    base = Fitter.default_options(bundle)
    fixed = dict(base.fixed)
    for item in args.fix:
        name, _, value = item.partition("=")
        fixed[name] = float(value)
    return (
        base.updated(
            wavelength_range=tuple(args.wavelength_range) if args.wavelength_range else None,
            resolution=args.resolution,
            n_chebyshev=args.n_chebyshev,
            presearch_points=args.presearch_points,
            rv_range=tuple(args.rv_range) if args.rv_range else None,
            fixed=fixed,
            free=tuple(args.free) or None,
        )
        if isinstance(base, FitOptions)
        else base
    )


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fit", help="fit spectrum files (npz or SDSS products), no database")
    parser.add_argument("files", nargs="+", help="spectrum files")
    parser.add_argument("--bundle", default=None, help="bundle folder or name (default: by instrument)")
    parser.add_argument("--format", default=None, help="reader name (default: detect)")
    parser.add_argument("-o", "--output", default=None, help="CSV table to write (default: print)")
    add_fit_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from zeta_payne.bundles.registry import find_bundle
    from zeta_payne.cli.common import pin_threads, write_table
    from zeta_payne.exceptions import SpectrumError
    from zeta_payne.fitting.fitter import Fitter
    from zeta_payne.fitting.flags import ResultFlags
    from zeta_payne.io.registry import read_spectra

    pin_threads(1)
    fitters: dict[str, Fitter] = {}
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
            if spec not in fitters:
                bundle = find_bundle(spec)
                fitters[spec] = Fitter(bundle, fit_options_from_args(bundle, args), device=args.device)
            result = fitters[spec].fit(spectrum)
            rows.append({"name": spectrum.meta.get("name", path), **result.as_row()})
    write_table(rows, args.output, COLUMNS)
    return status
