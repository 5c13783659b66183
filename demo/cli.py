"""`writein demo` and `writein sim`: the checked walkthrough, and the Telegram simulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core.subcommands import Parser, needing, run_group


def _cmd_demo(args: argparse.Namespace) -> int:
    with needing("relay,console", "demo"):
        from demo.steps import demo_command  # the relay, the console and telesim load here

    return demo_command(args)


def _cmd_sim(args: argparse.Namespace) -> int:
    import asyncio

    with needing("relay", "sim"):
        from telesim.__main__ import build_parser, parse_args, serve

    # `writein sim --port N` and `writein sim -- --port N` alike: everything after `sim`
    # is the simulator's, parsed by its own options (errors are one line, exit 2).
    parser = build_parser(prog="writein sim", parser_class=Parser)
    options = parse_args(args.sim_args, parser)
    try:
        return asyncio.run(serve(options))
    except ValueError as exc:  # a bad token
        parser.error(str(exc))


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
    # No option of its own (no prefix character can start one): every argument, `--port 1`
    # or `-- --port 1`, is handed to the simulator's parser in _cmd_sim.
    p = subparsers.add_parser(
        "sim",
        help="run the local Telegram Bot API simulator (options: writein sim --help)",
        add_help=False,
        prefix_chars="\0",
    )
    p.add_argument("sim_args", nargs="*", help="options for the simulator")
    p.set_defaults(func=_cmd_sim)


def main(argv: Sequence[str] | None = None) -> int:
    """``main(["demo", ...])``: run the demo as `writein demo` would."""
    return run_group(register, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["demo"]))
