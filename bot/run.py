"""`writein bot`: run the relay until SIGINT/SIGTERM, then shut down cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from telegram import Bot

from bot.config import Config
from bot.keyring import KeyRingFile
from bot.logsafety import setup_logging
from bot.passphrase import get_passphrase
from bot.relay import Relay, TokenFile
from bot.setup import Layout
from store import open_store
from store.keyfiles import read_key_file

log = logging.getLogger("writein.relay")
ENV_TOKEN = "WRITEIN_BOT_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_RELAY_PASSPHRASE = "WRITEIN_RELAY_PASSPHRASE"  # noqa: S105


class TokenError(Exception):
    """No bot token could be read."""


def read_token(config: Config) -> str:
    """The bot token from telegram.token_file (mode 0600), else $WRITEIN_BOT_TOKEN."""
    if config.telegram.token_file is not None:
        token = read_key_file(config.resolve(config.telegram.token_file)).decode().strip()
    else:
        token = os.environ.get(ENV_TOKEN, "").strip()
    if not token:
        raise TokenError(f"no bot token: set telegram.token_file or {ENV_TOKEN}")
    return token


def _webhook_secret(config: Config) -> str | None:
    """The webhook secret from its file (mode 0600); None means a fresh one per start."""
    path = config.telegram.webhook.secret_token_file
    return read_key_file(config.resolve(path)).decode().strip() if path is not None else None


async def run_relay(
    config: Config, *, stop: asyncio.Event | None = None, log_level: int = logging.INFO
) -> None:
    token = read_token(config)
    formatter = setup_logging(log_level, secrets=[token])
    relay_file = config.relay.key_passphrase_file
    passphrase = get_passphrase(
        env=ENV_RELAY_PASSPHRASE,
        file=config.resolve(relay_file) if relay_file is not None else None,
    )
    keyfile = KeyRingFile(Layout(config.data_dir).relay_key, passphrase)
    ring = keyfile.load()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def make_bot(value: str) -> Bot:
        telegram = config.telegram
        return Bot(value, base_url=telegram.base_url, base_file_url=telegram.base_file_url)

    bot = make_bot(token)
    token_file = config.telegram.token_file
    tokens = (
        TokenFile(config.resolve(token_file), make_bot, formatter.add_secret)
        if token_file is not None
        else None
    )
    async with await open_store(config.store_url) as store:
        relay = Relay(config, store, ring, bot)
        trust = await relay.trust()
        if not trust.handlers:
            log.warning("no certified handler yet: intake waits until one is enrolled")
        async with bot:
            log.info("relay running (key set v%d)", ring.current.version)
            await relay.run(stop, keyfile, webhook_secret=_webhook_secret(config), tokens=tokens)
            if relay.bot is not bot:
                await relay.bot.shutdown()
    log.info("relay stopped")
