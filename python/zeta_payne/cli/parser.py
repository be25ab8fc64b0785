"""The argument parser of ``zeta-payne``: one-line errors, defaults in ``--help``, examples.

Every command is added with :func:`add_command`, which gives it a description, an example
(shown under ``--help``) and the parser class :class:`CliParser`: a usage mistake is one
line on stderr (``zeta-payne fit: error: ...; see zeta-payne fit --help``) and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

__all__ = ["CliParser", "HelpFormatter", "add_command", "finite_float", "positive_int"]


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped, examples (``example:`` epilogs) as written; ``(default: X)`` after
    options that have one."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n  " in text:  # an example block: keep its lines
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and "%(default)" not in text
            and "default" not in text
            and default not in (None, False, [], (), argparse.SUPPRESS)
        ):
            shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else default
            text += f" (default: {shown})"
        return text.replace("%", "%%").replace("%%(default)s", "%(default)s")


class CliParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are one line (exit status 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE; see PROG --help`` on stderr and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:  # noqa: A003
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    summary: str,
    example: str | None = None,
    description: str | None = None,
    listed: bool = True,
    aliases: tuple[str, ...] = (),
) -> argparse.ArgumentParser:
    """Add the command ``name`` to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        Where to add it.
    name : str
        The command word.
    summary : str
        One line for the command list (and the description if none is given).
    example : str, optional
        One or more command lines shown under ``--help`` as ``example:``.
    description : str, optional
        Longer text for ``--help``.
    listed : bool
        Show it in the parent's command list (``False``: a kept old name).
    aliases : tuple of str
        Other words for the same command.
    """
    kwargs: dict[str, Any] = {"description": description or summary, "aliases": list(aliases)}
    if listed:
        kwargs["help"] = summary
    if example:
        lines = [line.strip() for line in example.strip().splitlines()]
        kwargs["epilog"] = "example:\n" + "\n".join(f"  {line}" for line in lines)
    return sub.add_parser(name, **kwargs)


def finite_float(text: str) -> float:
    """An argparse ``type``: a finite number."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """An argparse ``type``: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value
