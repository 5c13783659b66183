"""Cases, assignments and settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store import (
    CaseFlag,
    CaseStatus,
    ConflictError,
    Direction,
    IntegrityError,
    NotFoundError,
)

from .conftest import NOW, case_ids, new_case, new_id

LOOKUP = b"L" * 32


async def test_create_and_get_case(store):
    created = await new_case(
        store,
        lookup_hash=LOOKUP,
        sealed_chat_ref=b"sealed-chat",
        recovery_hash=b"argon2id-hash",
        now=NOW + timedelta(hours=11, minutes=59),
    )
    assert created.status is CaseStatus.OPEN
    assert created.created_on == NOW.date()
    assert created.last_activity_on == NOW.date()
    assert created.flags == frozenset()
    assert created.lookup_hash == LOOKUP
    assert await store.get_case(created.case_id) == created
    assert await store.get_case_by_lookup_hash(LOOKUP) == created
    assert await store.get_case("NONE-NONE-NONE") is None
    assert await store.get_case_by_lookup_hash(b"x" * 32) is None


async def test_created_day_is_coarse(store):
    late = await new_case(store, now=NOW.replace(hour=23, minute=59, second=59))
    assert late.created_on == NOW.date()
    assert "created_at" not in late.model_dump()


async def test_duplicate_case_id_or_lookup_hash_conflicts(store):
    await new_case(store, lookup_hash=LOOKUP)
    with pytest.raises(ConflictError):
        await new_case(store)
    with pytest.raises(ConflictError):
        await new_case(store, "OTHR-CASE-0001", lookup_hash=LOOKUP)
    assert await store.count_cases() == 1


async def test_forget_clears_lookup_hash_and_frees_it(store):
    case = await new_case(store, lookup_hash=LOOKUP)
    await store.set_case_lookup_hash(case.case_id, None)
    await store.set_case_flag(case.case_id, CaseFlag.FORGOTTEN)
    assert await store.get_case_by_lookup_hash(LOOKUP) is None
    forgotten = await store.get_case(case.case_id)
    assert forgotten.lookup_hash is None
    assert forgotten.flags == {CaseFlag.FORGOTTEN}
    # Two forgotten cases may both have no lookup hash; the hash can be reused.
    other = await new_case(store, "OTHR-CASE-0001", lookup_hash=LOOKUP)
    await store.set_case_lookup_hash(other.case_id, None)
    await new_case(store, "THRD-CASE-0001", lookup_hash=LOOKUP)


async def test_set_lookup_hash_to_a_taken_one_conflicts(store):
    await new_case(store, lookup_hash=LOOKUP)
    other = await new_case(store, "OTHR-CASE-0001")
    with pytest.raises(ConflictError):
        await store.set_case_lookup_hash(other.case_id, LOOKUP)


async def test_case_updates(store):
    case = await new_case(store)
    await store.set_case_status(case.case_id, CaseStatus.CLOSED)
    await store.set_case_flag(case.case_id, CaseFlag.UNREACHABLE)
    await store.set_case_flag(case.case_id, CaseFlag.NEEDS_REASSIGNMENT)
    await store.set_case_flag(case.case_id, CaseFlag.UNREACHABLE, on=False)
    await store.set_case_chat_ref(case.case_id, b"new-chat-ref")
    await store.set_case_language(case.case_id, "uk")
    await store.set_case_recovery_hash(case.case_id, b"new-recovery")
    got = await store.get_case(case.case_id)
    assert got.status is CaseStatus.CLOSED
    assert got.flags == {CaseFlag.NEEDS_REASSIGNMENT}
    assert got.sealed_chat_ref == b"new-chat-ref"
    assert got.language == "uk"
    assert got.recovery_hash == b"new-recovery"
    await store.set_case_chat_ref(case.case_id, None)
    await store.set_case_recovery_hash(case.case_id, None)
    got = await store.get_case(case.case_id)
    assert got.sealed_chat_ref is None and got.recovery_hash is None


@pytest.mark.parametrize(
    "change",
    [
        lambda s, c: s.set_case_status(c, CaseStatus.CLOSED),
        lambda s, c: s.set_case_flag(c, CaseFlag.FORGOTTEN),
        lambda s, c: s.set_case_chat_ref(c, b"x"),
        lambda s, c: s.set_case_lookup_hash(c, None),
        lambda s, c: s.set_case_language(c, "en"),
        lambda s, c: s.set_case_recovery_hash(c, None),
        lambda s, c: s.touch_case(c),
    ],
)
async def test_updating_a_missing_case_is_not_found(store, change):
    with pytest.raises(NotFoundError):
        await change(store, "NONE-NONE-NONE")


async def test_touch_moves_case_to_the_top(store):
    ids = case_ids(3)
    for case_id in ids:
        await new_case(store, case_id)
    assert [c.case_id for c in await store.list_cases()] == ids[::-1]
    seq = await store.touch_case(ids[0], now=NOW + timedelta(days=2))
    listed = await store.list_cases()
    assert [c.case_id for c in listed] == [ids[0], ids[2], ids[1]]
    assert listed[0].activity_seq == seq
    assert listed[0].last_activity_on == (NOW + timedelta(days=2)).date()


async def test_list_cases_pages_in_activity_order(store):
    ids = case_ids(25)
    for case_id in ids:
        await new_case(store, case_id)
    seen = []
    cursor = None
    while True:
        page = await store.list_cases(before_activity=cursor, limit=10)
        if not page:
            break
        seen.extend(c.case_id for c in page)
        cursor = page[-1].activity_seq
    assert seen == ids[::-1]
    activity = [c.activity_seq for c in await store.list_cases(limit=25)]
    assert activity == sorted(activity, reverse=True)


async def test_list_and_count_cases_by_status_flag_and_handler(store):
    await store.add_handler("alice", b"cert-a", now=NOW)
    await store.add_handler("bob", b"cert-b", now=NOW)
    ids = case_ids(10)
    for i, case_id in enumerate(ids):
        await new_case(store, case_id)
        if i % 2:
            await store.set_case_status(case_id, CaseStatus.CLOSED)
        if i % 3 == 0:
            await store.set_case_flag(case_id, CaseFlag.UNREACHABLE)
        await store.assign_handler(case_id, "alice" if i < 6 else "bob")

    async def listed(**filters):
        cases = await store.list_cases(**filters, limit=100)
        assert await store.count_cases(**filters) == len(cases)
        return [c.case_id for c in cases]

    assert await listed() == ids[::-1]
    assert await listed(status=CaseStatus.OPEN) == [ids[i] for i in (8, 6, 4, 2, 0)]
    assert await listed(flag=CaseFlag.UNREACHABLE) == [ids[i] for i in (9, 6, 3, 0)]
    assert await listed(handler="alice") == [ids[i] for i in (5, 4, 3, 2, 1, 0)]
    assert await listed(handler="bob", status=CaseStatus.OPEN) == [ids[8], ids[6]]
    assert await listed(handler="alice", flag=CaseFlag.UNREACHABLE) == [ids[3], ids[0]]
    assert await listed(status=CaseStatus.CLOSED, flag=CaseFlag.UNREACHABLE) == [ids[9], ids[3]]
    assert await listed(flag=CaseFlag.FORGOTTEN) == []
    assert await listed(handler="nobody") == []


async def test_handler_list_follows_activity(store):
    await store.add_handler("alice", b"cert", now=NOW)
    ids = case_ids(3)
    for case_id in ids:
        await new_case(store, case_id)
        await store.assign_handler(case_id, "alice")
    await store.add_envelope(new_id(), ids[0], Direction.IN, b"core", {}, now=NOW)
    assert [c.case_id for c in await store.list_cases(handler="alice")] == [
        ids[0],
        ids[2],
        ids[1],
    ]
    assert await store.list_handler_cases("alice") == [ids[0], ids[2], ids[1]]
    first = await store.list_cases(handler="alice", limit=2)
    rest = await store.list_cases(handler="alice", before_activity=first[-1].activity_seq)
    assert [c.case_id for c in first + rest] == [ids[0], ids[2], ids[1]]


async def test_assign_and_unassign(store):
    case = await new_case(store)
    await store.add_handler("alice", b"cert", now=NOW)
    await store.add_handler("bob", b"cert", now=NOW)
    assert await store.assign_handler(case.case_id, "bob") is True
    assert await store.assign_handler(case.case_id, "alice") is True
    assert await store.assign_handler(case.case_id, "alice") is False
    assert await store.list_case_handlers(case.case_id) == ["alice", "bob"]
    assert await store.list_handler_cases("alice") == [case.case_id]
    assert await store.unassign_handler(case.case_id, "alice") is True
    assert await store.unassign_handler(case.case_id, "alice") is False
    assert await store.list_case_handlers(case.case_id) == ["bob"]
    assert await store.list_handler_cases("alice") == []


async def test_assign_needs_a_known_case_and_handler(store):
    await store.add_handler("alice", b"cert", now=NOW)
    case = await new_case(store)
    with pytest.raises(NotFoundError):
        await store.assign_handler("NONE-NONE-NONE", "alice")
    with pytest.raises(IntegrityError):
        await store.assign_handler(case.case_id, "stranger")


async def test_delete_case_removes_everything_of_it(store):
    await store.add_handler("alice", b"cert", now=NOW)
    case = await new_case(store)
    keep = await new_case(store, "KEEP-CASE-0001")
    await store.assign_handler(case.case_id, "alice")
    message = new_id()
    await store.add_envelope(message, case.case_id, Direction.IN, b"core", {new_id(): b"w"})
    await store.add_envelope(new_id(), keep.case_id, Direction.IN, b"core", {})
    await store.add_attachment_chunk(new_id(), message, 0, b"chunk")
    await store.mark_read(case.case_id, "alice", 1)
    await store.enqueue_outbox(case.case_id, b"env", message_id=message)
    await store.add_scheduled_deletion(case.case_id, b"ref", due_at=NOW)
    await store.append_audit("relay", "case.create", case_id=case.case_id)
    assert await store.delete_case(case.case_id) is True
    assert await store.delete_case(case.case_id) is False
    assert await store.get_case(case.case_id) is None
    assert await store.get_envelope(message) is None
    assert await store.list_attachments(message) == []
    assert await store.list_case_handlers(case.case_id) == []
    assert await store.list_outbox(case.case_id) == []
    assert await store.count_scheduled_deletions() == 0
    assert await store.count_envelopes(keep.case_id) == 1
    # The audit log is append-only: its entry about the case stays, chain intact.
    assert len(await store.list_audit(case_id=case.case_id)) == 1
    assert (await store.verify_audit_chain()).ok


async def test_settings(store):
    assert await store.get_setting("telegram.offset") is None
    await store.set_setting("telegram.offset", "1001")
    await store.set_setting("telegram.offset", "1002")
    assert await store.get_setting("telegram.offset") == "1002"
    assert await store.delete_setting("telegram.offset") is True
    assert await store.delete_setting("telegram.offset") is False
    assert await store.get_setting("telegram.offset") is None


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.create_case("bad id!", language="en"), ValueError),
        (lambda s: s.create_case("ok-CASE-1", language="English"), ValueError),
        (
            lambda s: s.create_case("OKAY-CASE-0001", language="en", lookup_hash=b"short"),
            ValueError,
        ),
        (lambda s: s.create_case("OKAY-CASE-0001", language="en", sealed_chat_ref=b""), ValueError),
        (lambda s: s.create_case(123, language="en"), TypeError),
        (lambda s: s.list_cases(limit=0), ValueError),
        (lambda s: s.list_cases(limit=10_000), ValueError),
        (lambda s: s.list_cases(before_activity=-1), ValueError),
        (lambda s: s.list_cases(status="archived"), ValueError),
        (lambda s: s.set_setting("Bad Key", "v"), ValueError),
        (lambda s: s.set_setting("k", "line\nbreak"), ValueError),
    ],
)
async def test_bad_arguments_are_caller_errors(store, call, error):
    with pytest.raises(error):
        await call(store)


async def test_naive_datetime_is_refused(store):
    with pytest.raises(ValueError, match="timezone-aware"):
        await new_case(store, now=NOW.replace(tzinfo=None))


async def test_case_by_recovery_hash(store):
    case = await new_case(store, recovery_hash=b"R" * 32)
    assert await store.get_case_by_recovery_hash(b"R" * 32) == case
    assert await store.get_case_by_recovery_hash(b"S" * 32) is None
    with pytest.raises(ConflictError):
        await new_case(store, recovery_hash=b"R" * 32)
    await store.set_case_recovery_hash(case.case_id, None)
    assert await store.get_case_by_recovery_hash(b"R" * 32) is None
