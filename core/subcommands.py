"""The one border of the `writein` command: parse, run, and turn any failure into one line.

Each room's command module registers its subcommands on an argparse subparsers; the
`writein` dispatcher (writein/main.py) and each module's own ``main`` (tests, ``python -m``)
both run them through :func:`run_commands`, so every subcommand reports a user error the
same way: ``writein: <what went wrong and what to do>``, one line on stderr, and the exit
code of core.errors (ADR 0046). A bad argument is such a line too (exit 2). Output cut off
by its reader (``writein … | head``) ends the command quietly with exit 1. ``--debug``
shows the traceback instead. Warnings are ``writein: warning: …`` lines; the command
goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import select
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import Any, Final, NoReturn

from core.errors import (
    EXIT_INTERRUPTED,
    EXIT_KEY,
    EXIT_REFUSED,
    EXIT_STORE,
    EXIT_USAGE,
    WriteinError,
)
from core.untrusted import render_untrusted
from crypto import CryptoError
from store import SchemaError, StoreError, StoreMissingError, StoreUnavailableError, StoreURLError
from store.keyfiles import KeyFileError

__all__ = ["EPILOG", "Parser", "build_parser", "fail", "run_commands", "run_group", "warn"]

Register = Callable[["argparse._SubParsersAction[Any]"], None]

EPILOG = """\
exit codes: 0 done, 1 refused or failed, 2 bad usage or configuration, 3 key or
passphrase problem, 4 not certified, 5 store or data directory unreachable, 6 no such
case, 7 case not assigned to you, 130 interrupted. Errors are one line on stderr,
`writein: …`; --debug shows the traceback.
"""


def _version() -> str:
    try:
        return dist_version("writein")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is one ``writein: …`` line too (exit 2)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see `{self.prog} --help`)")
        self.exit(EXIT_USAGE)


def build_parser(registers: Iterable[Register]) -> argparse.ArgumentParser:
    parser = Parser(
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


class MissingExtraError(WriteinError):
    """A subcommand whose packages this install left out (the relay's on an officer's
    machine, say): one line that names the extra to install."""

    exit_code = EXIT_USAGE


@contextlib.contextmanager
def needing(extra: str, command: str) -> Iterator[None]:
    """Run ``command``'s imports; a package of ``extra`` missing is one clear line."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _EXTRA_PACKAGES:
            raise
        raise MissingExtraError(
            f"`writein {command}` needs packages this install does not have ({exc.name}): "
            f"pip install 'writein[{extra}]'"
        ) from None


#: Top-level modules that only the optional extras bring (pyproject.toml).
_EXTRA_PACKAGES = frozenset({"telegram", "PIL", "pikepdf", "lxml", "pillow_heif", "textual"})


#: How long one error line may be before it is shortened (a hostile value in it, say).
_MESSAGE_CHARS: Final = 1000


def fail(message: str) -> int:
    """Print ``writein: <message>`` as one line on stderr; returns EXIT_REFUSED.

    A message may quote input (a file name, a config value): it is shown through
    render_untrusted, and its lines (a config's several problems) are joined into one.
    """
    line = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    # Longer than a screen line may be: a deep path must not cut off what to do.
    text = render_untrusted(line, single_line=True, max_chars=_MESSAGE_CHARS)
    print(f"writein: {text}", file=sys.stderr)
    return EXIT_REFUSED


def warn(message: str) -> None:
    """``writein: warning: <message>``: something to know; the command goes on."""
    fail(f"warning: {message}")


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    reason = (exc.strerror or type(exc).__name__).lower()
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}{reason}; check that it belongs to this user and is writable"
    return f"{where}{reason}"


def _describe(exc: Exception) -> tuple[str, int]:
    """The line and exit code for an error a person can act on (core.errors)."""
    if isinstance(exc, WriteinError):
        return str(exc) or type(exc).__name__, exc.exit_code
    if isinstance(exc, StoreMissingError | SchemaError):
        return str(exc), EXIT_STORE
    if isinstance(exc, StoreURLError):
        return f"store.url: {exc}", EXIT_STORE
    if isinstance(exc, StoreUnavailableError):
        return f"the store is unreachable: {exc}", EXIT_STORE
    if isinstance(exc, StoreError):
        return f"the store refused: {exc}", EXIT_REFUSED
    if isinstance(exc, KeyFileError | CryptoError):
        return str(exc) or "a key file could not be used", EXIT_KEY
    assert isinstance(exc, OSError)
    return _os_error(exc), EXIT_REFUSED


def _output_closed() -> bool:
    """Whether stdout is a pipe whose reader went away (and not some other broken pipe)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _quiet_broken_pipe() -> None:
    # The reader went away (`writein … | head`): say nothing, and keep Python's exit-time
    # flush from raising again (the way the Python docs recommend).
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _flush_stdout() -> None:
    # Output to a pipe is buffered: a reader that went away shows here, inside the border,
    # rather than as an "Exception ignored" at the interpreter's exit.
    sys.stdout.flush()


def _parser_exit(exc: SystemExit) -> int:
    """The exit code argparse asked for, once what it printed is out."""
    _flush_stdout()
    code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if code == 0 and _output_closed():  # argparse swallows a failed write: ask the pipe
        raise BrokenPipeError
    return code


def run_commands(registers: Iterable[Register], argv: Sequence[str] | None) -> int:
    """Parse ``argv``, run the subcommand, and return its exit code (never a traceback
    for an error a person can act on, unless ``--debug``)."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        return _run(build_parser(registers), argv)
    except BrokenPipeError as exc:
        if not _output_closed():
            if debug:
                raise
            fail(_os_error(exc))
            return EXIT_REFUSED
        _quiet_broken_pipe()
        return EXIT_REFUSED


def _run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error, already printed
        return _parser_exit(exc)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        result: int = func(args)
        _flush_stdout()
    except SystemExit as exc:  # a subcommand's own parser (writein sim): help or an error
        return _parser_exit(exc)
    except KeyboardInterrupt:
        if args.debug:
            raise
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except (WriteinError, StoreError, KeyFileError, CryptoError, OSError) as exc:
        if args.debug:
            raise
        message, code = _describe(exc)
        fail(message)
        return code
    return result


def run_group(register: Register, argv: Sequence[str] | None) -> int:
    """Run one room's subcommands on their own, exactly as the `writein` command would."""
    return run_commands((register,), argv)
