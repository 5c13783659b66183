"""Envelopes, wraps, read marks and attachments."""

from __future__ import annotations

from datetime import timedelta

import pytest

from store import ConflictError, Direction, IntegrityError

from .conftest import NOW, new_case, new_id

ALICE_KEY = b"A" * 16
BOB_KEY = b"B" * 16
CAROL_KEY = b"C" * 16


@pytest.fixture
async def case(store):
    await store.add_handler("alice", b"cert", now=NOW)
    return await new_case(store)


async def add(store, case_id, direction=Direction.IN, wraps=None, now=NOW, core=None):
    message_id = new_id()
    if wraps is None:
        wraps = {ALICE_KEY: b"wrap-a-" + message_id, BOB_KEY: b"wrap-b-" + message_id}
    return await store.add_envelope(
        message_id, case_id, direction, core or b"core-" + message_id, wraps, now=now
    )


async def test_add_and_get_envelope(store, case):
    added = await add(store, case.case_id)
    assert added.direction is Direction.IN
    assert added.stored_on == NOW.date()
    got = await store.get_envelope(added.message_id)
    assert got == added
    assert set(got.wraps) == {ALICE_KEY, BOB_KEY}
    only_alice = await store.get_envelope(added.message_id, wraps=ALICE_KEY)
    assert only_alice.wraps == {ALICE_KEY: b"wrap-a-" + added.message_id}
    assert (await store.get_envelope(added.message_id, wraps="none")).wraps == {}
    assert (await store.get_envelope(added.message_id, wraps=CAROL_KEY)).wraps == {}
    assert await store.get_envelope(new_id()) is None


async def test_adding_an_envelope_touches_the_case(store, case):
    other = await new_case(store, "OTHR-CASE-0001")
    assert (await store.list_cases())[0].case_id == other.case_id
    await add(store, case.case_id, now=NOW + timedelta(days=3))
    top = (await store.list_cases())[0]
    assert top.case_id == case.case_id
    assert top.last_activity_on == (NOW + timedelta(days=3)).date()


async def test_duplicate_message_id_conflicts_and_leaves_nothing(store, case):
    added = await add(store, case.case_id)
    with pytest.raises(ConflictError):
        await store.add_envelope(
            added.message_id, case.case_id, Direction.OUT, b"other", {CAROL_KEY: b"w"}
        )
    assert await store.get_wraps(added.message_id, CAROL_KEY) == {}
    assert await store.count_envelopes(case.case_id) == 1


async def test_envelope_for_unknown_case_is_an_integrity_error(store):
    with pytest.raises(IntegrityError):
        await store.add_envelope(new_id(), "NONE-NONE-NONE", Direction.IN, b"core", {})


async def test_list_envelopes_pages_in_order(store, case):
    added = [await add(store, case.case_id, wraps={}) for _ in range(23)]
    seqs = [e.seq for e in added]
    assert seqs == sorted(seqs)
    pages, cursor = [], None
    while page := await store.list_envelopes(case.case_id, after_seq=cursor, limit=10):
        pages.append(page)
        cursor = page[-1].seq
    assert [len(p) for p in pages] == [10, 10, 3]
    assert [e.message_id for p in pages for e in p] == [e.message_id for e in added]
    newest = await store.list_envelopes(case.case_id, newest_first=True, limit=5)
    assert [e.seq for e in newest] == seqs[::-1][:5]
    older = await store.list_envelopes(
        case.case_id, newest_first=True, before_seq=newest[-1].seq, limit=5
    )
    assert [e.seq for e in older] == seqs[::-1][5:10]
    window = await store.list_envelopes(case.case_id, after_seq=seqs[2], before_seq=seqs[6])
    assert [e.seq for e in window] == seqs[3:6]


async def test_list_envelopes_keeps_cases_apart_and_selects_wraps(store, case):
    other = await new_case(store, "OTHR-CASE-0001")
    mine = [await add(store, case.case_id) for _ in range(3)]
    await add(store, other.case_id)
    listed = await store.list_envelopes(case.case_id, wraps=BOB_KEY)
    assert [e.message_id for e in listed] == [e.message_id for e in mine]
    assert all(set(e.wraps) == {BOB_KEY} for e in listed)
    assert all(e.wraps == {} for e in await store.list_envelopes(case.case_id, wraps="none"))
    assert all(len(e.wraps) == 2 for e in await store.list_envelopes(case.case_id))


