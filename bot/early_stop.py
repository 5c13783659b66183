"""`writein bot`'s first lines: catch SIGTERM and SIGINT before anything heavy loads.

Importing the relay (python-telegram-bot, cryptography, Pillow) and unlocking its keys
take a second or more. A service manager may stop the relay during that time; Python's
default would then die with -15 or a KeyboardInterrupt traceback. Until the relay's own
event loop takes the signals over, they only set :data:`STOP_REQUESTED`, which every
start-up step checks, so a stop at any moment is a clean exit 0.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

STOP_REQUESTED = threading.Event()
_LISTENERS: list[Callable[[], object]] = []


def _request_stop(signum: int, frame: FrameType | None) -> None:
    STOP_REQUESTED.set()
    for listener in _LISTENERS:
        listener()


def install_early_stop() -> None:
    """From now on SIGTERM and SIGINT only request a stop (idempotent)."""
    # SIGTERM last: a test that sees it caught (/proc SigCgt) knows SIGINT is caught too.
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not _request_stop:
            signal.signal(sig, _request_stop)


def on_stop(listener: Callable[[], object]) -> None:
    """Call ``listener`` (from the signal handler, in the main thread) on a stop request."""
    _LISTENERS.append(listener)
