"""Listing cases and reading threads: what an officer sees, and what is refused."""

from __future__ import annotations

import pytest

import store
from admin.enrolment import revoke_handler
from core.payload import Note, Reply, encode_body
from crypto import Direction, seal
from handlers._errors import NotAssignedError, UnknownCaseError
from handlers.cases import count_cases, list_cases, require_assigned, search_cases
from handlers.compose import send_reply
from handlers.thread import load_intake, load_page, load_thread
from store import CaseFlag, CaseStatus
from tests.handlers.conftest import CASE_A, CASE_B, CASE_C, NOW, World

#: Every test here runs on the store file and through the gateway (conftest.py).
BOTH_PATHS = True


async def test_the_list_holds_only_my_cases(cases: World) -> None:
    alice = await cases.session("alice")
    page = await list_cases(alice)
    assert [c.case_id for c in page.items] == [CASE_B, CASE_A]  # most recent first
    assert page.next_cursor is None
    a = page.items[1].to_json()
    assert a == {
        "case_id": CASE_A,
        "status": "open",
        "unread": 2,
        "last_activity": NOW.date().isoformat(),
        "assigned": ["alice"],
        "flags": ["new"],
        "language": "en",
    }
    assert await count_cases(alice) == 2


async def test_flags_unread_and_read_marks(cases: World) -> None:
    alice = await cases.session("alice")
    await cases.store.set_case_flag(CASE_A, CaseFlag.UNREACHABLE)
    await load_thread(alice, CASE_A)
    envelopes = await cases.store.list_envelopes(CASE_A, wraps="none")
    await cases.store.mark_read(CASE_A, "alice", envelopes[-1].seq)
    item = next(i for i in (await list_cases(alice)).items if i.case_id == CASE_A)
    assert (item.unread, item.new, item.flag_names()) == (0, False, ["unreachable"])
    await cases.incoming(CASE_A, "one more")
    item = next(i for i in (await list_cases(alice)).items if i.case_id == CASE_A)
    assert item.unread == 1
    flagged = await list_cases(alice, flag=CaseFlag.UNREACHABLE)
    assert [c.case_id for c in flagged.items] == [CASE_A]


async def test_pages_follow_the_cursor(world: World) -> None:
    ids = [f"PAGE-{i:04d}-TEST" for i in range(7)]
    for case_id in ids:
        await world.case(case_id, ["alice"])
    alice = await world.session("alice")
    first = await list_cases(alice, limit=3)
    second = await list_cases(alice, limit=3, before=first.next_cursor)
    third = await list_cases(alice, limit=3, before=second.next_cursor)
    seen = [c.case_id for p in (first, second, third) for c in p.items]
    assert seen == ids[::-1]
    assert third.next_cursor is None


async def test_search_by_fragment_or_as_typed(cases: World) -> None:
    alice = await cases.session("alice")
    assert [c.case_id for c in await search_cases(alice, "qx9b")] == [CASE_A]
    assert [c.case_id for c in await search_cases(alice, "7k3m qx9b 2hd4")] == [CASE_A]
    assert await search_cases(alice, CASE_C) == ()  # bob's case: not in alice's list
    assert await search_cases(alice, "zzzz") == ()


async def test_status_filter(cases: World) -> None:
    alice = await cases.session("alice")
    await cases.store.set_case_status(CASE_B, CaseStatus.CLOSED)
    assert [c.case_id for c in (await list_cases(alice, status=CaseStatus.OPEN)).items] == [CASE_A]
    closed = await list_cases(alice, status=CaseStatus.CLOSED)
    assert [c.case_id for c in closed.items] == [CASE_B]


async def test_unknown_and_foreign_cases_are_refused(cases: World) -> None:
    alice = await cases.session("alice")
    with pytest.raises(UnknownCaseError):
        await require_assigned(alice, "ZZZZ-ZZZZ-ZZZZ")
    with pytest.raises(UnknownCaseError):
        await require_assigned(alice, "[@click=app.quit]")
    with pytest.raises(NotAssignedError, match="not assigned to you"):
        await require_assigned(alice, CASE_C)
    assert (await require_assigned(alice, "7k3m-qx9b-2hd4")).case_id == CASE_A


async def test_thread_shows_edits_forwards_and_intake(cases: World) -> None:
    await cases.incoming(CASE_A, "Hello, I have documents (fixed typo)", ref=10, edit=True)
    await cases.incoming(
        CASE_A,
        "forwarded text",
        forward_origin={"type": "channel", "chat_title": "Ministry news", "date": 1700000000},
    )
    alice = await cases.session("alice")
    items = await load_thread(alice, CASE_A)
    assert [i.kind for i in items] == ["intake", "text", "text", "text"]
    assert items[1].edited_later and not items[1].edit
    assert items[2].edit and items[2].ref == 10
    assert items[3].forward_origin == {
        "type": "channel",
        "chat_title": "Ministry news",
        "date": 1700000000,
    }
    assert all(i.readable and i.direction is store.Direction.IN for i in items)
    intake = await load_intake(alice, CASE_A)
    assert [(a.question, a.choice or a.answer) for a in intake] == [
        ("relation", "employee"),
        ("topic", "Procurement fraud at the ministry"),
    ]
    assert "Hello" not in repr(items[1])  # plaintext stays out of reprs and logs


