"""The one error path of ``zeta-payne``: every failure is one line on stderr and an exit status.

A user's mistake (a :class:`~zeta_payne.exceptions.ZetaPayneError`, a file that cannot be
opened or written, a database that refuses a statement) prints ``zeta-payne: error: ...``;
anything else is a bug and says so. ``--debug`` adds the traceback. Ctrl-C exits with 130,
a closed pipe (``zeta-payne status | head``) quietly with 141.
"""

from __future__ import annotations

import os
import sys
import traceback

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_PIPE", "exit_status", "fail"]

#: Exit status of an error.
EXIT_ERROR = 1
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Exit status when stdout was closed by the reader (128 + SIGPIPE).
EXIT_PIPE = 141

_DATABASE_MODULES = ("peewee", "psycopg2", "sqlite3", "playhouse")


def fail(message: str) -> int:
    """Print ``zeta-payne: error: MESSAGE`` on stderr; return :data:`EXIT_ERROR`."""
    print(f"zeta-payne: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def exit_status(exc: BaseException, debug: bool = False) -> int:
    """Report ``exc`` in one line (with the traceback when ``debug``) and return the exit status."""
    from zeta_payne.exceptions import ZetaPayneError

    if isinstance(exc, KeyboardInterrupt):
        print("zeta-payne: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return EXIT_PIPE
    if debug:
        traceback.print_exception(exc)
    if isinstance(exc, ZetaPayneError):
        return fail(str(exc))
    if isinstance(exc, OSError) and exc.filename is not None:
        reason = exc.strerror or type(exc).__name__
        return fail(f"{exc.filename}: {reason}")
    if type(exc).__module__.split(".")[0] in _DATABASE_MODULES:
        return fail(f"database error: {exc}".rstrip())
    hint = "" if debug else " (zeta-payne --debug ... shows the traceback; please report it)"
    return fail(f"unexpected {type(exc).__name__}: {exc}{hint}")
