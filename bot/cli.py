"""`writein bot`: run the relay until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from core.config import load_config
from core.subcommands import needing, run_group


def _cmd_bot(args: argparse.Namespace) -> int:
    with needing("relay", "bot"):
        from bot.run import run_relay  # the relay and python-telegram-bot load only for `bot`

    level = getattr(logging, args.log_level.upper())
    return asyncio.run(run_relay(load_config(args.config), log_level=level))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bot`` to the `writein` command's subcommands."""
    p = subparsers.add_parser("bot", help="run the relay until SIGINT/SIGTERM")
    p.add_argument("--config", help="the configuration file")
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning"),
        default="info",
        help="how much to log (never content or Telegram ids; tokens are redacted)",
    )
    p.set_defaults(func=_cmd_bot)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bot`` on its own (as `writein bot` would)."""
    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main())
