"""What a console does through the gateway: read the roster, its cases, sealed messages and
attachments; reply, note, mark read, hand a case over. Only ciphertext crosses; the
officer's own key opens it."""

from __future__ import annotations

import base64

import pytest

import store
from core.payload import Note, Reply, SourceMessage, decode_body
from core.roster import Roster, Signer
from crypto import Direction, Envelope, open_chunks, open_envelope

from .conftest import CASE_A, CASE_B, CASE_C, Running, World, b64

pytestmark = pytest.mark.asyncio


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


async def roster_of(gateway: Running, world: World, name: str) -> Roster:
    answer = await gateway.client.call(world.officers[name].signing, "GET", "/v1/roster")
    assert answer.status == 200
    return Roster.verify(world.org.public, [unb64(e) for e in answer.body["entries"]])


async def test_the_roster_is_served_as_stored_and_verifies(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    whole = await gateway.client.call(alice, "GET", "/v1/roster")
    entries = [unb64(e) for e in whole.body["entries"]]
    assert entries == await world.store.list_roster(after=0, limit=1000)
    roster = Roster.verify(world.org.public, entries)
    assert roster.assigned(CASE_B) == {"alice", "bob"}
    tail = await gateway.client.call(alice, "GET", "/v1/roster?after=3&limit=2")
    assert [unb64(e) for e in tail.body["entries"]] == entries[3:5]


async def test_the_case_list_shows_the_officers_cases_with_unread_counts(
    world: World, gateway: Running
) -> None:
    await world.incoming(CASE_B, "one")
    await world.incoming(CASE_B, "two")
    await world.incoming(CASE_A, "three")
    alice = world.officers["alice"].signing
    answer = await gateway.client.call(alice, "GET", "/v1/cases")
    assert answer.status == 200
    cases = {c["case_id"]: c for c in answer.body["cases"]}
    assert set(cases) == {CASE_A, CASE_B}
    assert cases[CASE_B]["unread"] == 2 and cases[CASE_A]["unread"] == 1
    assert cases[CASE_B]["assigned"] == ["alice", "bob"]
    assert cases[CASE_B]["status"] == "open" and cases[CASE_B]["language"] == "en"
    assert answer.body["next_before"] is None
    # Paged, most recently active first.
    page = await gateway.client.call(alice, "GET", "/v1/cases?limit=1")
    assert [c["case_id"] for c in page.body["cases"]] == [CASE_A]
    cursor = page.body["next_before"]
    rest = await gateway.client.call(alice, "GET", f"/v1/cases?limit=1&before={cursor}")
    assert [c["case_id"] for c in rest.body["cases"]] == [CASE_B]
    closed = await gateway.client.call(alice, "GET", "/v1/cases?status=closed")
    assert closed.body["cases"] == []
    one = await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_B}")
    assert one.body["case_id"] == CASE_B and one.body["unread"] == 2


async def test_envelopes_come_with_the_officers_wrap_only_and_open_with_their_key(
    world: World, gateway: Running
) -> None:
    first = await world.incoming(CASE_B, "the documents are in the usual place")
    await world.incoming(CASE_B, "second")
    bob = world.officers["bob"]
    answer = await gateway.client.call(bob.signing, "GET", f"/v1/cases/{CASE_B}/envelopes")
    items = answer.body["envelopes"]
    assert [i["direction"] for i in items] == ["in", "in"]
    assert unb64(items[0]["message_id"]) == first
    opened = open_envelope(
        Envelope(unb64(items[0]["core"]), {bob.encryption.public.key_id: unb64(items[0]["wrap"])}),
        recipient=bob.encryption,
        trusted_signers=[world.relay.signing.public],
        expect_case_id=CASE_B,
        expect_direction=Direction.IN,
    )
    body = decode_body(opened.plaintext)
    assert isinstance(body, SourceMessage) and body.text == "the documents are in the usual place"
    after = await gateway.client.call(
        bob.signing, "GET", f"/v1/cases/{CASE_B}/envelopes?after_seq={items[0]['seq']}"
    )
    assert [i["seq"] for i in after.body["envelopes"]] == [items[1]["seq"]]
    newest = await gateway.client.call(
        bob.signing, "GET", f"/v1/cases/{CASE_B}/envelopes?newest_first=true&limit=1"
    )
    assert [i["seq"] for i in newest.body["envelopes"]] == [items[1]["seq"]]


