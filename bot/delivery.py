"""Reply delivery: the outbox worker and the deletion worker.

A handler's reply arrives as an envelope sealed to the relay's delivery key and signed by
the handler. The worker verifies the signature against the handlers the organisation
certified, decrypts, sends with protect_content and no trace of who wrote it, records the
sent message (sealed) and forgets the plaintext. Telegram's limits: 1 message per second
per chat, about 30 per second overall.

Quiet replies (docs/decisions/0081, the default): what is sent is a silent notice with
the deployment's neutral text and a "Read" button, never the reply's words. The outbox
item's relay wrap is kept beside the stored reply, as a pending quiet reply (a store
setting, never in the thread: the relay still opens nothing the thread keeps), so that a
tap opens the sealed reply again (:func:`open_reply`) instead of the relay keeping its
text anywhere; it is forgotten once the reply can no longer be read
(:func:`forget_quiet_reply`, and the sweep in :meth:`Delivery.delete_due`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from admin.keyring import RelayKeyRing
from admin.refs import open_chat_ref, open_message_ref, seal_message_ref
from bot.pace import Pace
from bot.supervise import Backoff
from bot.telegram_io import TelegramIO, keyboard, maybe_applied, retry_after_seconds
from core.config import RelayConfig
from core.escape import escape_html
from core.i18n import catalog
from core.payload import BodyError, Reply, decode_body
from core.settings import QUIET_REPLIES_INDEX, QUIET_REPLY_SETTING
from core.trust import Trust
from crypto import CryptoError, Direction, Envelope, Header, open_envelope
from store import CaseFlag, OutboxItem, Store, StoreOperations, StoreUnavailableError
from store import Direction as StoreDirection

log = logging.getLogger("writein.delivery")

__all__ = [
    "QUIET_SETTING",
    "READ_PREFIX",
    "Clock",
    "Delivery",
    "Pace",
    "backoff",
    "forget_quiet_reply",
    "open_reply",
    "parse_read_button",
    "utc_now",
]

LEASE = timedelta(seconds=60)
# Deletions are claimed in small batches on a short lease: after a crash, what the dead
# relay had claimed is free again within seconds, so a source's copy never lingers.
DELETION_LEASE = timedelta(seconds=10)
DELETION_BATCH = 100
DELETION_CONCURRENCY = 16
DELETE_AT_ONCE = 100  # deleteMessages takes 1-100 ids
MAX_ATTEMPTS = 12
# Up to about 15 s, well inside the claim's lease.
RECORD_SENT = Backoff(first=0.5, cap=8.0, give_up_after=6)
# A quiet reply's button: read:<message id, hex>:<readable until, Unix seconds>.
READ_PREFIX = "read:"
# A quiet reply's relay wraps until it can no longer be read, and the index of them all.
QUIET_SETTING = QUIET_REPLY_SETTING
QUIET_INDEX = QUIET_REPLIES_INDEX
QUIET_SWEEP_SECONDS = 60.0


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try (network errors, 5xx)."""
    return timedelta(seconds=min(300, 2 ** min(attempts, 9)))


def utc_now() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]


