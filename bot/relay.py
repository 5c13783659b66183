"""The relay: durable intake from Telegram, the dialogue, and the delivery workers.

Durable intake (DESIGN.md): python-telegram-bot's Updater confirms updates before they are
handled, so the relay fetches them itself. Each raw update is sealed into the inbox in one
transaction together with the next offset; only then does the next getUpdates confirm
them. Inbox rows are processed one by one; a row's state change and its deletion commit
together, and a processed update id is remembered, so a crash at any point neither loses
nor duplicates anything.

Every loop runs supervised (bot/supervise.py): a failure is logged and retried with
backoff while the other loops go on, and one that cannot recover stops the relay with a
non-zero exit for the service manager to restart it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from admin.keyring import KeyRingFile, RelayKeyRing, file_stamp
from admin.retention import retention_step
from admin.roster import discrepancies
from admin.setup import Layout
from bot.conversation import Conversation
from bot.delivery import Clock, Delivery, backoff, utc_now
from bot.inbox_keys import InboxKeys
from bot.incoming import Incoming, MalformedUpdate, parse_update
from bot.offload import argon2_work
from bot.outgoing import ACK_QUIET_SECONDS, Outgoing
from bot.pace import Pace
from bot.sealing import NoRecipients
from bot.supervise import Backoff, TaskFailed, retry_until_done, supervise
from bot.telegram_io import CallStats, TelegramIO, retry_after_seconds
from bot.turn import Turn
from bot.webhook import WebhookServer, new_secret_token
from core.config import Config
from core.i18n import catalog
from core.roster import HeadMemory, RosterError
from core.settings import KEY_VERSION_SETTING, OFFSET_SETTING, TRUST_CHANGED_SETTING
from core.trust import Trust, load_trust
from crypto import DEFAULT_ARGON2, Argon2Params, CryptoError
from store import Store, StoreError
from store.keyfiles import read_key_file

log = logging.getLogger("writein.relay")

KEY_CHECK_SECONDS = 2.0
HOUSEKEEPING_SECONDS = 300.0
# Telegram keeps an unconfirmed update for 24 h: remembering processed ids for a week
# covers any replay.
PROCESSED_RETENTION = timedelta(days=7)
MENU_COMMANDS = ("start", "status", "recover", "language", "forget", "verify", "panic", "help")
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
TRUST_TTL = 10.0
#: How often a relay whose roster does not verify tries again (alarming each time).
ROSTER_RETRY_SECONDS = 5.0
MAX_ATTEMPTS_PER_UPDATE = 5
INBOX_PAGE = 50
#: Inbox rows read to see which epoch keys are still needed (ADR 0083).
INBOX_KEYS_SCAN = 1000
SHUTDOWN_GRACE_SECONDS = 10.0
# How long the workers rest when there was nothing to do. Replies are written by consoles
# in other processes, so the outbox is looked at on a timer; deletions also wake at once
# when a turn scheduled one.
OUTBOX_IDLE_SECONDS = 0.2
DELETIONS_IDLE_SECONDS = 1.0
DELETIONS_GATHER_SECONDS = 0.05
TASK_BACKOFF = Backoff()


class Relay:
    def __init__(
        self,
        config: Config,
        store: Store,
        ring: RelayKeyRing,
        bot: Bot,
        *,
        phrase_params: Argon2Params = DEFAULT_ARGON2,
        clock: Clock = utc_now,
        backoff: Callable[[int], timedelta] = backoff,
        pace: Pace | None = None,
        supervision: Backoff = TASK_BACKOFF,
        io: TelegramIO | None = None,
        ack_quiet: float = ACK_QUIET_SECONDS,
    ) -> None:
        self.config = config
        self.store = store
        self.ring = ring
        self.bot = bot
        self.supervision = supervision
        self._trust: Trust | None = None
        self._head = HeadMemory(Layout(config.data_dir).roster_head)
        self.inbox_keys = InboxKeys.load(Layout(config.data_dir).inbox_keys, ring)
        self._last_alarm = ""
        self._rows_alarmed: set[str] = set()
        self._trust_at = 0.0
        self._trust_marker: str | None = None
        self._failures: dict[int, int] = {}
        # One pace and one set of counters for every call the relay makes to Telegram.
        self.io = io or TelegramIO(bot, pace=pace, stats=CallStats())
        if pace is not None:
            self.io.pace = pace
        self.outgoing = Outgoing(quiet=ack_quiet)
        self.conversation = Conversation(
            config,
            store,
            ring,
            self.trust,
            bot,
            io=self.io,
            phrase_params=phrase_params,
            clock=clock,
        )
        self.delivery = Delivery(
            store, ring, self.trust, self.io, clock=clock, backoff=backoff, replies=config.relay
        )
        self.conversation.on_chat_cleared = self.delivery.chat_cleared
        self._wake = asyncio.Event()
        self._deletions_due = asyncio.Event()
        self._poll_failures = 0
        self._process_failures = 0
        self._in_page = False
        self._trust_checked = False
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
        self.inbox_keys.use_ring(ring)  # before a rotation can destroy the old at-rest key
        self._trust = None  # a rotation also publishes new certificates

    def use_bot(self, bot: Bot) -> None:
        """Talk to Telegram through another Bot (a new token after BotFather's /revoke)."""
        self.bot = bot
        self.conversation.bot = bot
        self.io.bot = bot

    async def announce_keys(self) -> None:
        await self.store.set_setting(KEY_VERSION_SETTING, str(self.ring.current.version))

    async def trust(self) -> Trust:
        """The certified keys: re-read at once after an admin changed them (the admin
        commands bump a marker), and every few seconds regardless."""
        now = time.monotonic()
        trust = self._trust
        fresh = trust is not None and now - self._trust_at <= TRUST_TTL
        if trust is not None and fresh and self._trust_checked:
            return trust  # checked once already for this page of the inbox
        marker = await self.store.get_setting(TRUST_CHANGED_SETTING)
        self._trust_checked = self._in_page
        # Read again after the await: a key rotation (use_keys) may have dropped it meanwhile.
        trust = self._trust
        if trust is None or not fresh or marker != self._trust_marker:
            try:
                trust = await load_trust(
                    self.store,
                    self.config.trust.org_fingerprint,
                    previous=trust,
                    memory=self._head,
                )
            except RosterError as exc:
                self._trust = None
                await self.alarm(str(exc))
                raise
            self._trust, self._trust_at, self._trust_marker = trust, now, marker
        return trust

    async def alarm(self, what: str) -> None:
        """Say loudly that the signed roster refuses what the store holds: in the log each
        time, in the audit log (`writein admin status`) once for each distinct alarm."""
        log.error("ALARM the signed roster: %s; nothing is sealed or delivered on it", what)
        if what == self._last_alarm:
            return
        try:
            await self.store.append_audit("relay", "alarm", detail=f"roster: {what}"[:500])
        except StoreError:
            return  # the log line stands; the next alarm tries the audit log again
        self._last_alarm = what

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
        sealed: list[tuple[int, bytes]] = []
        for update in updates:
            update_id = int(update["update_id"])  # type: ignore[call-overload]
            raw = json.dumps(update, separators=(",", ":")).encode("utf-8")
            sealed.append((update_id, self.inbox_keys.seal(update_id, raw)))
        async with self.store.transaction() as tx:
            top = int(await tx.get_setting(OFFSET_SETTING) or 0)
            await tx.put_inbox_many(sealed)
            top = max(top, *(update_id + 1 for update_id, _ in sealed))
            await tx.set_setting(OFFSET_SETTING, str(top))
        self._wake.set()

    async def process_inbox(self) -> int:
        """Handle every pending inbox row, oldest first; returns how many were handled.

        Turns of different sources commit together, one transaction (one fsync) for a run
        of rows instead of one per update: a row's reads never depend on another source's
        writes. A second row from the same source first commits what came before, so its
        turn reads the state the first one left.
        """
        handled = 0
        while rows := await self.store.list_inbox(limit=INBOX_PAGE):
            group: list[tuple[int, Turn | None]] = []
            sources: set[int] = set()
            # An admin's change of trust is seen from the next page on: one settings read
            # per page instead of one per update.
            self._in_page, self._trust_checked = True, False
            try:
                for row in rows:
                    incoming = self._open(row.update_id, row.sealed_update)
                    if incoming is not None and incoming.user_id in sources:
                        await self._commit(group)
                        sources = set()
                    turn = None if incoming is None else await self._handle(row.update_id, incoming)
                    group.append((row.update_id, turn))
                    if incoming is not None:
                        sources.add(incoming.user_id)
            finally:
                self._in_page, self._trust_checked = False, False
                # What was decided before a failure still commits; the failing row stays.
                await self._commit(group)
            handled += len(rows)
        return handled

    async def settle(self) -> None:
        """Wait until everything already decided has been said to Telegram (tests, stop)."""
        await self.outgoing.drain()

    def _open(self, update_id: int, sealed: bytes) -> Incoming | None:
        """The update as the dialogue sees it; None for one the relay cannot use."""
        try:
            return parse_update(self.inbox_keys.open(update_id, sealed), self.bot)
        except (CryptoError, MalformedUpdate) as exc:
            # Not an update the relay can use: dropped, never retried, content never logged.
            log.warning("update %d dropped: %s", update_id, type(exc).__name__)
            return None

    async def _handle(self, update_id: int, incoming: Incoming) -> Turn | None:
        try:
            turn = await self.conversation.handle(incoming)
        except NoRecipients:
            log.error("no certified handler can read case intake: enrol a handler; update kept")  # noqa: TRY400
            raise
        except (StoreError, NetworkError, RosterError):
            # The store, the roster or Telegram is unusable, which says nothing about this update:
            # it stays in the inbox, is not counted against it, and the loop backs off.
            raise
        except Exception as exc:
            # Anything else that keeps failing must not hold up every later update.
            failures = self._failures.get(update_id, 0) + 1
            self._failures[update_id] = failures
            if failures < MAX_ATTEMPTS_PER_UPDATE:
                log.warning("update %d failed (%s), will retry", update_id, type(exc).__name__)
                raise
            # Only the exception's type is logged: its text could quote content.
            name = type(exc).__name__
            log.error("update %d dropped after %d failures: %s", update_id, failures, name)  # noqa: TRY400
            turn = None
        self._failures.pop(update_id, None)
        return turn

    async def _commit(self, group: list[tuple[int, Turn | None]]) -> None:
        """The turns' writes and their inbox rows' deletion in one transaction; then what
        they say goes out, per chat, in order."""
        if not group:
            return
        # Taken out of ``group`` first: a commit that fails is not tried again at once by
        # the caller's clean-up; its rows stay in the inbox for the supervised retry.
        turns = list(group)
        group.clear()
        async with self.store.transaction() as tx:
            for update_id, turn in turns:
                if turn is not None:
                    for write in turn.writes:
                        await write(tx)
                await tx.finish_inbox(update_id)
        for _, turn in turns:
            if turn is None:
                continue
            chat = turn.incoming.chat_id
            for effect, coalesce in turn.effects:
                self.outgoing.send(chat, effect, coalesce=coalesce)
            if turn.writes:
                self._deletions_due.set()  # a stored message leaves the chat at once

    # -- the loops -----------------------------------------------------------------------

    async def run(
        self,
        stop: asyncio.Event,
        keyfile: KeyRingFile | None = None,
        webhook_secret: str | None = None,
        tokens: TokenFile | None = None,
    ) -> None:
        """Poll (or listen for webhooks), process and deliver until ``stop`` is set.

        Raises :class:`TaskFailed` when a loop cannot recover; everything else is retried.
        """
        hook = self.config.telegram.webhook
        server: WebhookServer | None = None
        if self.config.telegram.mode == "webhook":
            secret = webhook_secret or new_secret_token()
            server = WebhookServer(hook.listen, hook.port, hook.path, secret, self.ingest)
            await server.start()

            async def register() -> None:
                await self.bot.set_webhook(
                    hook.url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
                )
        else:

            async def register() -> None:
                await self.bot.delete_webhook(drop_pending_updates=False)

        try:
            await self._start(stop, register)
            steps: dict[str, Callable[[], Awaitable[float]]] = {
                "process": self._process_step,
                "delivery": self._delivery_step,
                "deletions": self._deletions_step,
                "housekeeping": self._housekeeping_step,
                "inbox keys": self._inbox_keys_step,
            }
            if server is None:
                steps["poll"] = self._poll_step
            if keyfile is not None:
                steps["keys"] = lambda: self._keys_step(keyfile)
            if tokens is not None:
                steps["token"] = lambda: self._token_step(tokens)
            if self.config.retention.days:
                steps["retention"] = lambda: retention_step(self.store, self.config)
            tasks = [
                asyncio.create_task(supervise(name, step, stop, self.supervision), name=name)
                for name, step in steps.items()
            ]
            await self._until_stopped(stop, tasks)
        finally:
            if server is not None:
                await server.stop()  # Telegram keeps what we did not answer 200 to

    async def _start(self, stop: asyncio.Event, register: Callable[[], Awaitable[None]]) -> None:
        """The start-up calls, each retried like a loop's step until it succeeds or a stop."""
        for name, action in (
            ("start", register),
            ("start", self.announce_keys),
            ("start", self.publish_commands),
        ):
            await retry_until_done(name, action, stop, self.supervision)
        self._wake.set()  # what a crash left in the inbox is handled first

    async def _until_stopped(self, stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
        waiting = asyncio.create_task(stop.wait(), name="stop")
        failed: BaseException | None = None
        try:
            done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is waiting or task.cancelled():
                    continue
                if task.exception() is not None:
                    failed = task.exception()
                elif not stop.is_set():
                    # A loop only returns when stopped; one that returned early is a bug.
                    failed = TaskFailed(task.get_name(), 1, RuntimeError("returned"))
        finally:
            stop.set()
            waiting.cancel()
            # The worker loops see ``stop`` and finish the item in hand: a reply already
            # sent is recorded as sent, not sent again after the restart, and what the
            # last turns decided to say is said. The rest is cancelled at once.
            finishing = [t for t in tasks if t.get_name() in ("process", "delivery")]
            for task in tasks:
                if task not in finishing:
                    task.cancel()
            if finishing:
                await asyncio.wait(finishing, timeout=SHUTDOWN_GRACE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outgoing.drain(), timeout=SHUTDOWN_GRACE_SECONDS)
            await self.outgoing.close()
            await self.delivery.close()
            for task in finishing:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, TaskFailed):
                # supervise() raises only TaskFailed; anything else is a bug, said aloud.
                log.error("task %s ended with %s", task.get_name(), type(result).__name__)
        if failed is None:
            failed = next((r for r in results if isinstance(r, TaskFailed)), None)
        if failed is not None:
            raise failed if isinstance(failed, TaskFailed) else TaskFailed("relay", 1, failed)

    async def _poll_step(self) -> float:
        """One getUpdates round; Telegram being unreachable is waited out, never fatal."""
        try:
            await self.fetch()
        except RetryAfter as exc:
            return retry_after_seconds(exc.retry_after)
        except (TimedOut, NetworkError) as exc:
            self._poll_failures += 1
            delay = self.supervision.delay(self._poll_failures)
            log.warning("getUpdates failed: %s; retrying in %.0f s", type(exc).__name__, delay)
            return delay
        except TelegramError as exc:
            # E.g. InvalidToken after BotFather's /revoke, until set-token swaps it in.
            self._poll_failures += 1
            delay = self.supervision.delay(self._poll_failures)
            log.error("getUpdates refused: %s; retrying in %.0f s", type(exc).__name__, delay)  # noqa: TRY400
            return delay
        self._poll_failures = 0
        return 0.0

    async def _process_step(self) -> float:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=1.0)
        self._wake.clear()
        try:
            await self.process_inbox()
        except NoRecipients:
            return 5.0  # said once per try above; waits for an admin, not a failure
        except RosterError as exc:
            # Read afresh next time: a stale copy in memory (a write rolled back) heals
            # then; a log that does not verify raises the alarm there (trust()). Updates
            # wait in the inbox meanwhile.
            log.warning("roster refused while handling updates: %s", exc)
            self._trust = None
            return ROSTER_RETRY_SECONDS
        except NetworkError as exc:
            # Telegram, not the relay, failed (a download): the update waits in the inbox.
            self._process_failures += 1
            delay = self.supervision.delay(self._process_failures)
            log.warning("Telegram unavailable while handling an update: %s", type(exc).__name__)
            self._wake.set()
            return delay
        self._process_failures = 0
        return 0.0

    async def _delivery_step(self) -> float:
        try:
            busy = await self.delivery.deliver_one()
        except RosterError:
            return ROSTER_RETRY_SECONDS  # the alarm is raised; the claim's lease runs out
        return 0.0 if busy else OUTBOX_IDLE_SECONDS

    async def _deletions_step(self) -> float:
        self._deletions_due.clear()
        recorded = await self.delivery.delete_due(wait=False)
        if recorded or self.delivery.deleting:
            # Let the next batch gather a moment: each batch is two write transactions,
            # which intake would otherwise queue behind once per message.
            return DELETIONS_GATHER_SECONDS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._deletions_due.wait(), timeout=DELETIONS_IDLE_SECONDS)
        return DELETIONS_GATHER_SECONDS

    async def _token_step(self, tokens: TokenFile) -> float:
        try:
            bot = await tokens.changed()
        except (OSError, TelegramError, ValueError) as exc:
            log.warning("new token not usable yet: %s", type(exc).__name__)
            return KEY_CHECK_SECONDS
        if bot is not None:
            old, self.bot = self.bot, bot
            self.use_bot(bot)
            log.info("switched to a new bot token")
            with contextlib.suppress(TelegramError):
                await old.shutdown()
        return KEY_CHECK_SECONDS

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
        """Forget expired dialogues and old processed update ids; compare the store's
        cache rows with the signed roster."""
        await self.store.delete_expired_dialogues()
        before = datetime.now(UTC).date() - PROCESSED_RETENTION
        await self.store.prune_processed_updates(before=before)
        await self.check_rows()

    async def check_rows(self) -> list[str]:
        """Raise the alarm for every cache row the signed roster does not back (written
        to the store without the organisation key); returns them. Such rows give nobody
        anything, since the relay and consoles read the roster, but someone wrote them."""
        try:
            trust = await self.trust()
        except RosterError:
            return []  # trust() raised that alarm
        assert trust.roster is not None
        found = [str(d) for d in await discrepancies(self.store, trust.roster)]
        for what in found:
            log.error("ALARM a store row the signed roster does not back: %s", what)
        fresh = sorted(set(found) - self._rows_alarmed)
        if fresh:
            detail = ("rows not in the roster: " + "; ".join(fresh))[:500]
            await self.store.append_audit("relay", "alarm", detail=detail)
        self._rows_alarmed = set(found)
        return found

    async def advance_inbox_keys(self) -> int:
        """Start a new inbox epoch and erase the keys no waiting update needs (ADR 0083),
        then fold SQLite's write-ahead log back into the database file. Returns how many
        keys were erased."""
        rows = await self.store.list_inbox(limit=INBOX_KEYS_SCAN)
        # A backlog longer than one page keeps every key: never erase one a row still needs.
        erased = self.inbox_keys.advance(
            [row.sealed_update for row in rows], keep_all=len(rows) == INBOX_KEYS_SCAN
        )
        await self.store.checkpoint()
        return erased

    async def _inbox_keys_step(self) -> float:
        await self.advance_inbox_keys()
        return float(self.config.relay.inbox_key_seconds)

    async def _housekeeping_step(self) -> float:
        await self.housekeeping()
        return HOUSEKEEPING_SECONDS

    async def _keys_step(self, keyfile: KeyRingFile) -> float:
        try:
            # Unlocking a replaced ring file is an Argon2id derivation: off the event loop.
            ring = await argon2_work(keyfile.changed)
        except (OSError, CryptoError, ValueError) as exc:
            log.warning("key ring file unreadable, keeping current keys: %s", type(exc).__name__)
            return KEY_CHECK_SECONDS
        if ring is not None:
            self.use_keys(ring)
            await self.announce_keys()
            log.info("switched to relay key set v%d", ring.current.version)
        return KEY_CHECK_SECONDS


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
        try:
            await bot.initialize()  # getMe: a bad token fails here, the old one stays in use
        except BaseException:
            await bot.shutdown()  # its connections, opened before getMe failed
            raise
        self._seen = stamp
        return bot
