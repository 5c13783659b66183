"""Reply delivery: the outbox worker and the deletion worker.

A handler's reply arrives as an envelope sealed to the relay's delivery key and signed by
the handler. The worker verifies the signature against the handlers the organisation
certified, decrypts, sends with protect_content and no trace of who wrote it, records the
sent message (sealed) and forgets the plaintext. Telegram's limits: 1 message per second
per chat, about 30 per second overall.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from admin.keyring import RelayKeyRing
from admin.refs import open_chat_ref, open_message_ref, seal_message_ref
from bot.pace import Pace
from bot.supervise import Backoff
from bot.telegram_io import TelegramIO, maybe_applied, retry_after_seconds
from core.i18n import catalog
from core.payload import BodyError, Reply, decode_body
from core.trust import Trust
from crypto import CryptoError, Direction, Envelope, Header, open_envelope
from store import CaseFlag, OutboxItem, Store, StoreUnavailableError
from store import Direction as StoreDirection

log = logging.getLogger("writein.delivery")

__all__ = ["Clock", "Delivery", "Pace", "backoff", "utc_now"]

LEASE = timedelta(seconds=60)
# Deletions are claimed in small batches on a short lease: after a crash, what the dead
# relay had claimed is free again within seconds, so a source's copy never lingers.
DELETION_LEASE = timedelta(seconds=10)
DELETION_BATCH = 50
DELETION_CONCURRENCY = 16
MAX_ATTEMPTS = 12
# Up to about 15 s, well inside the claim's lease.
RECORD_SENT = Backoff(first=0.5, cap=8.0, give_up_after=6)


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
    ) -> None:
        self.store = store
        self.ring = ring
        self.trust = trust
        self.io = io
        self.clock = clock
        self.backoff = backoff
        self._deleting: dict[int, asyncio.Task[None]] = {}
        self._deleted: list[int] = []
        self._deletion_gate = asyncio.Semaphore(DELETION_CONCURRENCY)
        if pace is not None:
            io.pace = pace

    async def deliver_one(self) -> bool:
        """Deliver the next due reply; False when nothing is due."""
        item = await self.store.claim_outbox(lease=LEASE, now=self.clock())
        if item is None:
            return False
        assert item.claim_token is not None
        try:
            reply, chat_id, language = await self._open(item)
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
        text = catalog(language).gettext("reply.body", text=reply.text)
        self.io.stats.calls += 1
        try:
            async with self.io.pace.slot(chat_id):
                message = await self.io.bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, protect_content=True
                )
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
                # The reply may be in the chat already: the retry is bounded and counted.
                self.io.stats.possible_duplicates += 1
                log.warning("outbox item %d may have been sent before it failed", item.outbox_id)
            if item.attempts >= MAX_ATTEMPTS:
                await self.store.fail_outbox(item.outbox_id, item.claim_token, error="gave_up")
            else:
                log.warning("outbox item %d: %s; will retry", item.outbox_id, type(exc).__name__)
                seconds = self.backoff(item.attempts).total_seconds()
                await self._retry(item, seconds, "network")
            return True
        ref = seal_message_ref(self.ring, item.case_id, chat_id, message.message_id)
        destruct = (
            self.clock() + timedelta(seconds=reply.self_destruct_seconds)
            if reply.self_destruct_seconds
            else None
        )
        # The reply is in the chat now: recording that must outlast a store hiccup, or the
        # item would be sent again once its lease ran out.
        for attempt in range(1, RECORD_SENT.give_up_after + 1):
            try:
                await self._record_sent(item, ref, destruct)
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

    async def _record_sent(self, item: OutboxItem, ref: bytes, destruct: datetime | None) -> None:
        assert item.claim_token is not None
        async with self.store.transaction() as tx:
            await tx.mark_outbox_sent(
                item.outbox_id, item.claim_token, sent_ref=ref, self_destruct_at=destruct
            )
            if destruct is not None:
                await tx.add_scheduled_deletion(item.case_id, ref, due_at=destruct)
            case = await tx.get_case(item.case_id)
            if case is not None and CaseFlag.UNREACHABLE in case.flags:
                await tx.set_case_flag(item.case_id, CaseFlag.UNREACHABLE, False)
            if case is not None and CaseFlag.FORGOTTEN in case.flags:
                # /forget came while this reply was on its way: it leaves the chat, and
                # its reference the store, like the ones delivered before.
                await tx.forget_chat_links(item.case_id, now=self.clock())

    async def _retry(self, item: OutboxItem, seconds: float, error: str) -> None:
        assert item.claim_token is not None
        when = _whole_second_at_or_after(self.clock() + timedelta(seconds=max(0.0, seconds)))
        await self.store.retry_outbox(
            item.outbox_id, item.claim_token, not_before=when, error=error
        )

    async def _open(self, item: OutboxItem) -> tuple[Reply, int, str]:
        if item.envelope is None:
            raise ValueError("no envelope")
        trust = await self.trust()
        envelope = Envelope.from_bytes(item.envelope)
        opened = None
        for candidate in self.ring.keys:  # replies sealed just before a rotation still open
            try:
                opened = open_envelope(
                    envelope,
                    recipient=candidate.delivery,
                    trusted_signers=trust.handler_signers(),
                    expect_case_id=item.case_id,
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
        await self._check_rights(item, envelope, opened.header, trust)
        case = await self.store.get_case(item.case_id)
        if case is None or case.sealed_chat_ref is None:
            raise _NoChat
        return body, open_chat_ref(self.ring, item.case_id, case.sealed_chat_ref), case.language

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
        room = DELETION_BATCH - len(self._deleting)
        if room > 0:
            rows = await self.store.claim_due_deletions(
                lease=DELETION_LEASE, limit=room, now=self.clock()
            )
            for row in rows:
                if row.deletion_id not in self._deleting:  # a lease ran out mid-retry
                    self._deleting[row.deletion_id] = asyncio.create_task(
                        self._delete(row.deletion_id, row.case_id, row.sealed_ref),
                        name="deletion",
                    )
        if wait and self._deleting:
            await asyncio.wait(list(self._deleting.values()))
        return recorded + await self._record_deleted()

    @property
    def deleting(self) -> int:
        """Deletions in flight or finished and not yet recorded."""
        return len(self._deleting)

    async def _delete(self, deletion_id: int, case_id: str, sealed_ref: bytes) -> None:
        try:
            chat_id, message_id = open_message_ref(self.ring, case_id, sealed_ref)
        except (CryptoError, ValueError):
            done = True  # nothing this relay can act on: forget the row
        else:
            try:
                async with self._deletion_gate:
                    done = await self.io.delete(chat_id, message_id)
            except Exception as exc:
                # Not a Telegram refusal (those are handled in TelegramIO): said, and the
                # row is claimed again once its lease ends, never left in flight for good.
                log.error("a deletion failed: %s", type(exc).__name__)  # noqa: TRY400
                done = False
        if done:
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
        tasks = list(self._deleting.values())
        for task in tasks:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):  # a cancelled one returns CancelledError
                log.error("a deletion ended with %s", type(result).__name__)
        self._deleting.clear()
        self._deleted.clear()


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
