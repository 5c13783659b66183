"""The one `writein` command: subcommands for the relay, the console, admins and the simulator."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import version as dist_version

from bot.admin_cli import register as register_admin
from bot.config import ConfigError, load_config
from bot.demo import register as register_demo
from bot.passphrase import PassphraseError, get_passphrase
from bot.run import ENV_RELAY_PASSPHRASE, TokenError, run_relay
from bot.setup import SetupError, initialise
from bot.trust import TrustError
from crypto import CryptoError
from handlers.cli import register as register_console
from store import StoreError
from store.keyfiles import KeyFileError

USER_ERRORS = (
    ConfigError,
    PassphraseError,
    KeyFileError,
    StoreError,
    CryptoError,
    SetupError,
    TokenError,
    TrustError,
)
ENV_ADMIN_PASSPHRASE = "WRITEIN_ADMIN_PASSPHRASE"  # noqa: S105 (a variable name)


def _cmd_version(_args: argparse.Namespace) -> int:
    print(f"writein {dist_version('writein')}")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    admin = get_passphrase(
        env=ENV_ADMIN_PASSPHRASE, prompt="New admin (organisation key) passphrase: ", confirm=True
    )
    relay_file = config.relay.key_passphrase_file
    relay = get_passphrase(
        env=ENV_RELAY_PASSPHRASE,
        file=config.resolve(relay_file) if relay_file is not None else None,
        prompt="New relay key passphrase: ",
        confirm=True,
    )
    result = asyncio.run(initialise(config, admin_passphrase=admin, relay_passphrase=relay))
    print(f"writein is set up in {result.layout.data_dir}")
    print(f"organisation key: {result.layout.org_key} (move it offline after enrolling handlers)")
    print("put this fingerprint in every relay's and console's config, [trust] org_fingerprint:")
    print(f"  {result.org_fingerprint}")
    return 0


def _cmd_bot(args: argparse.Namespace) -> int:
    level = getattr(logging, args.log_level.upper())
    return asyncio.run(run_relay(load_config(args.config), log_level=level))


def _cmd_sim(args: argparse.Namespace) -> int:
    from telesim.__main__ import main as sim_main

    return sim_main(args.sim_args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="writein",
        description="writein: a secure two-way relay between Telegram sources and case officers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("version", help="print the writein version")
    p.set_defaults(func=_cmd_version)
    p = sub.add_parser("init", help="set up a relay: store, organisation key, relay keys")
    p.add_argument(
        "--config", help="the configuration file (default: $WRITEIN_CONFIG, ./writein.toml)"
    )
    p.set_defaults(func=_cmd_init)
    p = sub.add_parser("bot", help="run the relay until SIGINT/SIGTERM")
    p.add_argument("--config", help="the configuration file")
    p.add_argument(
        "--log-level",
        choices=("debug", "info", "warning"),
        default="info",
        help="how much to log (never content or Telegram ids; tokens are redacted)",
    )
    p.set_defaults(func=_cmd_bot)
    p = sub.add_parser(
        "sim", help="run the local Telegram Bot API simulator (options: writein sim -- --help)"
    )
    p.add_argument("sim_args", nargs=argparse.REMAINDER, help="options for the simulator")
    p.set_defaults(func=_cmd_sim)
    register_admin(sub)
    register_console(sub)
    register_demo(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        result: int = func(args)
    except USER_ERRORS as exc:  # one clear line, no traceback
        print(f"writein: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
