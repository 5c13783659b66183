"""The one `writein` command: subcommands for the relay, the console, admins and the simulator."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import version as dist_version


def _cmd_version(_args: argparse.Namespace) -> int:
    print(f"writein {dist_version('writein')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="writein",
        description="writein: a secure two-way relay between Telegram sources and case officers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("version", help="print the writein version")
    p.set_defaults(func=_cmd_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    result: int = func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