async def test_count_envelopes(store, case):
    await add(store, case.case_id, Direction.IN)
    await add(store, case.case_id, Direction.IN)
    await add(store, case.case_id, Direction.OUT)
    await add(store, case.case_id, Direction.NOTE)
    assert await store.count_envelopes(case.case_id) == 4
    assert await store.count_envelopes(case.case_id, direction=Direction.IN) == 2
    assert await store.count_envelopes(case.case_id, direction=Direction.NOTE) == 1
    assert await store.count_envelopes("NONE-NONE-NONE") == 0


async def test_retention_deletes_old_envelopes_with_wraps_and_attachments(store, case):
    other = await new_case(store, "OTHR-CASE-0001")
    old = await add(store, case.case_id, now=NOW - timedelta(days=40))
    old_other = await add(store, other.case_id, now=NOW - timedelta(days=40))
    new = await add(store, case.case_id, now=NOW)
    attachment = new_id()
    await store.add_attachment_chunk(attachment, old.message_id, 0, b"chunk")
    outbox = await store.enqueue_outbox(case.case_id, b"env", message_id=old.message_id)
    cutoff = (NOW - timedelta(days=30)).date()
    assert await store.delete_envelopes_before(cutoff, case_id=other.case_id) == 1
    assert await store.get_envelope(old_other.message_id) is None
    assert await store.delete_envelopes_before(cutoff) == 1
    assert await store.get_envelope(old.message_id) is None
    assert await store.get_wraps(old.message_id) == {}
    assert await store.read_attachment_chunks(attachment) == []
    assert (await store.get_outbox(outbox.outbox_id)).message_id is None
    assert await store.get_envelope(new.message_id) is not None


async def test_delete_one_envelope(store, case):
    added = await add(store, case.case_id)
    assert await store.delete_envelope(added.message_id) is True
    assert await store.delete_envelope(added.message_id) is False
    assert await store.get_wraps(added.message_id) == {}


async def test_wraps_are_added_never_replaced(store, case):
    added = await add(store, case.case_id)
    assert await store.add_wraps(added.message_id, {CAROL_KEY: b"wrap-c"}) == 1
    # Re-running a re-wrap after a crash is harmless: the first wrap stays.
    assert await store.add_wraps(added.message_id, {CAROL_KEY: b"again", ALICE_KEY: b"x"}) == 0
    assert await store.get_wraps(added.message_id, CAROL_KEY) == {CAROL_KEY: b"wrap-c"}
    assert set(await store.get_wraps(added.message_id)) == {ALICE_KEY, BOB_KEY, CAROL_KEY}
    got = await store.get_envelope(added.message_id)
    assert got.core == added.core  # re-wrapping never touches the core
    with pytest.raises(IntegrityError):
        await store.add_wraps(new_id(), {CAROL_KEY: b"w"})


async def test_envelopes_lacking_a_wrap_drive_rewrapping(store, case):
    other = await new_case(store, "OTHR-CASE-0001")
    first = [await add(store, case.case_id) for _ in range(5)]
    elsewhere = await add(store, other.case_id)
    await store.add_wraps(first[1].message_id, {CAROL_KEY: b"c"})
    lacking = await store.list_envelopes_lacking_wrap(CAROL_KEY, case_id=case.case_id, limit=2)
    assert [e.message_id for e in lacking] == [first[0].message_id, first[2].message_id]
    rest = await store.list_envelopes_lacking_wrap(
        CAROL_KEY, case_id=case.case_id, after_seq=lacking[-1].seq, wraps=ALICE_KEY
    )
    assert [e.message_id for e in rest] == [first[3].message_id, first[4].message_id]
    assert all(set(e.wraps) == {ALICE_KEY} for e in rest)
    everywhere = await store.list_envelopes_lacking_wrap(CAROL_KEY)
    assert everywhere[-1].message_id == elsewhere.message_id
    for envelope in everywhere:
        await store.add_wraps(envelope.message_id, {CAROL_KEY: b"c"})
    assert await store.list_envelopes_lacking_wrap(CAROL_KEY) == []


