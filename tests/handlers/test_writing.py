"""Replies, notes, assignment, hand-over, close/reopen — and access by cryptography (P4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import store
from admin.enrolment import revoke_handler
from core.payload import Reply, SourceMessage, decode_body
from crypto import Direction, Envelope, InvalidEnvelope, open_envelope
from handlers._errors import ConsoleError, NotAssignedError, UnknownCaseError, UsageError
from handlers.compose import (
    cancel_reply,
    find_reply,
    format_duration,
    parse_duration,
    preview,
    send_note,
    send_reply,
)
from handlers.manage import assign, set_status
from handlers.session import Session
from handlers.thread import load_thread
from store import CaseStatus
from tests.handlers.conftest import CASE_A, CASE_B, CASE_C, World
from tests.support.world import roster_change

#: Every test here runs on the store file and through the gateway (conftest.py).
BOTH_PATHS = True


async def test_a_reply_is_stored_for_handlers_and_queued_for_the_relay(cases: World) -> None:
    alice = await cases.session("alice")
    sent = await send_reply(alice, CASE_B, "Thank you. Stay safe.", self_destruct_seconds=3600)
    ids = {name: cases.identities[name].key_id for name in ("alice", "bob", "carol")}
    relay_id = cases.relay.delivery.public.key_id

    stored = await cases.store.get_envelope(sent.message_id)
    assert stored is not None and stored.direction is store.Direction.OUT
    assert set(stored.wraps) == {ids["alice"], ids["bob"]}  # not the relay, not carol

    [queued] = await cases.store.list_outbox(CASE_B)
    assert queued.message_id == sent.message_id and queued.envelope is not None
    for_relay = Envelope.from_bytes(queued.envelope)
    assert set(for_relay.wraps) == {relay_id}
    assert for_relay.core == stored.core
    opened = open_envelope(
        for_relay,
        recipient=cases.relay.delivery,
        trusted_signers=[cases.identities["alice"].signing.public],
        expect_case_id=CASE_B,
        expect_direction=Direction.OUT,
    )
    body = decode_body(opened.plaintext)
    assert body == Reply(text="Thank you. Stay safe.", self_destruct_seconds=3600)
    assert opened.header.message_id == sent.message_id

    [entry] = [e for e in await cases.store.list_audit(case_id=CASE_B) if e.action == "reply"]
    # The gateway notes in its audit entry that the reply came through it.
    assert entry.actor == "handler alice"
    assert entry.detail == ("via gateway" if cases.remote else "")
    bob = await cases.session("bob")
    assert (await load_thread(bob, CASE_B))[-1].text == "Thank you. Stay safe."


async def test_the_author_cancels_a_queued_reply_and_the_audit_log_says_so(
    cases: World,
) -> None:
    alice = await cases.session("alice")
    sent = await send_reply(alice, CASE_B, "Wrong source: do not send.")
    assert await find_reply(alice, CASE_B.lower(), sent.message_id.hex()[:8]) == (
        CASE_B,
        sent.message_id,
    )
    bob = await cases.session("bob")
    with pytest.raises(ConsoleError, match="only its author, alice, can cancel it"):
        await cancel_reply(bob, CASE_B, sent.message_id)
    done = await cancel_reply(alice, CASE_B, sent.message_id)
    assert (done.case_id, done.warning) == (CASE_B, None)
    assert await cases.store.list_outbox(CASE_B) == []
    assert all(item.direction.value != "out" for item in await load_thread(bob, CASE_B))
    entries = await cases.store.list_audit(case_id=CASE_B)
    assert [e.action for e in entries] == ["reply", "reply-cancel"]
    assert (entries[1].actor, entries[1].detail) == (
        "handler alice",
        f"reply {sent.message_id.hex()}",
    )
    assert (await cases.store.verify_audit_chain()).ok
    with pytest.raises(UnknownCaseError):
        await cancel_reply(alice, CASE_B, sent.message_id)


async def test_a_reply_the_relay_has_claimed_cannot_be_cancelled(cases: World) -> None:
    alice = await cases.session("alice")
    sent = await send_reply(alice, CASE_A, "Already on its way.")
    claim = await cases.store.claim_outbox(lease=timedelta(seconds=60))
    assert claim is not None and claim.message_id == sent.message_id
    with pytest.raises(ConsoleError, match="the relay is sending it now"):
        await cancel_reply(alice, CASE_A, sent.message_id)
    assert [e.action for e in await cases.store.list_audit(case_id=CASE_A)] == ["reply"]
    with pytest.raises(UsageError):
        await find_reply(alice, CASE_A, "abc")
    with pytest.raises(NotAssignedError):
        await find_reply(alice, CASE_C, sent.message_id.hex())


async def test_the_relay_refuses_a_reply_signed_by_someone_else(cases: World) -> None:
    alice = await cases.session("alice")
    await send_reply(alice, CASE_A, "hi")
    [queued] = await cases.store.list_outbox(CASE_A)
    assert queued.envelope is not None
    with pytest.raises(InvalidEnvelope):
        open_envelope(
            Envelope.from_bytes(queued.envelope),
            recipient=cases.relay.delivery,
            trusted_signers=[cases.identities["bob"].signing.public],
            expect_case_id=CASE_A,
            expect_direction=Direction.OUT,
        )


async def test_replies_refused(cases: World) -> None:
    alice = await cases.session("alice")
    with pytest.raises(NotAssignedError):
        await send_reply(alice, CASE_C, "not mine")
    with pytest.raises(UnknownCaseError):
        await send_reply(alice, "ZZZZ-ZZZZ-ZZZZ", "nobody")
    with pytest.raises(UsageError, match="empty"):
        await send_reply(alice, CASE_A, "  \n ")
    with pytest.raises(UsageError, match="4000"):
        await send_reply(alice, CASE_A, "x" * 4001)
    await set_status(alice, CASE_A, CaseStatus.CLOSED)
    with pytest.raises(ConsoleError, match="closed"):
        await send_reply(alice, CASE_A, "too late")
    assert await cases.store.list_outbox(CASE_A) == []
    assert await cases.store.count_envelopes(CASE_A, direction=store.Direction.OUT) == 0


async def test_a_reply_to_an_unreachable_source_warns(cases: World) -> None:
    await cases.store.set_case_flag(CASE_A, store.CaseFlag.UNREACHABLE)
    alice = await cases.session("alice")
    sent = await send_reply(alice, CASE_A, "are you there?")
    assert sent.warning is not None and "blocked" in sent.warning


async def test_a_note_never_reaches_the_outbox(cases: World) -> None:
    alice = await cases.session("alice")
    sent = await send_note(alice, CASE_B, "Source seems credible; verify the tender number.")
    stored = await cases.store.get_envelope(sent.message_id)
    assert stored is not None and stored.direction is store.Direction.NOTE
    ids = {cases.identities[n].key_id for n in ("alice", "bob")}
    assert set(stored.wraps) == ids
    assert await cases.store.list_outbox(CASE_B) == []
    bob = await cases.session("bob")
    note = (await load_thread(bob, CASE_B))[-1]
    assert (note.kind, note.author, note.direction) == ("note", "alice", store.Direction.NOTE)


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("90s", 90), ("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("47h", 169200), ("45", 45)],
)
def test_self_destruct_times(typed: str, seconds: int) -> None:
    assert parse_duration(typed) == seconds


@pytest.mark.parametrize("typed", ["", "0s", "48h", "2d", "1x", "h", "-5m", "1h 2"])
def test_bad_self_destruct_times(typed: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(typed)


def test_durations_and_preview() -> None:
    assert format_duration(5400) == "1h30m" and format_duration(45) == "45s"
    assert preview("en", "<b>not bold</b>") == "Reply:\n<b>not bold</b>"
    assert preview("uk", "x").endswith("\nx")


async def _wraps_for(world: World, case_id: str, name: str) -> list[bool]:
    key_id = world.identities[name].key_id
    envelopes = await world.store.list_envelopes(case_id, wraps="all")
    return [key_id in e.wraps for e in envelopes]


async def _reads_nothing(world: World, session: Session, case_id: str) -> None:
    """On the store file nothing opens (no wrap); a gateway does not even serve it."""
    if world.remote:
        with pytest.raises(NotAssignedError):
            await load_thread(session, case_id)
    else:
        assert not any(i.readable for i in await load_thread(session, case_id))


async def test_only_assigned_handlers_can_decrypt_and_assign_grants_it(cases: World) -> None:
    """P4: access is a wrap for your key, not an access check."""
    alice_session = await cases.session("alice")
    await send_reply(alice_session, CASE_A, "a reply")
    await send_note(alice_session, CASE_A, "a note")
    assert await _wraps_for(cases, CASE_A, "bob") == [False] * 4

    # Even bypassing every check, bob's key opens nothing of the case.
    bob_keys = cases.identities["bob"]
    for envelope in await cases.store.list_envelopes(CASE_A):
        with pytest.raises(InvalidEnvelope):
            open_envelope(
                Envelope(envelope.core, envelope.wraps),
                recipient=bob_keys.encryption,
                trusted_signers=[cases.relay.signing.public, alice_session.me.signing.public],
                expect_case_id=CASE_A,
                expect_direction=Direction.IN,
            )
    bob = await cases.session("bob")
    await _reads_nothing(cases, bob, CASE_A)
    with pytest.raises(NotAssignedError):
        await send_note(bob, CASE_A, "x")

    done = await assign(alice_session, CASE_A, "bob")
    assert (done.rewrapped, done.unreadable, done.already_assigned) == (4, 0, False)
    assert await _wraps_for(cases, CASE_A, "bob") == [True] * 4
    assert await cases.store.list_case_handlers(CASE_A) == ["alice", "bob"]
    items = await load_thread(bob, CASE_A)
    assert all(i.readable for i in items)
    assert [i.text for i in items][1:] == [
        "Hello, I have documents about the tender.",
        "a reply",
        "a note",
    ]

    # The relay now wraps new messages for bob too; a second assign changes nothing.
    await cases.incoming(CASE_A, "after assignment")
    assert (await load_thread(bob, CASE_A))[-1].text == "after assignment"
    again = await assign(alice_session, CASE_A, "bob")
    assert (again.rewrapped, again.already_assigned) == (0, True)
    actions = [(e.actor, e.action, e.detail) for e in await cases.store.list_audit(case_id=CASE_A)]
    assert ("handler alice", "assign", "bob") in actions


async def test_hand_over_removes_the_officers_own_access(cases: World) -> None:
    alice = await cases.session("alice")
    done = await assign(alice, CASE_A, "carol", hand_over=True)
    assert done.handed_over and done.rewrapped == 2
    assert await cases.store.list_case_handlers(CASE_A) == ["carol"]
    assert await _wraps_for(cases, CASE_A, "alice") == [False, False]
    carol = await cases.session("carol")
    assert all(i.readable for i in await load_thread(carol, CASE_A))
    await _reads_nothing(cases, alice, CASE_A)
    with pytest.raises(NotAssignedError):
        await send_reply(alice, CASE_A, "x")


async def test_assign_refuses_strangers_and_oneself(cases: World) -> None:
    alice = await cases.session("alice")
    with pytest.raises(UnknownCaseError, match="no active, certified case officer"):
        await assign(alice, CASE_A, "mallory")
    await revoke_handler(cases.store, cases.org, "carol", force=True)
    await alice.workspace.reload()
    with pytest.raises(UnknownCaseError):
        await assign(alice, CASE_A, "carol")
    with pytest.raises(UsageError):
        await assign(alice, CASE_A, "alice")
    with pytest.raises(NotAssignedError):
        await assign(alice, CASE_C, "bob")
    assert await _wraps_for(cases, CASE_A, "carol") == [False, False]


async def test_assign_skips_what_the_officer_cannot_open(cases: World) -> None:
    # A message the relay sealed before alice was assigned: she has no wrap for it.
    await roster_change(cases.store, cases.org, "assign", case_id=CASE_A, name="bob")
    await roster_change(cases.store, cases.org, "leave", case_id=CASE_A, name="alice")
    await cases.incoming(CASE_A, "only bob can read this")
    await roster_change(cases.store, cases.org, "assign", case_id=CASE_A, name="alice")
    alice = await cases.session("alice")
    done = await assign(alice, CASE_A, "carol")
    assert (done.rewrapped, done.unreadable) == (2, 1)


async def test_close_and_reopen(cases: World) -> None:
    alice = await cases.session("alice")
    assert await set_status(alice, CASE_A, CaseStatus.CLOSED)
    assert not await set_status(alice, CASE_A, CaseStatus.CLOSED)
    case = await cases.store.get_case(CASE_A)
    assert case is not None and case.status is CaseStatus.CLOSED
    assert await set_status(alice, CASE_A, CaseStatus.OPEN)
    actions = [e.action for e in await cases.store.list_audit(case_id=CASE_A)]
    assert actions.count("close") == 1 and actions.count("reopen") == 1
    with pytest.raises(NotAssignedError):
        await set_status(alice, CASE_C, CaseStatus.CLOSED)


async def test_incoming_bodies_are_source_messages(cases: World) -> None:
    # The fixture seals exactly what the relay seals: a guard for the helpers themselves.
    alice = await cases.session("alice")
    envelope = (await cases.store.list_envelopes(CASE_A))[1]
    opened = open_envelope(
        Envelope(envelope.core, envelope.wraps),
        recipient=alice.me.encryption,
        trusted_signers=[cases.relay.signing.public],
        expect_case_id=CASE_A,
        expect_direction=Direction.IN,
    )
    assert isinstance(decode_body(opened.plaintext), SourceMessage)