class Delivery:
    """Delivers due replies and carries out due deletions.

    ``clock`` (aware UTC datetimes) decides what is due and when a retry or a deletion
    falls due; ``backoff`` maps a failed attempt count to the wait before the next try;
    ``pace`` keeps to Telegram's limits. They are there so tests can run delivery against
    a simulator's clock without waiting in real time.
    """

    def __init__(
        self,
        store: Store,
        ring: RelayKeyRing,
        trust: Callable[[], Awaitable[Trust]],
        io: TelegramIO,
        *,
        clock: Clock = utc_now,
        backoff: Callable[[int], timedelta] = backoff,
        pace: Pace | None = None,
        replies: RelayConfig | None = None,
    ) -> None:
        self.replies = replies or RelayConfig()
        self.store = store
        self.ring = ring
        self.trust = trust
        self.io = io
        self.clock = clock
        self.backoff = backoff
        self._deleting: dict[int, asyncio.Task[None]] = {}
        self._deleted: list[int] = []
        self._deletion_gate = asyncio.Semaphore(DELETION_CONCURRENCY)
        self._swept_at: datetime | None = None
        self._sending: str | None = None  # the case of the reply being sent, if any
        self._cleared_while_sending = False
        if pace is not None:
            io.pace = pace

    def chat_cleared(self, case_id: str) -> None:
        """/panic cleared the case's chat (``Conversation.on_chat_cleared``): a reply on
        its way there right now is recorded after the clearing, and must leave at once."""
        if self._sending == case_id:
            self._cleared_while_sending = True

    async def deliver_one(self) -> bool:
        """Deliver the next due reply; False when nothing is due."""
        item = await self.store.claim_outbox(lease=LEASE, now=self.clock())
        if item is None:
            return False
        assert item.claim_token is not None
        self._sending, self._cleared_while_sending = item.case_id, False
        try:
            return await self._deliver(item)
        finally:
            self._sending = None

    async def _deliver(self, item: OutboxItem) -> bool:
        assert item.claim_token is not None
        try:
            reply, chat_id, language, message_id = await self._open(item)
        except (CryptoError, BodyError, ValueError):
            # Altered in the store, not from a certified handler, or for another case.
            log.warning("outbox item %d refused: envelope did not verify", item.outbox_id)
            await self.store.fail_outbox(item.outbox_id, item.claim_token, error="invalid_envelope")
            await self.store.append_audit("relay", "reply-refused", case_id=item.case_id)
            return True
        except _NoChat:
            await self.store.fail_outbox(item.outbox_id, item.claim_token, error="no_chat")
            return True
        except _Refused as refused:
            # Verified, but not a reply the roster lets through: someone wrote to the store.
            log.error("ALARM outbox item %d refused: %s", item.outbox_id, refused.why)  # noqa: TRY400
            await self.store.fail_outbox(item.outbox_id, item.claim_token, error=refused.code)
            await self.store.append_audit(
                "relay", "alarm", case_id=item.case_id, detail=f"reply refused: {refused.why}"
            )
            return True
        now = self.clock()
        destruct = (
            now + timedelta(seconds=reply.self_destruct_seconds)
            if reply.self_destruct_seconds
            else None
        )
        quiet = self.replies.quiet_replies
        readable_until: datetime | None = None
        if quiet:
            # Only a neutral notice goes out: the words wait for a tap (ADR 0081).
            readable_until = now + timedelta(hours=self.replies.reply_readable_hours)
            if destruct is not None:
                readable_until = min(readable_until, destruct)
            notice = self.replies.reply_notice
            text = escape_html(notice.get(language) or notice["en"])  # type: ignore[call-overload]
            label = catalog(language).plain("reply.button.read")
            markup = keyboard([[(label, read_button(message_id, readable_until))]])
            # Kept before the notice goes out: a source may tap before the send is recorded.
            if item.envelope is not None:
                wraps = Envelope.from_bytes(item.envelope).wraps
                async with self.store.transaction() as tx:
                    await _keep_quiet_reply(tx, item.case_id, message_id, wraps, readable_until)
        else:
            text = catalog(language).gettext("reply.body", text=reply.text)
            markup = None
        # A kept wrap whose notice never went out opens nothing (no button names it), and
        # the sweep forgets it at its time.
        return await self._send(item, chat_id, text, markup, quiet, destruct, readable_until)

    async def _send(
        self,
        item: OutboxItem,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None,
        quiet: bool,
        destruct: datetime | None,
        readable_until: datetime | None,
    ) -> bool:
        """Send the reply (or its notice) and record it; True (the item was dealt with)."""
        assert item.claim_token is not None
        self.io.stats.calls += 1
        try:
            # On its way, its id unknown: no copy of another message is looked for
            # among this chat's ids meanwhile (TelegramIO, message_ids).
            async with self.io.pace.slot(chat_id):
                with self.io.ids.sending(chat_id) as on_its_way:
                    message = await self.io.bot.send_message(
                        chat_id,
                        text,
                        parse_mode=ParseMode.HTML,
                        protect_content=True,
                        reply_markup=markup,
                        disable_notification=quiet or None,
                    )
                    self.io.ids.sent(on_its_way, message.message_id)
        except RetryAfter as exc:
            await self._retry(item, retry_after_seconds(exc.retry_after), "http_429")
            return True
        except Forbidden:
            # The source blocked the bot (or deleted the account): tell the handler.
            log.warning("outbox item %d: the source cannot be reached", item.outbox_id)
            await self.store.fail_outbox(item.outbox_id, item.claim_token, error="blocked")
            await self.store.set_case_flag(item.case_id, CaseFlag.UNREACHABLE, True)
            await self.store.append_audit("relay", "reply-unreachable", case_id=item.case_id)
            return True
        except BadRequest:
            await self.store.fail_outbox(item.outbox_id, item.claim_token, error="bad_request")
            return True
        except (TimedOut, NetworkError, TelegramError) as exc:
            if isinstance(exc, NetworkError) and maybe_applied(exc):
                # The reply may be in the chat already: the retry is bounded and counted,
                # and no search for another message's copy may take this one for it.
                self.io.stats.possible_duplicates += 1
                self.io.ids.lost(chat_id)
                log.warning("outbox item %d may have been sent before it failed", item.outbox_id)
            if item.attempts >= MAX_ATTEMPTS:
                await self.store.fail_outbox(item.outbox_id, item.claim_token, error="gave_up")
            else:
                log.warning("outbox item %d: %s; will retry", item.outbox_id, type(exc).__name__)
                seconds = self.backoff(item.attempts).total_seconds()
                await self._retry(item, seconds, "network")
            return True
        ref = seal_message_ref(self.ring, item.case_id, chat_id, message.message_id)
        # The reply is in the chat now: recording that must outlast a store hiccup, or the
        # item would be sent again once its lease ran out.
        for attempt in range(1, RECORD_SENT.give_up_after + 1):
            try:
                await self._record_sent(item, ref, destruct, readable_until)
            except StoreUnavailableError as exc:
                if attempt == RECORD_SENT.give_up_after:
                    raise
                log.warning(
                    "task delivery: outbox item %d sent, not yet recorded (%s); retrying",
                    item.outbox_id,
                    type(exc).__name__,
                )
                await asyncio.sleep(RECORD_SENT.delay(attempt))
            else:
                break
        return True

    async def _record_sent(
        self,
        item: OutboxItem,
        ref: bytes,
        destruct: datetime | None,
        readable_until: datetime | None = None,
    ) -> None:
        assert item.claim_token is not None
        async with self.store.transaction() as tx:
            await tx.mark_outbox_sent(
                item.outbox_id, item.claim_token, sent_ref=ref, self_destruct_at=destruct
            )
            leaves = readable_until or destruct  # a quiet notice leaves when it can't be read
            if leaves is not None:
                await tx.add_scheduled_deletion(item.case_id, ref, due_at=leaves)
            case = await tx.get_case(item.case_id)
            if case is not None and CaseFlag.UNREACHABLE in case.flags:
                await tx.set_case_flag(item.case_id, CaseFlag.UNREACHABLE, False)
            if case is not None and CaseFlag.FORGOTTEN in case.flags:
                # /forget came while this reply was on its way: it leaves the chat, and
                # its reference the store, like the ones delivered before.
                await tx.forget_chat_links(item.case_id, now=self.clock())
            elif self._cleared_while_sending or (
                case is not None and self._went_elsewhere(item.case_id, case.sealed_chat_ref, ref)
            ):
                # /panic cleared the chat, or the source moved to another account
                # (/recover), while this reply was on its way: it leaves now, like the rest.
                await tx.add_scheduled_deletion(item.case_id, ref, due_at=self.clock())

    def _went_elsewhere(self, case_id: str, chat_ref: bytes | None, ref: bytes) -> bool:
        """Whether a message sent with ``ref`` went to another chat than the case's now."""
        if chat_ref is None:
            return False
        try:
            sent_to, _ = open_message_ref(self.ring, case_id, ref)
            return sent_to != open_chat_ref(self.ring, case_id, chat_ref)
        except (CryptoError, ValueError):
            return False

    async def _retry(self, item: OutboxItem, seconds: float, error: str) -> None:
        assert item.claim_token is not None
        when = _whole_second_at_or_after(self.clock() + timedelta(seconds=max(0.0, seconds)))
        await self.store.retry_outbox(
            item.outbox_id, item.claim_token, not_before=when, error=error
        )

    async def _open(self, item: OutboxItem) -> tuple[Reply, int, str, bytes]:
        if item.envelope is None:
            raise ValueError("no envelope")
        trust = await self.trust()
        envelope = Envelope.from_bytes(item.envelope)
        body, header = _open_reply(self.ring, trust, envelope, item.case_id)
        await self._check_rights(item, envelope, header, trust)
        case = await self.store.get_case(item.case_id)
        if case is None or case.sealed_chat_ref is None:
            raise _NoChat
        chat_id = open_chat_ref(self.ring, item.case_id, case.sealed_chat_ref)
        return body, chat_id, case.language, header.message_id

    async def _check_rights(
        self, item: OutboxItem, envelope: Envelope, header: Header, trust: Trust
    ) -> None:
        """A reply goes out only if the signed roster assigns its signer to the case and
        it is the reply stored in the case's thread (ADR 0076): a certified officer's
        reply queued by a direct write to the store, for any case, is refused."""
        signer = header.signer_key_id
        author = next(
            (n for n, c in trust.handlers.items() if c.signing_key.key_id == signer), None
        )
        if author is None or author not in trust.assigned(item.case_id):
            raise _Refused("not_assigned", "its signer is not assigned to the case")
        stored = await self.store.get_envelope(header.message_id, wraps="none")
        if (
            item.message_id not in (None, header.message_id)
            or stored is None
            or stored.case_id != item.case_id
            or stored.direction is not StoreDirection.OUT
            or stored.core != envelope.core
        ):
            raise _Refused("not_in_thread", "it is not in the case's thread")

    async def delete_due(self, *, wait: bool = True) -> int:
        """Carry out due deletions: ingested messages, acknowledgements, expiring replies.

        Each deletion runs as its own task, with TelegramIO's retries, so one that Telegram
        keeps refusing for a while never holds up the others. With ``wait`` this returns
        once the claimed ones are done; without it (the relay's loop) it commits what has
        finished since the last call and tops the work in flight up. Returns how many
        deletions it recorded as done.
        """
        recorded = await self._record_deleted()
        await self._sweep_quiet_replies()
        room = DELETION_BATCH - len(self._deleting)
        if room > 0:
            rows = await self.store.claim_due_deletions(
                lease=DELETION_LEASE, limit=room, now=self.clock()
            )
            by_chat: dict[int, list[tuple[int, int]]] = {}
            for row in rows:
                if row.deletion_id in self._deleting:  # a lease ran out mid-retry
                    continue
                try:
                    chat_id, message_id = open_message_ref(self.ring, row.case_id, row.sealed_ref)
                except (CryptoError, ValueError):
                    self._deleted.append(row.deletion_id)  # nothing to act on: forget it
                    continue
                by_chat.setdefault(chat_id, []).append((row.deletion_id, message_id))
            # One call per chat (deleteMessages): a source who sent a long burst has it
            # removed in a few calls instead of one call per message.
            for chat_id, items in by_chat.items():
                for start in range(0, len(items), DELETE_AT_ONCE):
                    batch = items[start : start + DELETE_AT_ONCE]
                    task = asyncio.create_task(self._delete(chat_id, batch), name="deletion")
                    for deletion_id, _ in batch:
                        self._deleting[deletion_id] = task
        if wait and self._deleting:
            await asyncio.wait(set(self._deleting.values()))
        return recorded + await self._record_deleted()

    async def _sweep_quiet_replies(self) -> None:
        """Forget the relay wraps of quiet replies that can no longer be read (once a
        minute): a notice nobody tapped must not leave its reply openable."""
        now = self.clock()
        if (
            self._swept_at is not None
            and (now - self._swept_at).total_seconds() < QUIET_SWEEP_SECONDS
        ):
            return
        self._swept_at = now
        index = _index(await self.store.get_setting(QUIET_INDEX))
        due = [bytes.fromhex(h) for h, until in index.items() if until <= now.timestamp()]
        for message_id in due:
            await forget_quiet_reply(self.store, message_id)

    @property
    def deleting(self) -> int:
        """Deletions in flight or finished and not yet recorded."""
        return len(self._deleting)

    async def _delete(self, chat_id: int, batch: list[tuple[int, int]]) -> None:
        try:
            async with self._deletion_gate:
                gone = await self.io.delete_many(chat_id, [mid for _, mid in batch])
        except Exception as exc:
            # Not a Telegram refusal (those are handled in TelegramIO): said, and the
            # rows are claimed again once their lease ends, never left in flight for good.
            log.error("a deletion failed: %s", type(exc).__name__)  # noqa: TRY400
            gone = set()
        for deletion_id, message_id in batch:
            if message_id in gone:
                self._deleted.append(deletion_id)
            else:
                self._deleting.pop(deletion_id, None)  # claimed again once its lease ends

    async def _record_deleted(self) -> int:
        """One commit for every deletion finished since the last one."""
        finished, self._deleted = self._deleted, []
        if not finished:
            return 0
        try:
            async with self.store.transaction() as tx:
                for deletion_id in finished:
                    await tx.delete_scheduled_deletion(deletion_id)
        except BaseException:
            self._deleted.extend(finished)  # recorded on the next try
            raise
        for deletion_id in finished:
            self._deleting.pop(deletion_id, None)
        return len(finished)

    async def close(self) -> None:
        """Stop the deletions in flight (their rows are claimed again after the lease)."""
        tasks = list(set(self._deleting.values()))  # a batch's rows share one task
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):  # a cancelled one returns CancelledError
                log.error("a deletion ended with %s", type(result).__name__)
        self._deleting.clear()
        self._deleted.clear()


