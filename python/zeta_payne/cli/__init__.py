"""The ``zeta-payne`` command line: thin argument parsing over the library.

Commands come in one shape: ``zeta-payne fit`` (no database), ``zeta-payne db ACTION`` (the
database workflow: init, ingest, classify, run, worker, srun, status, export, plot),
``zeta-payne demo``, and the model-building groups ``bundle``, ``grid``, ``train``,
``validate``, ``benchmark-real``. The database actions are also accepted under their old
top-level names (``zeta-payne run`` = ``zeta-payne db run``) for this release.

Each sub-module registers its commands with ``register(subparsers)``; the handler is
stored as ``func`` and receives the parsed arguments. Errors go through
:mod:`zeta_payne.cli.errors` (one line, no traceback unless ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from zeta_payne import __version__
from zeta_payne.cli.errors import exit_status
from zeta_payne.cli.parser import CliParser

__all__ = ["main", "build_parser"]

#: Sub-modules that register commands (a missing optional one is skipped).
COMMAND_MODULES: tuple[str, ...] = (
    "zeta_payne.cli.fit",
    "zeta_payne.cli.db",
    "zeta_payne.cli.demo",
    "zeta_payne.cli.bundle",
    "zeta_payne.cli.grid",
    "zeta_payne.cli.train",
    "zeta_payne.cli.validate",
    "zeta_payne.cli.benchmark_real",
)

_EPILOG = """\
first steps:
  zeta-payne demo                                   # the whole pipeline on shipped spectra
  zeta-payne fit spectra/*.npz -o results.fits      # fit files, no database
  zeta-payne db init --database sqlite:///zp.sqlite # then: db ingest, db run, db export

`zeta-payne COMMAND --help` shows each command's options, units, defaults and an example.
The database actions are also accepted under their old names (init, ingest, classify, run,
worker, srun, status, export, plot) for this release."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available command."""
    parser = CliParser(
        prog="zeta-payne",
        description="ZETA-PAYNE stellar labels (Teff, log g, v sin i, [M/H], RV) for hot (OBAF) stars "
        "from SDSS-V BOSS and APOGEE spectra.",
        epilog=_EPILOG,
    )
    parser.add_argument("-V", "--version", action="version", version=f"zeta-payne {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (anywhere on the line)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``zeta-payne``; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words[: words.index("--")] if "--" in words else "--debug" in words
    if debug:
        words.remove("--debug")
    try:
        parser = build_parser()
        args = parser.parse_args(words)
        args.debug = debug
        level = logging.DEBUG if debug else logging.WARNING - 10 * min(args.verbose, 2)
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for handler in logging.getLogger().handlers:  # records of chattier loggers (astra) stop here
            handler.setLevel(level)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's final flush
        return status
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BaseException as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        return exit_status(exc, debug)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
