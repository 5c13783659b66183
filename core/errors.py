"""The root of every error writein reports to a person, and its exit codes.

Each room raises its own subclasses; the one CLI border (core.subcommands) prints
``writein: <message>`` (one line, never a traceback unless ``--debug``) and exits with the
class's ``exit_code``. The convention, shared by every subcommand (ADR 0046)::

    0    done
    1    refused or failed (anything below that has no code of its own)
    2    usage: bad arguments or input, a missing or unsafe configuration
    3    a key problem: no key file, unsafe mode, wrong passphrase (says whose)
    4    not certified: key not enrolled or revoked, organisation key not the pinned one
    5    the store or the data directory is unreachable, missing, locked, damaged, newer
         than this writein, or another user's
    6    no such case, attachment or handler
    7    the case is not assigned to this officer
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_KEY",
    "EXIT_NOT_CERTIFIED",
    "EXIT_REFUSED",
    "EXIT_STORE",
    "EXIT_USAGE",
    "WriteinError",
]

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_KEY = 3
EXIT_NOT_CERTIFIED = 4
EXIT_STORE = 5
EXIT_INTERRUPTED = 130


class WriteinError(Exception):
    """Something a person must act on; ``str(exc)`` is one line that says what to do."""

    exit_code: ClassVar[int] = EXIT_REFUSED