async def test_delete_wraps_of_a_key(store, case):
    other = await new_case(store, "OTHR-CASE-0001")
    mine = [await add(store, case.case_id) for _ in range(3)]
    theirs = await add(store, other.case_id)
    assert await store.delete_wraps(BOB_KEY, case_id=case.case_id) == 3
    assert set(await store.get_wraps(theirs.message_id)) == {ALICE_KEY, BOB_KEY}
    for envelope in mine:
        assert set(await store.get_wraps(envelope.message_id)) == {ALICE_KEY}
    assert await store.delete_wraps(BOB_KEY) == 1
    assert await store.delete_wraps(BOB_KEY) == 0


async def test_read_marks_and_unread_counts(store, case):
    other = await new_case(store, "OTHR-CASE-0001")
    ins = [await add(store, case.case_id, Direction.IN) for _ in range(4)]
    await add(store, case.case_id, Direction.OUT)
    await add(store, case.case_id, Direction.NOTE)
    await add(store, other.case_id, Direction.IN)
    ids = [case.case_id, other.case_id, "NONE-NONE-NONE"]
    assert await store.get_read_mark(case.case_id, "alice") == 0
    assert await store.unread_counts("alice", ids) == {
        case.case_id: 4,
        other.case_id: 1,
        "NONE-NONE-NONE": 0,
    }
    await store.mark_read(case.case_id, "alice", ins[1].seq)
    assert (await store.unread_counts("alice", ids))[case.case_id] == 2
    await store.mark_read(case.case_id, "alice", ins[0].seq)  # never moves back
    assert await store.get_read_mark(case.case_id, "alice") == ins[1].seq
    assert await store.read_marks("alice", ids) == {
        case.case_id: ins[1].seq,
        other.case_id: 0,
        "NONE-NONE-NONE": 0,
    }
    assert await store.read_marks("bob", ids) == dict.fromkeys(ids, 0)
    await store.mark_read(case.case_id, "alice", ins[3].seq)
    assert (await store.unread_counts("alice", ids))[case.case_id] == 0
    assert await store.unread_counts("alice", []) == {}
    assert await store.read_marks("alice", []) == {}
    with pytest.raises(TypeError):
        await store.read_marks("alice", case.case_id)
    with pytest.raises(IntegrityError):
        await store.mark_read(case.case_id, "stranger", 1)


async def test_attachments_in_chunks(store, case):
    envelope = await add(store, case.case_id)
    first, second = new_id(), new_id()
    for index in (2, 0, 1):
        await store.add_attachment_chunk(first, envelope.message_id, index, bytes([index]) * 10)
    await store.add_attachment_chunk(second, envelope.message_id, 0, b"x" * 5)
    listed = await store.list_attachments(envelope.message_id)
    assert [(a.attachment_id, a.chunks, a.size) for a in listed] == [
        (first, 3, 30),
        (second, 1, 5),
    ]
    assert await store.read_attachment_chunks(first) == [b"\0" * 10, b"\1" * 10, b"\2" * 10]
    assert await store.read_attachment_chunks(first, start=1, limit=1) == [b"\1" * 10]
    with pytest.raises(ConflictError):
        await store.add_attachment_chunk(first, envelope.message_id, 1, b"again")
    other = await add(store, case.case_id)
    with pytest.raises(IntegrityError):
        await store.add_attachment_chunk(first, other.message_id, 3, b"moved")
    with pytest.raises(IntegrityError):
        await store.add_attachment_chunk(new_id(), new_id(), 0, b"orphan")


@pytest.mark.parametrize(
    "call",
    [
        lambda s, c: s.add_envelope(b"short", c, Direction.IN, b"core", {}),
        lambda s, c: s.add_envelope(new_id(), c, "sideways", b"core", {}),
        lambda s, c: s.add_envelope(new_id(), c, Direction.IN, b"", {}),
        lambda s, c: s.add_envelope(new_id(), c, Direction.IN, b"core", {b"k": b"w"}),
        lambda s, c: s.add_envelope(new_id(), c, Direction.IN, b"core", {b"k" * 16: b""}),
        lambda s, c: s.list_envelopes(c, wraps="some"),
        lambda s, c: s.list_envelopes(c, wraps=b"short"),
        lambda s, c: s.get_wraps(new_id(), b"short"),
        lambda s, c: s.unread_counts("alice", "ABCD-EFGH-JKMN"),
    ],
)
async def test_bad_message_arguments_are_caller_errors(store, case, call):
    with pytest.raises((ValueError, TypeError)):
        await call(store, case.case_id)
