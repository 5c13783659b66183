"""`writein demo` and `writein sim`: the checked walkthrough, and the Telegram simulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.subcommands import run_group


def _cmd_demo(args: argparse.Namespace) -> int:
    from demo.steps import demo_command  # the relay, the console and telesim load here

    return demo_command(args)


def _cmd_sim(args: argparse.Namespace) -> int:
    from telesim.__main__ import main as sim_main

    return sim_main(args.sim_args)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` and ``sim`` to the `writein` command's subcommands."""
    parser = subparsers.add_parser(
        "demo",
        help="the whole story on a simulated Telegram, in under a minute",
        description=(
            "Set up a throw-away relay, start the Telegram simulator, the relay and a "
            "scripted source, and show each step: onboarding, sealing, decryption in the "
            "console, a reply, the empty chat, a scan of the store for plaintext, key "
            "rotation. Needs no Telegram account and no network."
        ),
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="an empty or new folder for the demo's files (default: a new temporary folder)",
    )
    parser.set_defaults(func=_cmd_demo)
    p = subparsers.add_parser(
        "sim", help="run the local Telegram Bot API simulator (options: writein sim --help)"
    )
    p.add_argument("sim_args", nargs=argparse.REMAINDER, help="options for the simulator")
    p.set_defaults(func=_cmd_sim)


def main(argv: Sequence[str] | None = None) -> int:
    """``main(["demo", ...])``: run the demo as `writein demo` would."""
    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["demo"]))