def read_button(message_id: bytes, readable_until: datetime) -> str:
    """A quiet reply's callback data (at most 64 bytes: 5 + 32 + 1 + 10)."""
    return f"{READ_PREFIX}{message_id.hex()}:{int(readable_until.timestamp())}"


def parse_read_button(data: str) -> tuple[bytes, datetime] | None:
    """(message id, readable until) from a read button's data; None if malformed."""
    body = data.removeprefix(READ_PREFIX)
    hex_id, _, until = body.partition(":")
    try:
        return bytes.fromhex(hex_id), datetime.fromtimestamp(int(until), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _open_reply(
    ring: RelayKeyRing, trust: Trust, envelope: Envelope, case_id: str
) -> tuple[Reply, Header]:
    """Verify (a certified handler signed it, for this case, outgoing) and decrypt a reply
    with whichever relay key opens it (replies sealed before a rotation still open)."""
    opened = None
    for candidate in ring.keys:
        try:
            opened = open_envelope(
                envelope,
                recipient=candidate.delivery,
                trusted_signers=trust.handler_signers(),
                expect_case_id=case_id,
                expect_direction=Direction.OUT,
            )
            break
        except CryptoError:
            continue
    if opened is None:
        raise ValueError("no relay key opens it")
    body = decode_body(opened.plaintext)
    if not isinstance(body, Reply):
        raise BodyError("not a reply")
    return body, opened.header


async def open_reply(
    store: Store, ring: RelayKeyRing, trust: Trust, case_id: str, message_id: bytes
) -> Reply | None:
    """Open a delivered quiet reply again for a tap: its stored ``out`` envelope in this
    case, with the relay wrap kept for it. None when it cannot be read any more (expired
    and forgotten, purged, cancelled, the relay key retired, or not this case's)."""
    raw = await store.get_setting(QUIET_SETTING + message_id.hex())
    stored = await store.get_envelope(message_id, wraps="none")
    if raw is None or stored is None:
        return None
    try:
        pending = json.loads(raw)
        wraps = {bytes.fromhex(k): bytes.fromhex(v) for k, v in pending["wraps"].items()}
        if pending["case"] != case_id or stored.case_id != case_id:
            return None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if stored.direction is not StoreDirection.OUT:
        return None
    try:
        body, header = _open_reply(ring, trust, Envelope(stored.core, wraps), case_id)
    except (CryptoError, BodyError, ValueError):
        return None
    if header.message_id != message_id:
        return None
    return body


async def _keep_quiet_reply(
    tx: StoreOperations,
    case_id: str,
    message_id: bytes,
    wraps: Mapping[bytes, bytes],
    until: datetime,
) -> None:
    value = {"case": case_id, "wraps": {k.hex(): w.hex() for k, w in wraps.items()}}
    await tx.set_setting(QUIET_SETTING + message_id.hex(), json.dumps(value))
    index = _index(await tx.get_setting(QUIET_INDEX))
    index[message_id.hex()] = int(until.timestamp())
    await tx.set_setting(QUIET_INDEX, json.dumps(index))


async def forget_quiet_reply(store: Store, message_id: bytes) -> None:
    """Forget the relay wrap kept for one quiet reply: the relay cannot open it again."""
    async with store.transaction() as tx:
        await tx.delete_setting(QUIET_SETTING + message_id.hex())
        index = _index(await tx.get_setting(QUIET_INDEX))
        if index.pop(message_id.hex(), None) is not None:
            await tx.set_setting(QUIET_INDEX, json.dumps(index))


async def forget_quiet_replies_of(tx: StoreOperations, case_id: str) -> int:
    """/forget: the relay forgets the wraps kept for every quiet reply of the case, so
    none of them opens again, tapped or not (ADR 0082). Returns how many."""
    index = _index(await tx.get_setting(QUIET_INDEX))
    forgotten = []
    for hex_id in index:
        raw = await tx.get_setting(QUIET_SETTING + hex_id)
        try:
            mine = raw is None or json.loads(raw).get("case") == case_id
        except (ValueError, AttributeError):
            mine = True  # unreadable: nothing worth keeping
        if mine:
            await tx.delete_setting(QUIET_SETTING + hex_id)
            forgotten.append(hex_id)
    if forgotten:
        for hex_id in forgotten:
            index.pop(hex_id)
        await tx.set_setting(QUIET_INDEX, json.dumps(index))
    return len(forgotten)


def _index(raw: str | None) -> dict[str, int]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _whole_second_at_or_after(when: datetime) -> datetime:
    """The store keeps whole seconds, rounding down; a retry must never come early."""
    if when.microsecond == 0:
        return when
    return when.replace(microsecond=0) + timedelta(seconds=1)


class _NoChat(Exception):
    pass


class _Refused(Exception):
    def __init__(self, code: str, why: str) -> None:
        super().__init__(code)
        self.code, self.why = code, why
