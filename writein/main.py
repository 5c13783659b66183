"""`writein`: catch a stop early for the relay, then hand the arguments to a room's command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.early_stop import STOP_REQUESTED, install_early_stop


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Only the long-running relay defers a stop; every other subcommand keeps Python's
    # ordinary Ctrl-C (an interactive prompt must stay interruptible).
    if args[:1] == ["bot"]:
        install_early_stop()
    # The heavy imports start here.
    from admin.cli import register as register_admin
    from bot.cli import register as register_relay
    from core.subcommands import run_commands
    from demo.cli import register as register_demo
    from gateway.cli import register as register_gateway
    from handlers.cli import register as register_console

    if STOP_REQUESTED.is_set():
        return 0
    registers = (register_relay, register_admin, register_console, register_gateway, register_demo)
    return run_commands(registers, args)
