"""What a relay key rotation, handler key renewal and retention need from the store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store import (
    CaseStatus,
    ConflictError,
    Direction,
    KeyPurpose,
    KeyStatus,
    NotFoundError,
    SealedKind,
)

from .conftest import NOW, case_ids, new_case, new_id

LEASE = timedelta(seconds=30)


def at(version: int, body: bytes = b"sealed") -> bytes:
    return version.to_bytes(4, "big") + body


def lookup(version: int, fill: bytes) -> bytes:
    return fill * 32 if version == 1 else version.to_bytes(4, "big") + fill * 32


async def test_list_sealed_finds_only_other_versions(store):
    ids = case_ids(4)
    for i, case_id in enumerate(ids):
        await new_case(store, case_id, sealed_chat_ref=at(1 + i % 2, bytes([i])))
    found = await store.list_sealed(SealedKind.CHAT_REF, except_version=2)
    assert [(i.key, i.context, i.value) for i in found] == [
        (ids[0], ids[0], at(1, b"\x00")),
        (ids[2], ids[2], at(1, b"\x02")),
    ]
    assert await store.count_sealed(SealedKind.CHAT_REF, except_version=2) == 2
    assert await store.count_sealed(SealedKind.CHAT_REF, except_version=1) == 2
    page = await store.list_sealed(SealedKind.CHAT_REF, except_version=2, limit=1)
    rest = await store.list_sealed(SealedKind.CHAT_REF, except_version=2, after=page[0].position)
    assert [i.key for i in page + rest] == [ids[0], ids[2]]


async def test_replace_sealed_is_compare_and_set(store):
    case = await new_case(store, sealed_chat_ref=at(1))
    changed = await store.replace_sealed(
        SealedKind.CHAT_REF, [(case.case_id, at(1, b"other"), at(2))]
    )
    assert changed == 0
    assert (await store.get_case(case.case_id)).sealed_chat_ref == at(1)
    assert await store.replace_sealed(SealedKind.CHAT_REF, [(case.case_id, at(1), at(2))]) == 1
    assert (await store.get_case(case.case_id)).sealed_chat_ref == at(2)
    assert await store.count_sealed(SealedKind.CHAT_REF, except_version=2) == 0
    assert await store.replace_sealed(SealedKind.CHAT_REF, []) == 0


async def test_a_forgotten_chat_is_not_brought_back(store):
    case = await new_case(store, sealed_chat_ref=at(1))
    [item] = await store.list_sealed(SealedKind.CHAT_REF, except_version=2)
    await store.set_case_chat_ref(case.case_id, None)  # /forget meanwhile
    assert await store.replace_sealed(SealedKind.CHAT_REF, [(item.key, item.value, at(2))]) == 0
    assert (await store.get_case(case.case_id)).sealed_chat_ref is None


async def test_lookup_hashes_by_version(store):
    a, b, c = case_ids(3)
    await new_case(store, a, lookup_hash=lookup(1, b"a"))
    await new_case(store, b, lookup_hash=lookup(2, b"b"))
    await new_case(store, c, lookup_hash=lookup(3, b"c"))
    await new_case(store, "NO-LOOKUP-0001")
    # A 32-byte hash is version 1, whatever its first bytes say.
    await new_case(store, "OLD-LOOKUP-0001", lookup_hash=(2).to_bytes(4, "big") + b"x" * 28)
    found = await store.list_sealed(SealedKind.LOOKUP_HASH, except_version=2)
    assert sorted(i.key for i in found) == sorted([a, c, "OLD-LOOKUP-0001"])


async def test_replacing_a_lookup_hash_never_takes_anothers(store):
    a, b = case_ids(2)
    await new_case(store, a, lookup_hash=lookup(1, b"a"))
    await new_case(store, b, lookup_hash=lookup(2, b"b"))
    changes = [(a, lookup(1, b"a"), lookup(2, b"b"))]  # already b's: left alone
    assert await store.replace_sealed(SealedKind.LOOKUP_HASH, changes) == 0
    assert (await store.get_case(a)).lookup_hash == lookup(1, b"a")
    with pytest.raises(ValueError):
        await store.replace_sealed(SealedKind.LOOKUP_HASH, [(a, lookup(1, b"a"), b"short")])


async def test_sealed_values_of_every_queue(store):
    case = await new_case(store)
    deletion = await store.add_scheduled_deletion(case.case_id, at(1, b"d"), due_at=NOW)
    await store.put_inbox(42, at(1, b"u"), now=NOW)
    await store.put_dialogue(b"L" * 32, at(1, b"s"), expires_at=NOW + timedelta(days=1))
    queued = await store.enqueue_outbox(case.case_id, b"envelope", now=NOW)
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    await store.mark_outbox_sent(queued.outbox_id, claim.claim_token, sent_ref=at(1, b"r"))

    expected = {
        SealedKind.DELETION_REF: (str(deletion.deletion_id), case.case_id),
        SealedKind.INBOX: ("42", "42"),
        SealedKind.DIALOGUE: ((b"L" * 32).hex(), (b"L" * 32).hex()),
        SealedKind.SENT_REF: (str(queued.outbox_id), case.case_id),
    }
    for kind, (key, context) in expected.items():
        [item] = await store.list_sealed(kind, except_version=2)
        assert (item.kind, item.key, item.context) == (kind, key, context)
        assert await store.replace_sealed(kind, [(item.key, item.value, at(2))]) == 1
        assert await store.list_sealed(kind, except_version=2) == []
    assert (await store.list_inbox())[0].sealed_update == at(2)
    assert (await store.get_dialogue(b"L" * 32, now=NOW)).sealed_state == at(2)
    assert (await store.get_outbox(queued.outbox_id)).sent_ref == at(2)


async def test_outbox_backlog_and_envelope_swap(store):
    case = await new_case(store)
    first = await store.enqueue_outbox(case.case_id, b"one", now=NOW)
    second = await store.enqueue_outbox(case.case_id, b"two", now=NOW)
    claim = await store.claim_outbox(lease=LEASE, now=NOW)
    await store.mark_outbox_sent(first.outbox_id, claim.claim_token, sent_ref=b"ref")
    backlog = await store.list_outbox_backlog()
    assert [i.outbox_id for i in backlog] == [second.outbox_id]
    assert await store.list_outbox_backlog(after_id=second.outbox_id) == []
    assert await store.replace_outbox_envelope(second.outbox_id, b"stale", b"new") is False
    assert await store.replace_outbox_envelope(second.outbox_id, b"two", b"new") is True
    assert (await store.get_outbox(second.outbox_id)).envelope == b"new"
    # A delivered item's envelope is gone and stays gone.
    assert await store.replace_outbox_envelope(first.outbox_id, b"one", b"x") is False


async def test_renewed_certificates_are_kept(store):
    await store.add_handler("alice", b"cert-1", now=NOW)
    await store.set_handler_certificate("alice", b"cert-2")
    await store.set_handler_certificate("alice", b"cert-2")  # the same again: no entry
    await store.set_handler_certificate("alice", b"cert-3")
    past = await store.list_past_certificates(name="alice")
    assert [p.certificate for p in past] == [b"cert-1", b"cert-2"]
    assert (await store.get_handler("alice")).certificate == b"cert-3"
    assert [p.name for p in await store.list_past_certificates()] == ["alice", "alice"]
    with pytest.raises(NotFoundError):
        await store.set_handler_certificate("nobody", b"x")
    await store.revoke_handler("alice")
    with pytest.raises(ConflictError):
        await store.set_handler_certificate("alice", b"cert-4")
    assert len(await store.list_past_certificates(name="alice")) == 2


async def test_a_retired_signing_key_keeps_its_last_seq(store):
    await store.add_relay_key(KeyPurpose.SIGNING, 1, b"cert", now=NOW)
    assert (await store.get_relay_key(KeyPurpose.SIGNING, 1)).last_seq is None
    await store.set_relay_key_status(KeyPurpose.SIGNING, 1, KeyStatus.RETIRED, last_seq=17)
    await store.set_relay_key_status(KeyPurpose.SIGNING, 1, KeyStatus.RETIRED, last_seq=99)
    key = await store.get_relay_key(KeyPurpose.SIGNING, 1)
    assert (key.status, key.last_seq) == (KeyStatus.RETIRED, 17)


async def test_last_envelope_seq_survives_deletion(store):
    assert await store.last_envelope_seq() == 0
    case = await new_case(store)
    env = await store.add_envelope(new_id(), case.case_id, Direction.IN, b"core", {}, now=NOW)
    await store.delete_envelope(env.message_id)
    assert await store.last_envelope_seq() == env.seq


async def test_retention_counts_and_inactive_cases(store):
    old, fresh, old_open = case_ids(3)
    for case_id, days in ((old, 40), (fresh, 1), (old_open, 50)):
        await new_case(store, case_id, now=NOW - timedelta(days=days))
        env = await store.add_envelope(
            new_id(), case_id, Direction.IN, b"core", {}, now=NOW - timedelta(days=days)
        )
        await store.add_attachment_chunk(new_id(), env.message_id, 0, b"chunk")
    await store.set_case_status(old, CaseStatus.CLOSED)
    await store.set_case_status(fresh, CaseStatus.CLOSED)
    cutoff = (NOW - timedelta(days=30)).date()
    assert await store.count_envelopes_before(cutoff) == 2
    assert await store.count_attachments_before(cutoff) == 2
    inactive = await store.list_inactive_cases(before=cutoff)
    assert [c.case_id for c in inactive] == [old_open, old]  # least recent first
    closed = await store.list_inactive_cases(before=cutoff, status=CaseStatus.CLOSED)
    assert [c.case_id for c in closed] == [old]
    assert await store.count_inactive_cases(before=cutoff, status=CaseStatus.CLOSED) == 1
    with pytest.raises(TypeError):
        await store.count_envelopes_before(NOW)


async def test_last_processed_update_day(store):
    assert await store.last_processed_update_on() is None
    await store.finish_inbox(1, now=NOW - timedelta(days=2))
    await store.finish_inbox(2, now=NOW)
    assert await store.last_processed_update_on() == NOW.date()