async def test_attachments_are_served_sealed_and_open_with_the_reference(
    world: World, gateway: Running
) -> None:
    data = bytes(range(256)) * 2000  # 512,000 bytes: two chunks
    message_id = await world.incoming(CASE_A, "a scan", attachments=[("scan.bin", data)])
    alice = world.officers["alice"]
    listed = await gateway.client.call(
        alice.signing, "GET", f"/v1/cases/{CASE_A}/attachments/{message_id.hex()}"
    )
    [attachment] = listed.body["attachments"]
    attachment_id = unb64(attachment["attachment_id"])
    path = f"/v1/cases/{CASE_A}/attachments/{message_id.hex()}/{attachment_id.hex()}"
    chunks = [
        unb64(c) for c in (await gateway.client.call(alice.signing, "GET", path)).body["chunks"]
    ]
    assert len(chunks) == attachment["chunks"] == 2
    # The key is in the message the officer opens; the gateway never had it.
    [envelope] = (
        await gateway.client.call(alice.signing, "GET", f"/v1/cases/{CASE_A}/envelopes")
    ).body["envelopes"]
    opened = open_envelope(
        Envelope(
            unb64(envelope["core"]), {alice.encryption.public.key_id: unb64(envelope["wrap"])}
        ),
        recipient=alice.encryption,
        trusted_signers=[world.relay.signing.public],
        expect_case_id=CASE_A,
        expect_direction=Direction.IN,
    )
    body = decode_body(opened.plaintext)
    assert isinstance(body, SourceMessage)
    [ref] = body.attachments
    plain = open_chunks(
        chunks, attachment_id=attachment_id, key=ref.key_bytes, sha256=bytes.fromhex(ref.sha256)
    )
    assert plain == data
    second = await gateway.client.call(alice.signing, "GET", path + "?start=1&limit=1")
    assert [unb64(c) for c in second.body["chunks"]] == chunks[1:]


async def test_a_reply_is_stored_queued_and_audited_as_the_console_does_it(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"]
    sealed = await world.sealed("alice", CASE_B, "Thank you. Stay safe.")
    answer = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_B}/replies", sealed)
    assert answer.status == 201, answer
    message_id = unb64(answer.body["message_id"])

    stored = await world.store.get_envelope(message_id)
    assert stored is not None and stored.direction is store.Direction.OUT
    ids = {n: world.officers[n].encryption.public.key_id for n in ("alice", "bob")}
    assert set(stored.wraps) == set(ids.values())  # not the relay's, not carol's
    [queued] = await world.store.list_outbox(CASE_B)
    assert queued.message_id == message_id and queued.author == "alice"
    assert queued.envelope is not None
    for_relay = Envelope.from_bytes(queued.envelope)
    assert set(for_relay.wraps) == {world.relay.delivery.public.key_id}
    assert for_relay.core == stored.core
    opened = open_envelope(
        for_relay,
        recipient=world.relay.delivery,
        trusted_signers=[alice.signing.public],
        expect_case_id=CASE_B,
        expect_direction=Direction.OUT,
    )
    assert decode_body(opened.plaintext) == Reply(text="Thank you. Stay safe.")
    [entry] = [e for e in await world.store.list_audit(case_id=CASE_B) if e.action == "reply"]
    assert entry.actor == "handler alice"
    # Bob reads it through the gateway too, with his own wrap.
    bob = world.officers["bob"]
    [item] = (await gateway.client.call(bob.signing, "GET", f"/v1/cases/{CASE_B}/envelopes")).body[
        "envelopes"
    ]
    assert item["direction"] == "out" and item["wrap"] is not None
    outbox = await gateway.client.call(bob.signing, "GET", f"/v1/cases/{CASE_B}/outbox")
    [state] = outbox.body["outbox"]
    assert state["status"] == "pending" and state["author"] == "alice"
    assert set(state) == {"outbox_id", "message_id", "status", "attempts", "last_error", "author"}
    # The same reply twice is one reply.
    again = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_B}/replies", sealed)
    assert again.status == 409
    assert len(await world.store.list_outbox(CASE_B)) == 1


async def test_a_note_is_stored_for_the_officers_and_never_queued(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"]
    sealed = await world.sealed("alice", CASE_B, "check the dates", direction=Direction.NOTE)
    answer = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_B}/notes", sealed)
    assert answer.status == 201
    stored = await world.store.get_envelope(unb64(answer.body["message_id"]))
    assert stored is not None and stored.direction is store.Direction.NOTE
    assert await world.store.list_outbox(CASE_B) == []
    bob = world.officers["bob"]
    opened = open_envelope(
        Envelope(
            stored.core, {bob.encryption.public.key_id: stored.wraps[bob.encryption.public.key_id]}
        ),
        recipient=bob.encryption,
        trusted_signers=[alice.signing.public],
        expect_case_id=CASE_B,
        expect_direction=Direction.NOTE,
    )
    assert decode_body(opened.plaintext) == Note(text="check the dates")
    # A reply is not a note.
    reply = await world.sealed("alice", CASE_B, "hi")
    del reply["relay_wrap"]
    wrong = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_B}/notes", reply)
    assert wrong.status == 400 and "not a note" in wrong.error


