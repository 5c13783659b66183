"""Running one group of `writein` subcommands on its own (tests, `python -m`), exactly as
the `writein` command would: each group registers itself on an argparse subparsers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

Register = Callable[["argparse._SubParsersAction[Any]"], None]


def run_group(register: Register, argv: Sequence[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="writein")
    register(parser.add_subparsers(dest="command", metavar="COMMAND"))
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = func(args)
    return result
