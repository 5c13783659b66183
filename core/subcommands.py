"""The one border of the `writein` command: parse, run, and turn any failure into one line.

Each room's command module registers its subcommands on an argparse subparsers; the
`writein` dispatcher (writein/main.py) and each module's own ``main`` (tests, ``python -m``)
both run them through :func:`run_commands`, so every subcommand reports a user error the
same way: ``writein: <what went wrong and what to do>`` on stderr, and the exit code of
core.errors. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import Any

from core.errors import EXIT_INTERRUPTED, EXIT_KEY, EXIT_REFUSED, EXIT_STORE, WriteinError
from core.untrusted import render_untrusted
from crypto import CryptoError
from store import StoreError
from store.keyfiles import KeyFileError

Register = Callable[["argparse._SubParsersAction[Any]"], None]

EPILOG = """\
exit codes: 0 done, 1 refused or failed, 2 bad usage or configuration, 3 key or
passphrase problem, 4 not certified, 5 store unreachable, 6 no such case,
7 case not assigned to you, 130 interrupted. Errors are one line on stderr;
--debug shows the traceback.
"""


def _version() -> str:
    try:
        return dist_version("writein")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser(registers: Iterable[Register]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="writein",
        description="writein: a secure two-way relay between Telegram sources and case officers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"writein {_version()}")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in registers:
        register(sub)
    return parser


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}{reason.lower()}; check that it belongs to this user and is writable"
    return f"{where}{reason.lower()}"


def _quiet_broken_pipe() -> None:
    # The reader went away (`writein … | head`): say nothing, and keep Python's exit-time
    # flush from raising again (the way the Python docs recommend).
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _fail(message: str, code: int) -> int:
    # A message may quote input (a file name, a config value): shown through
    # render_untrusted, and its lines (a config's several problems) joined into one.
    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"writein: {render_untrusted(line, single_line=True)}", file=sys.stderr)
    return code


def run_commands(registers: Iterable[Register], argv: Sequence[str] | None) -> int:
    parser = build_parser(registers)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        result: int = func(args)
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_REFUSED
    except KeyboardInterrupt:
        if args.debug:
            raise
        return _fail("interrupted", EXIT_INTERRUPTED)
    except (WriteinError, StoreError, KeyFileError, CryptoError, OSError) as exc:
        if args.debug:
            raise
        if isinstance(exc, WriteinError):
            return _fail(str(exc), exc.exit_code)
        if isinstance(exc, StoreError):
            return _fail(f"the store refused: {exc}", EXIT_STORE)
        if isinstance(exc, KeyFileError | CryptoError):
            return _fail(str(exc) or "a key file could not be used", EXIT_KEY)
        return _fail(_os_error(exc), EXIT_REFUSED)
    return result


def run_group(register: Register, argv: Sequence[str] | None) -> int:
    """Run one room's subcommands on their own, exactly as the `writein` command would."""
    return run_commands((register,), argv)
