"""The relay: durable intake from Telegram, the dialogue, and the delivery workers.

Durable intake (DESIGN.md): python-telegram-bot's Updater confirms updates before they are
handled, so the relay fetches them itself. Each raw update is sealed into the inbox in one
transaction together with the next offset; only then does the next getUpdates confirm
them. Inbox rows are processed one by one; a row's state change and its deletion commit
together, and a processed update id is remembered, so a crash at any point neither loses
nor duplicates anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from bot.admin import TRUST_CHANGED_SETTING
from bot.config import Config
from bot.conversation import Conversation
from bot.delivery import Clock, Delivery, Pace, backoff, utc_now
from bot.i18n import catalog
from bot.incoming import MalformedUpdate, parse_update
from bot.keyring import KeyRingFile, RelayKeyRing, file_stamp
from bot.phrase import DEFAULT_PARAMS, Argon2Params
from bot.refs import open_update, seal_update
from bot.retention import retention_loop
from bot.sealing import NoRecipients
from bot.telegram_io import TelegramIO
from bot.trust import Trust, load_trust
from bot.webhook import WebhookServer, new_secret_token
from crypto import CryptoError
from store import Store
from store.keyfiles import read_key_file

log = logging.getLogger("writein.relay")

OFFSET_SETTING = "telegram.offset"
# The key set version the running relay uses: a rotation waits for it before re-sealing.
KEY_VERSION_SETTING = "relay.key_version"
KEY_CHECK_SECONDS = 2.0
HOUSEKEEPING_SECONDS = 300.0
# Telegram keeps an unconfirmed update for 24 h: remembering processed ids for a week
# covers any replay.
PROCESSED_RETENTION = timedelta(days=7)
MENU_COMMANDS = ("start", "status", "recover", "language", "forget", "help")
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
TRUST_TTL = 10.0
MAX_ATTEMPTS_PER_UPDATE = 5
SHUTDOWN_GRACE_SECONDS = 10.0


class Relay:
    def __init__(
        self,
        config: Config,
        store: Store,
        ring: RelayKeyRing,
        bot: Bot,
        *,
        phrase_params: Argon2Params = DEFAULT_PARAMS,
        clock: Clock = utc_now,
        backoff: Callable[[int], timedelta] = backoff,
        pace: Pace | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.ring = ring
        self.bot = bot
        self._trust: Trust | None = None
        self._trust_at = 0.0
        self._trust_marker: str | None = None
        self._failures: dict[int, int] = {}
        self.conversation = Conversation(
            config, store, ring, self.trust, bot, phrase_params=phrase_params, clock=clock
        )
        self.delivery = Delivery(
            store, ring, self.trust, TelegramIO(bot), clock=clock, backoff=backoff, pace=pace
        )
        self._wake = asyncio.Event()
        # The raw JSON of getUpdates is what gets sealed into the inbox, so PTB must not parse
        # it first (one malformed update would then block its whole batch); PTB warns that
        # get_updates exists. Silence exactly that advice.
        warnings.filterwarnings(
            "ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning
        )

    def use_keys(self, ring: RelayKeyRing) -> None:
        """Switch to a new key ring without a restart (after an admin's rotation)."""
        self.ring = ring
        self.conversation.ring = ring
        self.delivery.ring = ring
        self._trust = None  # a rotation also publishes new certificates

    def use_bot(self, bot: Bot) -> None:
        """Talk to Telegram through another Bot (a new token after BotFather's /revoke)."""
        self.bot = bot
        self.conversation.bot = bot
        self.conversation.io.bot = bot
        self.delivery.io.bot = bot

    async def announce_keys(self) -> None:
        await self.store.set_setting(KEY_VERSION_SETTING, str(self.ring.current.version))

    async def trust(self) -> Trust:
        """The certified keys: re-read at once after an admin changed them (the admin
        commands bump a marker), and every few seconds regardless."""
        now = time.monotonic()
        marker = await self.store.get_setting(TRUST_CHANGED_SETTING)
        stale = self._trust is None or now - self._trust_at > TRUST_TTL
        if stale or marker != self._trust_marker:
            self._trust = await load_trust(self.store, self.config.trust.org_fingerprint)
            self._trust_at = now
            self._trust_marker = marker
        assert self._trust is not None
        return self._trust

    # -- intake ---------------------------------------------------------------------------

    async def fetch(self, wait_seconds: int | None = None) -> int:
        """One getUpdates round: seal what arrives into the inbox, then move the offset."""
        offset = int(await self.store.get_setting(OFFSET_SETTING) or 0)
        wait = self.config.telegram.poll_timeout_seconds if wait_seconds is None else wait_seconds
        params = {"offset": offset, "timeout": wait, "allowed_updates": list(ALLOWED_UPDATES)}
        raw = await self.bot.do_api_request("getUpdates", api_kwargs=params, read_timeout=wait + 10)
        updates = [u for u in raw if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        if updates:
            await self.ingest(updates)
        return len(updates)

    async def ingest(self, updates: Sequence[dict[str, object]]) -> None:
        """Seal raw updates into the inbox and advance the offset, in one transaction."""
        async with self.store.transaction() as tx:
            top = int(await tx.get_setting(OFFSET_SETTING) or 0)
            for update in updates:
                update_id = int(update["update_id"])  # type: ignore[call-overload]
                raw = json.dumps(update, separators=(",", ":")).encode("utf-8")
                await tx.put_inbox(update_id, seal_update(self.ring, update_id, raw))
                top = max(top, update_id + 1)
            await tx.set_setting(OFFSET_SETTING, str(top))
        self._wake.set()

    async def process_inbox(self) -> int:
        """Handle every pending inbox row, oldest first; returns how many were handled."""
        handled = 0
        while rows := await self.store.list_inbox(limit=50):
            for row in rows:
                await self._process(row.update_id, row.sealed_update)
                handled += 1
        return handled

    async def _process(self, update_id: int, sealed: bytes) -> None:
        turn = None
        try:
            incoming = parse_update(open_update(self.ring, update_id, sealed), self.bot)
            if incoming is not None:
                turn = await self.conversation.handle(incoming)
        except NoRecipients:
            log.error("no certified handler can read case intake: enrol a handler; update kept")  # noqa: TRY400
            raise
        except (CryptoError, MalformedUpdate) as exc:
            # Not an update the relay can use: dropped, never retried, content never logged.
            log.warning("update %d dropped: %s", update_id, type(exc).__name__)
        except Exception as exc:
            # A network error while handling (e.g. a download) deserves a retry; anything
            # else that keeps failing must not hold up every later update.
            failures = self._failures.get(update_id, 0) + 1
            self._failures[update_id] = failures
            if failures < MAX_ATTEMPTS_PER_UPDATE:
                log.warning("update %d failed (%s), will retry", update_id, type(exc).__name__)
                raise
            # Only the exception's type is logged: its text could quote content.
            name = type(exc).__name__
            log.error("update %d dropped after %d failures: %s", update_id, failures, name)  # noqa: TRY400
        self._failures.pop(update_id, None)
        async with self.store.transaction() as tx:
            if turn is not None:
                for write in turn.writes:
                    await write(tx)
            await tx.finish_inbox(update_id)
        if turn is not None:
            for effect in turn.effects:
                try:
                    await effect()
                except TelegramError as exc:
                    log.warning("telegram effect failed: %s", type(exc).__name__)

    # -- the loops -----------------------------------------------------------------------

    async def run(
        self,
        stop: asyncio.Event,
        keyfile: KeyRingFile | None = None,
        webhook_secret: str | None = None,
        tokens: TokenFile | None = None,
    ) -> None:
        """Poll (or listen for webhooks), process and deliver until ``stop`` is set."""
        hook = self.config.telegram.webhook
        server: WebhookServer | None = None
        if self.config.telegram.mode == "webhook":
            secret = webhook_secret or new_secret_token()
            server = WebhookServer(hook.listen, hook.port, hook.path, secret, self.ingest)
            await server.start()
            await self.bot.set_webhook(
                hook.url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        else:
            await self.bot.delete_webhook(drop_pending_updates=False)
        await self.announce_keys()
        await self.publish_commands()
        await self.process_inbox()  # what a crash left behind
        tasks = [
            asyncio.create_task(self._process_loop(stop), name="process"),
            asyncio.create_task(self._delivery_loop(stop), name="delivery"),
            asyncio.create_task(self._housekeeping_loop(stop), name="housekeeping"),
        ]
        if self.config.retention.days:
            tasks.append(
                asyncio.create_task(retention_loop(self.store, self.config, stop), name="retention")
            )
        if server is None:
            tasks.append(asyncio.create_task(self._poll_loop(stop), name="poll"))
        if keyfile is not None:
            tasks.append(asyncio.create_task(self._keys_loop(stop, keyfile), name="keys"))
        if tokens is not None:
            tasks.append(asyncio.create_task(self._token_loop(stop, tokens), name="token"))
        try:
            await stop.wait()
        finally:
            if server is not None:
                await server.stop()  # Telegram keeps what we did not answer 200 to
            # The worker loops see ``stop`` and finish the item in hand: a reply already
            # sent is recorded as sent, not sent again after the restart. The rest (a long
            # poll, timers) is cancelled at once.
            finishing = [t for t in tasks if t.get_name() in ("process", "delivery")]
            for task in tasks:
                if task not in finishing:
                    task.cancel()
            await asyncio.wait(finishing, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in finishing:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll_loop(self, stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                await self.fetch()
                delay = 1.0
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed: %s; retrying in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
            except TelegramError as exc:
                # E.g. InvalidToken after BotFather's /revoke, until set-token swaps it in.
                log.error("getUpdates refused: %s; retrying in %.0f s", type(exc).__name__, delay)  # noqa: TRY400
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _process_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            self._wake.clear()
            try:
                await self.process_inbox()
            except NoRecipients:
                await asyncio.sleep(5.0)
            except Exception:
                await asyncio.sleep(1.0)

    async def _delivery_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            busy = await self.delivery.deliver_one()
            await self.delivery.delete_due()
            if not busy:
                await asyncio.sleep(0.2)

    async def _token_loop(self, stop: asyncio.Event, tokens: TokenFile) -> None:
        while not stop.is_set():
            await asyncio.sleep(KEY_CHECK_SECONDS)
            try:
                bot = await tokens.changed()
            except (OSError, TelegramError, ValueError) as exc:
                log.warning("new token not usable yet: %s", type(exc).__name__)
                continue
            if bot is not None:
                old, self.bot = self.bot, bot
                self.use_bot(bot)
                log.info("switched to a new bot token")
                with contextlib.suppress(TelegramError):
                    await old.shutdown()

    async def publish_commands(self) -> None:
        """The command menu, in each language the relay offers."""
        for lang in self.config.relay.languages:
            t = catalog(lang)
            commands = [(name, t.plain(f"command.{name}")) for name in MENU_COMMANDS]
            try:
                await self.bot.set_my_commands(
                    commands, language_code=None if lang == "en" else lang
                )
            except TelegramError as exc:
                log.warning("command menu not set: %s", type(exc).__name__)

    async def housekeeping(self) -> None:
        """Forget expired dialogues and old processed update ids."""
        await self.store.delete_expired_dialogues()
        before = datetime.now(UTC).date() - PROCESSED_RETENTION
        await self.store.prune_processed_updates(before=before)

    async def _housekeeping_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.housekeeping()
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    async def _keys_loop(self, stop: asyncio.Event, keyfile: KeyRingFile) -> None:
        while not stop.is_set():
            await asyncio.sleep(KEY_CHECK_SECONDS)
            try:
                ring = keyfile.changed()
            except (OSError, CryptoError, ValueError) as exc:
                log.warning(
                    "key ring file unreadable, keeping current keys: %s", type(exc).__name__
                )
                continue
            if ring is not None:
                self.use_keys(ring)
                await self.announce_keys()
                log.info("switched to relay key set v%d", ring.current.version)


class TokenFile:
    """The token file a running relay watches: `writein admin set-token` replaces it."""

    def __init__(self, path: Path, make_bot: Callable[[str], Bot], on_token: Callable[[str], None]):
        self.path = path
        self._make_bot = make_bot
        self._on_token = on_token
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int]:
        return file_stamp(self.path)

    async def changed(self) -> Bot | None:
        stamp = self._stamp()
        if stamp == self._seen:
            return None
        token = read_key_file(self.path).decode("ascii").strip()
        self._on_token(token)  # redacted from the logs before it is ever used
        bot = self._make_bot(token)
        await bot.initialize()  # getMe: a bad token fails here, the old one stays in use
        self._seen = stamp
        return bot


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
