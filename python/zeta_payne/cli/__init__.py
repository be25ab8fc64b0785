"""The ``zeta-payne`` command line: thin argument parsing over the library.

Each sub-module registers its commands with ``register(subparsers)``; the handler is
stored as ``func`` and receives the parsed arguments.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from zeta_payne import __version__
from zeta_payne.exceptions import ZetaPayneError

__all__ = ["main", "build_parser"]

#: Sub-modules that register commands (a missing optional one is skipped).
COMMAND_MODULES: tuple[str, ...] = (
    "zeta_payne.cli.fit",
    "zeta_payne.cli.bundle",
    "zeta_payne.cli.grid",
    "zeta_payne.cli.train",
    "zeta_payne.cli.validate",
    "zeta_payne.cli.benchmark_real",
    "zeta_payne.cli.database",
    "zeta_payne.cli.workers",
    "zeta_payne.cli.srun",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available command."""
    parser = argparse.ArgumentParser(
        prog="zeta-payne",
        description="ZETA-PAYNE stellar labels for hot (OBAF) stars from BOSS and APOGEE spectra.",
    )
    parser.add_argument("--version", action="version", version=f"zeta-payne {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ZetaPayneError as exc:
        print(f"zeta-payne: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("zeta-payne: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