async def test_a_read_mark_clears_the_unread_count(world: World, gateway: Running) -> None:
    await world.incoming(CASE_A, "one")
    await world.incoming(CASE_A, "two")
    alice = world.officers["alice"].signing
    items = (await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_A}/envelopes")).body[
        "envelopes"
    ]
    answer = await gateway.client.call(
        alice, "POST", f"/v1/cases/{CASE_A}/read", {"seq": items[-1]["seq"]}
    )
    assert answer.status == 200 and answer.body["read_mark"] == items[-1]["seq"]
    [case] = (await gateway.client.call(alice, "GET", "/v1/cases")).body["cases"][:1]
    assert case["unread"] == 0


async def test_a_hand_over_through_the_roster(world: World, gateway: Running) -> None:
    """Alice adds Carol to case A, then leaves it: both signed by Alice, within the rules."""
    alice, carol = world.officers["alice"], world.officers["carol"]
    path = f"/v1/cases/{CASE_A}/envelopes"
    assert (await gateway.client.call(carol.signing, "GET", path)).status == 403
    roster = await roster_of(gateway, world, "alice")
    assign = roster.next_entry(
        Signer("handler", name="alice"), alice.signing, "assign", case_id=CASE_A, name="carol"
    )
    answer = await gateway.client.call(alice.signing, "POST", "/v1/roster", {"entry": b64(assign)})
    assert answer.status == 201 and answer.body["seq"] == roster.head.seq
    assert (await gateway.client.call(carol.signing, "GET", path)).status == 200
    assert await world.store.list_case_handlers(CASE_A) == ["alice", "carol"]

    leave = roster.next_entry(
        Signer("handler", name="alice"), alice.signing, "leave", case_id=CASE_A, name="alice"
    )
    answer = await gateway.client.call(alice.signing, "POST", "/v1/roster", {"entry": b64(leave)})
    assert answer.status == 201
    assert (await gateway.client.call(alice.signing, "GET", path)).status == 403
    assert await world.assigned(CASE_A) == ["carol"]
    assert await world.store.list_case_handlers(CASE_A) == ["carol"]
    actions = [(e.actor, e.action, e.detail) for e in await world.store.list_audit(case_id=CASE_A)]
    assert ("handler alice", "assign", "carol") in actions
    assert ("handler alice", "leave", "alice") in actions
    # Carol, now on the case, adds Bob; the same entry again is refused (its place is taken).
    stale = await roster_of(gateway, world, "carol")
    entry = stale.next_entry(
        Signer("handler", name="carol"), carol.signing, "assign", case_id=CASE_A, name="bob"
    )
    fresh = await gateway.client.call(carol.signing, "POST", "/v1/roster", {"entry": b64(entry)})
    assert fresh.status == 201
    again = await gateway.client.call(carol.signing, "POST", "/v1/roster", {"entry": b64(entry)})
    assert again.status == 403 and "refuses" in again.error
    assert await world.assigned(CASE_A) == ["bob", "carol"]


async def test_the_gateway_follows_the_roster_an_admin_changes(
    world: World, gateway: Running
) -> None:
    from tests.support.world import roster_change

    carol = world.officers["carol"].signing
    path = f"/v1/cases/{CASE_C}"
    assert (await gateway.client.call(carol, "GET", path)).status == 403
    await roster_change(world.store, world.org, "assign", case_id=CASE_C, name="carol")
    assert (await gateway.client.call(carol, "GET", path)).status == 200
    await roster_change(world.store, world.org, "leave", case_id=CASE_C, name="carol")
    assert (await gateway.client.call(carol, "GET", path)).status == 403


async def test_unknown_routes_are_json_and_only_after_the_signature(
    world: World, gateway: Running
) -> None:
    assert (await gateway.client.send("GET", "/v1/nothing")).status == 401
    answer = await gateway.client.call(world.officers["alice"].signing, "GET", "/v1/nothing")
    assert answer.status == 404 and answer.error
    answer = await gateway.client.call(world.officers["alice"].signing, "DELETE", "/v1/cases")
    assert answer.status == 405 and answer.error


async def test_a_case_closed_takes_no_reply(world: World, gateway: Running) -> None:
    await world.store.set_case_status(CASE_A, store.CaseStatus.CLOSED)
    sealed = await world.sealed("alice", CASE_A, "late")
    answer = await gateway.client.call(
        world.officers["alice"].signing, "POST", f"/v1/cases/{CASE_A}/replies", sealed
    )
    assert answer.status == 409 and "closed" in answer.error
