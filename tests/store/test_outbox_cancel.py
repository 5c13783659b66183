"""Cancelling a queued reply (ADR 0078): only a pending item, only by its author, and
never both cancelled and claimed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from store import (
    Direction,
    NotCancellableError,
    NotFoundError,
    OutboxItem,
    OutboxStatus,
    Store,
)

from .conftest import NOW, Backend, new_case, new_id

LEASE = timedelta(seconds=60)
CASE = "7KQ2-M9XD-3HVA"
OTHER_CASE = "8PQR-4T5V-6WXY"


async def _reply(store: Store, author: str | None = "alice", case_id: str = CASE) -> OutboxItem:
    """A reply as the console queues it: the stored ``out`` copy and its outbox item."""
    message = new_id()
    await store.add_envelope(message, case_id, Direction.OUT, b"core", {b"k" * 16: b"w"}, now=NOW)
    return await store.enqueue_outbox(
        case_id, b"sealed-to-bot", message_id=message, author=author, now=NOW
    )


@pytest.fixture
async def case(store: Store) -> str:
    await new_case(store, CASE)
    await new_case(store, OTHER_CASE)
    return CASE


async def test_a_pending_reply_is_cancelled_with_its_stored_copy(store: Store, case: str) -> None:
    queued = await _reply(store)
    assert queued.author == "alice"
    assert queued.message_id is not None
    cancelled = await store.cancel_outbox(case, queued.message_id, author="alice")
    assert cancelled.outbox_id == queued.outbox_id
    assert cancelled.status is OutboxStatus.PENDING  # as it was when it went
    assert await store.get_outbox(queued.outbox_id) is None
    assert await store.get_envelope(queued.message_id) is None
    assert await store.count_outbox_backlog() == 0
    assert await store.claim_outbox(lease=LEASE, now=NOW) is None  # nothing left to send
    with pytest.raises(NotFoundError):  # twice is not twice
        await store.cancel_outbox(case, queued.message_id, author="alice")


async def test_a_claimed_reply_is_refused_even_after_its_lease(store: Store, case: str) -> None:
    queued = await _reply(store)
    assert queued.message_id is not None
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    assert claim is not None and claim.outbox_id == queued.outbox_id
    with pytest.raises(NotCancellableError) as refused:
        await store.cancel_outbox(case, queued.message_id, author="alice")
    assert refused.value.reason == "claimed"
    # The lease has run out, but a slow relay worker may still be sending it.
    await store.claim_outbox(lease=LEASE, now=NOW + 2 * LEASE)
    with pytest.raises(NotCancellableError):
        await store.cancel_outbox(case, queued.message_id, author="alice")
    kept = await store.get_outbox(queued.outbox_id)
    assert kept is not None and kept.status is OutboxStatus.CLAIMED
    assert await store.get_envelope(queued.message_id) is not None


async def test_a_sent_or_failed_reply_is_refused(store: Store, case: str) -> None:
    first, second = await _reply(store), await _reply(store)
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    assert claim is not None and claim.claim_token is not None
    await store.mark_outbox_sent(claim.outbox_id, claim.claim_token, sent_ref=b"ref")
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    assert claim is not None and claim.claim_token is not None
    await store.fail_outbox(claim.outbox_id, claim.claim_token, error="bad_request")
    for item, reason in ((first, "sent"), (second, "failed")):
        assert item.message_id is not None
        with pytest.raises(NotCancellableError) as refused:
            await store.cancel_outbox(case, item.message_id, author="alice")
        assert refused.value.reason == reason
        assert await store.get_envelope(item.message_id) is not None
    states = [item.status for item in await store.list_outbox(case)]
    assert states == [OutboxStatus.SENT, OutboxStatus.FAILED]


async def test_another_handlers_reply_is_refused(store: Store, case: str) -> None:
    queued = await _reply(store, author="alice")
    assert queued.message_id is not None
    with pytest.raises(NotCancellableError) as refused:
        await store.cancel_outbox(case, queued.message_id, author="bob")
    assert (refused.value.reason, refused.value.author) == ("not_author", "alice")
    kept = await store.get_outbox(queued.outbox_id)
    assert kept is not None and kept.status is OutboxStatus.PENDING
    # An item queued before the store kept authors belongs to nobody.
    legacy = await _reply(store, author=None)
    assert legacy.message_id is not None
    with pytest.raises(NotCancellableError) as refused:
        await store.cancel_outbox(case, legacy.message_id, author="alice")
    assert (refused.value.reason, refused.value.author) == ("not_author", None)


async def test_only_in_its_own_case(store: Store, case: str) -> None:
    queued = await _reply(store)
    assert queued.message_id is not None
    with pytest.raises(NotFoundError):
        await store.cancel_outbox(OTHER_CASE, queued.message_id, author="alice")
    with pytest.raises(NotFoundError):
        await store.cancel_outbox(case, new_id(), author="alice")
    assert await store.get_outbox(queued.outbox_id) is not None


async def test_a_reply_waiting_for_a_retry_can_be_cancelled(store: Store, case: str) -> None:
    queued = await _reply(store)
    assert queued.message_id is not None
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    assert claim is not None and claim.claim_token is not None
    later = NOW + timedelta(seconds=30)
    await store.retry_outbox(claim.outbox_id, claim.claim_token, not_before=later, error="network")
    cancelled = await store.cancel_outbox(case, queued.message_id, author="alice")
    # What the console needs to warn that an earlier attempt may have got through.
    assert (cancelled.attempts, cancelled.last_error) == (1, "network")
    assert await store.claim_outbox(lease=LEASE, now=later) is None


async def test_a_copy_another_outbox_item_refers_to_stays(store: Store, case: str) -> None:
    failed = await _reply(store)
    assert failed.message_id is not None
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    assert claim is not None and claim.claim_token is not None
    await store.fail_outbox(claim.outbox_id, claim.claim_token, error="gave_up")
    again = await store.enqueue_outbox(
        case, b"sealed-again", message_id=failed.message_id, author="alice", now=NOW
    )
    await store.cancel_outbox(case, failed.message_id, author="alice")
    assert await store.get_outbox(again.outbox_id) is None
    assert await store.get_envelope(failed.message_id) is not None  # the failed item's


async def test_a_cancel_in_a_transaction_that_rolls_back_is_undone(store: Store, case: str) -> None:
    queued = await _reply(store)
    assert queued.message_id is not None
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.cancel_outbox(case, queued.message_id, author="alice")
            raise RuntimeError("the audit entry could not be written")
    kept = await store.get_outbox(queued.outbox_id)
    assert kept is not None and kept.status is OutboxStatus.PENDING
    assert await store.get_envelope(queued.message_id) is not None


async def test_cancel_and_claim_racing_never_both_win(
    store: Store, case: str, backend: Backend
) -> None:
    relay = await backend.open()  # the relay's own connections, as in production
    try:
        for _ in range(25):
            queued = await _reply(store)
            assert queued.message_id is not None
            claimed, cancelled = await asyncio.gather(
                relay.claim_outbox(lease=LEASE, now=NOW),
                store.cancel_outbox(case, queued.message_id, author="alice"),
                return_exceptions=True,
            )
            if isinstance(cancelled, OutboxItem):
                assert claimed is None
                assert await store.get_outbox(queued.outbox_id) is None
            else:
                assert isinstance(cancelled, NotCancellableError), cancelled
                assert cancelled.reason == "claimed"
                assert isinstance(claimed, OutboxItem)
                assert claimed.outbox_id == queued.outbox_id
                assert claimed.claim_token is not None
                await relay.mark_outbox_sent(claimed.outbox_id, claimed.claim_token, sent_ref=b"r")
    finally:
        await relay.close()


async def test_the_author_is_checked_like_a_handler_name(store: Store, case: str) -> None:
    with pytest.raises(ValueError):
        await store.enqueue_outbox(case, b"env", author=" alice")
    with pytest.raises(ValueError):
        await store.cancel_outbox(case, new_id(), author="")
