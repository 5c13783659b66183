"""`writein bot`: run the relay until SIGINT/SIGTERM, then shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
import threading

from telegram import Bot
from telegram.error import TelegramError

from admin.keyring import KeyRingFile
from admin.setup import Layout, check_data_dir
from bot.early_stop import STOP_REQUESTED, install_early_stop, on_stop
from bot.logsafety import setup_logging
from bot.offload import argon2_work
from bot.relay import Relay, TokenFile
from bot.supervise import TaskFailed, retry_until_done
from bot.transport import AiohttpRequest
from core.config import Config
from core.errors import WriteinError
from core.passphrase import RELAY, get_passphrase
from core.settings import ENV_RELAY_PASSPHRASE
from store import open_store
from store.keyfiles import read_key_file

log = logging.getLogger("writein.relay")
ENV_TOKEN = "WRITEIN_BOT_TOKEN"  # noqa: S105 (a variable name, not a secret)
SWITCH_INTERVAL_SECONDS = 0.0005


class TokenError(WriteinError):
    """No bot token could be read."""


class TelegramUnreachableError(WriteinError):
    """getMe failed at start-up as often as ``telegram.start_attempts`` allows (exit 1)."""


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
) -> int:
    """Run the relay; 0 after a stop (SIGTERM, SIGINT or ``stop``), 1 if a task gave up.

    A stop is honoured at every point of start-up: the signals are caught from the first
    line of the `writein` command on (writein/main.py), and each step below checks for one.
    Raises a WriteinError (one line at the command's border) for what a person must fix:
    the data directory, the token, the relay passphrase, a Telegram never reached.
    """
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    # SQLite runs on aiosqlite's thread: every store call is a hand-over of the GIL, which
    # a busy event loop would otherwise keep for up to 5 ms each time.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    token = read_token(config)
    check_data_dir(config.data_dir)
    formatter = setup_logging(log_level, secrets=[token])
    log.info("relay starting")
    if stop.is_set():
        return _stopped()
    relay_file = config.relay.key_passphrase_file
    passphrase = get_passphrase(
        env=ENV_RELAY_PASSPHRASE,
        file=config.resolve(relay_file) if relay_file is not None else None,
        whose=RELAY,
    )
    keyfile = KeyRingFile(Layout(config.data_dir).relay_key, passphrase)
    log.info("unlocking the relay key ring")
    # Argon2id at production cost: off the loop (bot/offload.py), so a stop is seen meanwhile.
    ring = await argon2_work(keyfile.load)
    log.info("relay key ring unlocked")
    if stop.is_set():
        return _stopped()

    def make_bot(value: str) -> Bot:
        telegram = config.telegram
        return Bot(
            value,
            base_url=telegram.base_url,
            base_file_url=telegram.base_file_url,
            request=AiohttpRequest(),
            get_updates_request=AiohttpRequest(connections=1),
        )

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
        # getMe: retried with the relay's backoff, but not for ever (ADR 0073): a relay
        # that never reached Telegram exits 1 with one line, for the service manager.
        attempts = config.telegram.start_attempts
        backoff = dataclasses.replace(relay.supervision, give_up_after=attempts)
        try:
            started = await retry_until_done("start", bot.initialize, stop, backoff)
        except TaskFailed as exc:
            await _shutdown(bot)
            raise TelegramUnreachableError(
                f"Telegram did not answer at start-up ({attempts} tries of getMe at "
                f"[telegram] base_url, the last: {exc.cause_name}): check base_url, the "
                "network and the token; exiting with 1 for the service manager to restart"
            ) from None
        if not started:
            return _stopped()  # getMe never answered before the stop
        try:
            log.info("relay running (key set v%d)", ring.current.version)
            await relay.run(stop, keyfile, webhook_secret=_webhook_secret(config), tokens=tokens)
        except TaskFailed as exc:
            log.critical(
                "relay stopped: %s; exiting with 1 so that the service manager restarts it", exc
            )
            return 1
        finally:
            await _shutdown(relay.bot)
            if relay.bot is not bot:
                await _shutdown(bot)
    return _stopped()


def _stopped() -> int:
    log.info("relay stopped")
    return 0


async def _shutdown(bot: Bot) -> None:
    with contextlib.suppress(TelegramError, RuntimeError):
        await bot.shutdown()


def _stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop``, including one that came before the loop started."""
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        install_early_stop()  # when run without writein/main.py (tests, benches)
        on_stop(lambda: loop.call_soon_threadsafe(stop.set))
    if STOP_REQUESTED.is_set():
        stop.set()
