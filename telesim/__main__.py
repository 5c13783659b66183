"""``python -m telesim``: run the simulator standalone until interrupted.

Prints ``base_url=...``, ``base_file_url=...``, ``control_url=...`` and ``token=...``
lines on stdout for the bot (and scripts) to pick up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from telesim._simulator import DEFAULT_TOKEN, TelegramSimulator


def build_parser(
    prog: str = "python -m telesim",
    parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """The simulator's options; ``writein sim`` builds it with its own name and error style."""
    parser = parser_class(
        prog=prog,
        description="A local Telegram Bot API simulator. Nothing leaves the machine.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to bind; 0 picks a free one")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token to accept")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and random faults")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="ID:FIRST_NAME[:USERNAME[:LANGUAGE]]",
        help="create a simulated user (repeatable)",
    )
    parser.add_argument(
        "--no-strict",
        action="store_true",
        help="do not check the simulator's own answers against api.json",
    )
    parser.add_argument(
        "--no-control-api",
        action="store_true",
        help="do not serve the JSON control API under /_sim/",
    )
    parser.add_argument(
        "--allow-remote-webhooks",
        action="store_true",
        help="deliver webhooks to non-loopback hosts too",
    )
    return parser


def _user_args(spec: str) -> tuple[int, str, str | None, str | None]:
    parts = spec.split(":")
    if not 2 <= len(parts) <= 4 or not parts[0].isdigit() or not parts[1]:
        raise ValueError(f"--user {spec!r}: expected ID:FIRST_NAME[:USERNAME[:LANGUAGE]]")
    parts += [""] * (4 - len(parts))
    return int(parts[0]), parts[1], parts[2] or None, parts[3] or None


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    """Run until ``stop`` is set (or SIGINT/SIGTERM)."""
    users = [_user_args(spec) for spec in args.user]
    sim = TelegramSimulator(
        args.token,
        host=args.host,
        port=args.port,
        seed=args.seed,
        strict=not args.no_strict,
        allow_remote_webhooks=args.allow_remote_webhooks,
        control_api=not args.no_control_api,
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await sim.start()
    try:
        for user_id, first_name, username, language in users:
            sim.add_user(
                id=user_id, first_name=first_name, username=username, language_code=language
            )
        print(f"base_url={sim.base_url}")
        print(f"base_file_url={sim.base_file_url}")
        print(f"control_url={sim.control_url}")
        print(f"token={sim.token}", flush=True)
        print(
            f"telesim ({sim.world.spec.version}) is serving on {sim.url}; Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
    finally:
        await sim.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
    return 0


def parse_args(
    argv: Sequence[str] | None, parser: argparse.ArgumentParser | None = None
) -> argparse.Namespace:
    """The options in ``argv``, checked (a bad one exits through ``parser.error``)."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    for spec in args.user:
        try:
            _user_args(spec)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m telesim``."""
    parser = build_parser()
    args = parse_args(argv, parser)
    try:
        return asyncio.run(serve(args))
    except ValueError as exc:  # a bad token
        parser.error(str(exc))
    except OSError as exc:
        print(f"telesim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