async def test_pages_of_a_long_thread(world: World) -> None:
    await world.case(CASE_A, ["alice"])
    for i in range(12):
        await world.incoming(CASE_A, f"message {i}")
    alice = await world.session("alice")
    newest = await load_page(alice, CASE_A, limit=5)
    assert [i.text for i in newest.items] == [f"message {i}" for i in range(7, 12)]
    middle = await load_page(alice, CASE_A, limit=5, before_seq=newest.older_cursor)
    assert [i.text for i in middle.items] == [f"message {i}" for i in range(2, 7)]
    oldest = await load_page(alice, CASE_A, limit=5, before_seq=middle.older_cursor)
    assert [i.text for i in oldest.items] == ["message 0", "message 1"]
    assert oldest.older_cursor is None


async def _tamper(world: World, case_id: str, index: int, change: bytes) -> None:
    """Replace an envelope's core straight in the database, as a thief of it could."""
    import sqlite3

    envelope = (await world.store.list_envelopes(case_id, wraps="none"))[index]
    core = bytearray(envelope.core)
    core[-100] ^= change[0]
    db = sqlite3.connect(world.config.store_url)
    db.execute("UPDATE envelopes SET core = ? WHERE seq = ?", (bytes(core), envelope.seq))
    db.commit()
    db.close()


async def test_an_altered_envelope_is_unreadable_not_half_read(cases: World) -> None:
    await _tamper(cases, CASE_A, 1, b"\x01")
    alice = await cases.session("alice")
    items = await load_thread(alice, CASE_A)
    assert items[0].readable
    assert not items[1].readable and items[1].text == "" and items[1].kind == "unreadable"


async def test_a_message_moved_to_another_case_is_unreadable(cases: World) -> None:
    import sqlite3

    moved = (await cases.store.list_envelopes(CASE_A, wraps="none"))[1]
    db = sqlite3.connect(cases.config.store_url)
    db.execute("UPDATE envelopes SET case_id = ? WHERE seq = ?", (CASE_B, moved.seq))
    db.commit()
    db.close()
    alice = await cases.session("alice")
    items = {i.message_id: i for i in await load_thread(alice, CASE_B)}
    assert len(items) == 2
    assert not items[moved.message_id].readable
    assert all(i.readable for m, i in items.items() if m != moved.message_id)


async def test_a_forged_incoming_message_signed_by_a_handler_is_unreadable(cases: World) -> None:
    bob = cases.identities["bob"]
    forged = seal(
        b'{"v":1,"type":"source","kind":"text","text":"forged"}',
        case_id=CASE_B,
        direction=Direction.IN,
        recipients=[cases.identities["alice"].encryption.public],
        signer=bob.signing,
    )
    await cases.store.add_envelope(
        b"\x01" * 16, CASE_B, store.Direction.IN, forged.core, dict(forged.wraps)
    )
    alice = await cases.session("alice")
    assert [i.readable for i in await load_thread(alice, CASE_B)] == [True, False]


async def test_a_body_that_does_not_match_its_direction_is_unreadable(cases: World) -> None:
    alice_keys = cases.identities["alice"]
    wrong = seal(
        encode_body(Note(text="a note dressed as a reply")),
        case_id=CASE_A,
        direction=Direction.OUT,
        recipients=[alice_keys.encryption.public],
        signer=alice_keys.signing,
    )
    await cases.store.add_envelope(
        b"\x02" * 16, CASE_A, store.Direction.OUT, wrong.core, dict(wrong.wraps)
    )
    alice = await cases.session("alice")
    assert not (await load_thread(alice, CASE_A))[-1].readable


async def test_replies_of_a_revoked_handler_stay_readable(cases: World) -> None:
    bob = await cases.session("bob")
    await send_reply(bob, CASE_B, "from bob, before he left")
    await revoke_handler(cases.store, cases.org, "bob", force=True)
    alice = await cases.session("alice")
    reply = (await load_thread(alice, CASE_B))[-1]
    assert reply.readable and reply.author == "bob"
    assert reply.text == "from bob, before he left" and reply.delivery == "pending"


async def test_a_reply_signed_by_an_uncertified_key_is_unreadable(cases: World) -> None:
    from handlers.identity import HandlerIdentity

    stranger = HandlerIdentity.generate("alice")
    alice_public = cases.identities["alice"].encryption.public
    forged = seal(
        encode_body(Reply(text="forged reply")),
        case_id=CASE_A,
        direction=Direction.OUT,
        recipients=[alice_public],
        signer=stranger.signing,
    )
    await cases.store.add_envelope(
        b"\x03" * 16, CASE_A, store.Direction.OUT, forged.core, dict(forged.wraps)
    )
    alice = await cases.session("alice")
    assert not (await load_thread(alice, CASE_A))[-1].readable
