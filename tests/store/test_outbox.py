"""Reply delivery (outbox) and scheduled deletions: claims, leases, order."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from store import Direction, LeaseLostError, NotFoundError, OutboxStatus

from .conftest import NOW, Backend, case_ids, new_case, new_id

LEASE = timedelta(seconds=60)


async def test_enqueue_claim_send(store):
    case = await new_case(store)
    message = new_id()
    await store.add_envelope(message, case.case_id, Direction.OUT, b"core", {}, now=NOW)
    queued = await store.enqueue_outbox(case.case_id, b"sealed-to-bot", message_id=message, now=NOW)
    assert queued.status is OutboxStatus.PENDING
    assert queued.attempts == 0 and queued.not_before == NOW and queued.message_id == message
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    assert claim.outbox_id == queued.outbox_id
    assert claim.status is OutboxStatus.CLAIMED
    assert claim.attempts == 1
    assert claim.claimed_until == NOW + LEASE
    assert claim.envelope == b"sealed-to-bot"
    assert len(claim.claim_token) == 16
    assert await store.claim_outbox(lease=LEASE, now=NOW) is None
    await store.mark_outbox_sent(
        claim.outbox_id,
        claim.claim_token,
        sent_ref=b"sealed-telegram-message-id",
        self_destruct_at=NOW + timedelta(days=1),
    )
    sent = await store.get_outbox(claim.outbox_id)
    assert sent.status is OutboxStatus.SENT
    assert sent.envelope is None  # the delivery-key copy is wiped once sent
    assert sent.sent_ref == b"sealed-telegram-message-id"
    assert sent.self_destruct_at == NOW + timedelta(days=1)
    assert sent.claim_token is None and sent.claimed_until is None
    assert sent.not_before == NOW.replace(hour=0)  # only the day is kept
    assert await store.count_outbox_backlog() == 0
    assert await store.list_outbox(case.case_id) == [sent]


async def test_not_before_is_respected(store):
    case = await new_case(store)
    await store.enqueue_outbox(case.case_id, b"env", not_before=NOW + timedelta(minutes=5))
    assert await store.claim_outbox(lease=LEASE, now=NOW) is None
    assert await store.claim_outbox(lease=LEASE, now=NOW + timedelta(minutes=5)) is not None


async def test_retry_later_then_fail(store):
    case = await new_case(store)
    await store.enqueue_outbox(case.case_id, b"env", now=NOW)
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    later = NOW + timedelta(seconds=30)
    await store.retry_outbox(claim.outbox_id, claim.claim_token, not_before=later, error="http_429")
    waiting = await store.get_outbox(claim.outbox_id)
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.last_error == "http_429" and waiting.not_before == later
    assert waiting.claim_token is None
    assert await store.claim_outbox(lease=LEASE, now=NOW + timedelta(seconds=29)) is None
    again = await store.claim_outbox(lease=LEASE, now=later)
    assert again.attempts == 2
    assert again.claim_token != claim.claim_token
    await store.fail_outbox(again.outbox_id, again.claim_token, error="http_403")
    failed = await store.get_outbox(again.outbox_id)
    assert failed.status is OutboxStatus.FAILED
    assert failed.last_error == "http_403"
    assert failed.envelope is None
    assert await store.count_outbox_backlog() == 0
    with pytest.raises(ValueError):
        await store.fail_outbox(
            again.outbox_id, again.claim_token, error="Forbidden: bot was blocked"
        )


async def test_expired_lease_can_be_reclaimed_and_the_old_claim_is_lost(store):
    case = await new_case(store)
    await store.enqueue_outbox(case.case_id, b"env", now=NOW)
    crashed = await store.claim_outbox(lease=LEASE, now=NOW)
    assert await store.claim_outbox(lease=LEASE, now=NOW + LEASE - timedelta(seconds=1)) is None
    taken_over = await store.claim_outbox(lease=LEASE, now=NOW + LEASE)
    assert taken_over.outbox_id == crashed.outbox_id
    assert taken_over.attempts == 2
    with pytest.raises(LeaseLostError):
        await store.mark_outbox_sent(crashed.outbox_id, crashed.claim_token, sent_ref=b"r")
    with pytest.raises(LeaseLostError):
        await store.retry_outbox(
            crashed.outbox_id, crashed.claim_token, not_before=NOW, error="timeout"
        )
    await store.mark_outbox_sent(taken_over.outbox_id, taken_over.claim_token, sent_ref=b"r")
    with pytest.raises(LeaseLostError):  # finishing twice
        await store.fail_outbox(taken_over.outbox_id, taken_over.claim_token, error="late")
    with pytest.raises(NotFoundError):
        await store.mark_outbox_sent(999, taken_over.claim_token, sent_ref=b"r")


async def test_a_late_but_unclaimed_lease_still_counts(store):
    case = await new_case(store)
    await store.enqueue_outbox(case.case_id, b"env", now=NOW)
    slow = await store.claim_outbox(lease=LEASE, now=NOW)
    await store.mark_outbox_sent(slow.outbox_id, slow.claim_token, sent_ref=b"r")
    assert (await store.get_outbox(slow.outbox_id)).status is OutboxStatus.SENT


async def test_one_case_is_delivered_in_order(store):
    first_case = await new_case(store)
    other_case = await new_case(store, "OTHR-CASE-0001")
    a1 = await store.enqueue_outbox(first_case.case_id, b"a1", now=NOW)
    a2 = await store.enqueue_outbox(first_case.case_id, b"a2", now=NOW)
    b1 = await store.enqueue_outbox(other_case.case_id, b"b1", now=NOW)
    claims = [await store.claim_outbox(lease=LEASE, now=NOW) for _ in range(3)]
    # a2 waits while a1 is claimed; b1 of another case goes meanwhile.
    assert [c.outbox_id if c else None for c in claims] == [a1.outbox_id, b1.outbox_id, None]
    await store.mark_outbox_sent(b1.outbox_id, claims[1].claim_token, sent_ref=b"r")
    # a1 backs off: a2 still waits behind it.
    await store.retry_outbox(
        a1.outbox_id, claims[0].claim_token, not_before=NOW + timedelta(minutes=1), error="http_5xx"
    )
    assert await store.claim_outbox(lease=LEASE, now=NOW) is None
    retried = await store.claim_outbox(lease=LEASE, now=NOW + timedelta(minutes=1))
    assert retried.outbox_id == a1.outbox_id
    await store.fail_outbox(retried.outbox_id, retried.claim_token, error="http_400")
    nxt = await store.claim_outbox(lease=LEASE, now=NOW + timedelta(minutes=1))
    assert nxt.outbox_id == a2.outbox_id


async def test_claims_are_exclusive_across_concurrent_claimers(backend: Backend):
    first = await backend.open()
    second = await backend.open()  # like a second relay process on the same database
    try:
        ids = case_ids(12)
        for case_id in ids:
            await new_case(first, case_id)
            await first.enqueue_outbox(case_id, b"env-" + case_id.encode(), now=NOW)

        async def claimer(store):
            mine = []
            while (claim := await store.claim_outbox(lease=LEASE, now=NOW)) is not None:
                mine.append(claim)
                await asyncio.sleep(0)
            return mine

        results = await asyncio.gather(*(claimer(s) for s in (first, second) * 3))
        claimed = [c.outbox_id for batch in results for c in batch]
        assert len(claimed) == len(ids)
        assert len(set(claimed)) == len(ids)
        tokens = {c.claim_token for batch in results for c in batch}
        assert len(tokens) == len(ids)
        assert await second.count_outbox_backlog() == len(ids)
    finally:
        await first.close()
        await second.close()


async def test_list_outbox_pages_by_id(store):
    case = await new_case(store)
    queued = [await store.enqueue_outbox(case.case_id, b"env", now=NOW) for _ in range(5)]
    page = await store.list_outbox(case.case_id, limit=3)
    rest = await store.list_outbox(case.case_id, after_id=page[-1].outbox_id)
    assert [o.outbox_id for o in page + rest] == [o.outbox_id for o in queued]
    assert await store.count_outbox_backlog() == 5


async def test_bad_lease_is_refused(store):
    with pytest.raises(ValueError):
        await store.claim_outbox(lease=timedelta(0), now=NOW)


async def test_scheduled_deletions_claim_due_and_delete(store):
    case = await new_case(store)
    due1 = await store.add_scheduled_deletion(
        case.case_id, b"ref-1", due_at=NOW - timedelta(hours=1)
    )
    due2 = await store.add_scheduled_deletion(case.case_id, b"ref-2", due_at=NOW)
    await store.add_scheduled_deletion(case.case_id, b"ref-3", due_at=NOW + timedelta(hours=1))
    assert await store.count_scheduled_deletions(case_id=case.case_id) == 3
    claimed = await store.claim_due_deletions(lease=LEASE, now=NOW)
    assert [d.deletion_id for d in claimed] == [due1.deletion_id, due2.deletion_id]
    assert claimed[0].sealed_ref == b"ref-1"
    assert claimed[0].claimed_until == NOW + LEASE
    assert await store.claim_due_deletions(lease=LEASE, now=NOW) == []
    assert await store.delete_scheduled_deletion(due1.deletion_id) is True
    assert await store.delete_scheduled_deletion(due1.deletion_id) is False
    # due2's worker crashed: its lease runs out and it is claimable again.
    again = await store.claim_due_deletions(lease=LEASE, now=NOW + LEASE)
    assert [d.deletion_id for d in again] == [due2.deletion_id]
    limited = await store.claim_due_deletions(lease=LEASE, limit=1, now=NOW + timedelta(hours=5))
    assert len(limited) == 1
    assert await store.count_scheduled_deletions() == 2
