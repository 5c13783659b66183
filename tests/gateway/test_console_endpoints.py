"""The endpoints the console's client needs (issue 12, item 2): each refuses what is not the
officer's, with one clear error and one log line, and writes what the local console writes."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from crypto import Envelope, rewrap

from .conftest import CASE_A, CASE_B, CASE_C, Running, World, b64

pytestmark = pytest.mark.asyncio


async def test_settings_only_the_ones_a_console_reads(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    answer = await gateway.client.call(alice, "GET", "/v1/settings/org.public_key")
    assert answer.status == 200 and answer.body["value"] == world.org.public.raw.hex()
    refused = await gateway.client.call(alice, "GET", "/v1/settings/telegram.token")
    assert refused.status == 404 and refused.error == "no such setting here"
    await world.store.set_setting("telegram.offset", "42")  # there, but not a console's
    every = await gateway.client.call(alice, "GET", "/v1/settings")
    assert every.status == 200
    assert set(every.body) == {"org.public_key", "relay.key_version", "trust.changed"}
    assert every.body["org.public_key"] == world.org.public.raw.hex()


async def test_case_lookup_unknown_or_not_assigned(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    assert (await gateway.client.call(alice, "GET", "/v1/cases/ZZZZ-ZZZZ-ZZZZ")).status == 404
    assert (await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_C}")).status == 403


async def test_marks_and_counts_are_the_officers_own(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    await world.incoming(CASE_A, "one")
    answer = await gateway.client.call(alice, "GET", f"/v1/marks?case={CASE_A}&case={CASE_B}")
    assert answer.status == 200
    assert (
        answer.body == {"unread": {CASE_A: 1}, "read_marks": {}}
        or answer.body["unread"][CASE_A] == 1
    )
    refused = await gateway.client.call(alice, "GET", f"/v1/marks?case={CASE_A}&case={CASE_C}")
    assert refused.status == 403 and "not assigned" in refused.error
    count = await gateway.client.call(alice, "GET", "/v1/case-count?status=open")
    assert count.status == 200 and count.body == {"count": 2}


async def test_wraps_only_for_an_assigned_colleague_and_this_case(
    world: World, gateway: Running
) -> None:
    alice, carol = world.officers["alice"], world.officers["carol"]
    await world.incoming(CASE_A, "for carol later")
    path = f"/v1/cases/{CASE_A}/lacking/{carol.encryption.public.key_id.hex()}"
    lacking = await gateway.client.call(alice.signing, "GET", path)
    assert lacking.status == 200
    [item] = lacking.body["envelopes"]
    core = base64.b64decode(item["core"])
    wrap = base64.b64decode(item["wrap"])
    new = rewrap(
        Envelope(core, {alice.encryption.public.key_id: wrap}),
        recipient=alice.encryption,
        new_recipients=[carol.encryption.public],
        trusted_signers=[world.relay.signing.public],
    )
    body = {
        "key_id": b64(carol.encryption.public.key_id),
        "wraps": [
            {
                "message_id": item["message_id"],
                "wrap": b64(new.wraps[carol.encryption.public.key_id]),
            }
        ],
    }
    # Carol is not assigned to the case yet: refused.
    refused = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_A}/wraps", body)
    assert refused.status == 403 and "not the key of an officer assigned" in refused.error
    # Bob is assigned to CASE_B, not to the message's case: refused too.
    bob = world.officers["bob"]
    other = {**body, "key_id": b64(bob.encryption.public.key_id)}
    refused = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_B}/wraps", other)
    assert refused.status == 404 and "not in this case" in refused.error
    bad = await gateway.client.call(
        alice.signing, "POST", f"/v1/cases/{CASE_A}/wraps", {**body, "extra": 1}
    )
    assert bad.status == 400 and bad.error.startswith("extra")
    unknown_key = f"/v1/cases/{CASE_A}/lacking/{'ab' * 16}"
    assert (await gateway.client.call(alice.signing, "GET", unknown_key)).status == 400


async def test_status_close_reopen_and_audit(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    path = f"/v1/cases/{CASE_A}/status"
    assert (await gateway.client.call(alice, "POST", path, {"status": "closed"})).body == {
        "changed": True
    }
    assert (await gateway.client.call(alice, "POST", path, {"status": "closed"})).body == {
        "changed": False
    }
    bad = await gateway.client.call(alice, "POST", path, {"status": "gone"})
    assert bad.status == 400 and bad.error.startswith("status")
    refused = await gateway.client.call(
        alice, "POST", f"/v1/cases/{CASE_C}/status", {"status": "closed"}
    )
    assert refused.status == 403
    actions = [(e.actor, e.action) for e in await world.store.list_audit(case_id=CASE_A)]
    assert actions == [("handler alice", "close")]


async def test_cancel_only_the_authors_queued_reply(world: World, gateway: Running) -> None:
    alice, bob = world.officers["alice"].signing, world.officers["bob"].signing
    sealed = await world.sealed("alice", CASE_B, "cancel me")
    posted = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/replies", sealed)
    message_id = posted.body["message_id"]
    path = f"/v1/cases/{CASE_B}/cancel"
    refused = await gateway.client.call(bob, "POST", path, {"message_id": message_id})
    assert refused.status == 409
    assert (refused.body["reason"], refused.body["author"]) == ("not_author", "alice")
    done = await gateway.client.call(alice, "POST", path, {"message_id": message_id})
    assert done.status == 200 and done.body == {"attempts": 0, "last_error": None}
    again = await gateway.client.call(alice, "POST", path, {"message_id": message_id})
    assert again.status == 404
    entries = await world.store.list_audit(case_id=CASE_B)
    assert (entries[-1].action, entries[-1].detail) == (
        "reply-cancel",
        f"reply {base64.b64decode(message_id).hex()}",
    )
    sealed = await world.sealed("alice", CASE_B, "claimed")
    posted = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/replies", sealed)
    assert await world.store.claim_outbox(lease=timedelta(seconds=60)) is not None
    claimed = await gateway.client.call(
        alice, "POST", path, {"message_id": posted.body["message_id"]}
    )
    assert claimed.status == 409 and claimed.body["reason"] == "claimed"


async def test_export_audit_only_for_an_attachment_of_the_case(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"].signing
    message_id = await world.incoming(CASE_A, "file", attachments=[("a.txt", b"hi")])
    [attachment] = await world.store.list_attachments(message_id)
    body = {"message_id": b64(message_id), "attachment_id": b64(attachment.attachment_id)}
    done = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_A}/exports", body)
    assert done.status == 201
    [entry] = [e for e in await world.store.list_audit(case_id=CASE_A) if e.action == "export"]
    assert entry.detail == f"attachment {attachment.attachment_id.hex()}"
    elsewhere = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/exports", body)
    assert elsewhere.status == 404
    wrong = {**body, "attachment_id": b64(bytes(16))}
    missing = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_A}/exports", wrong)
    assert missing.status == 404 and "no such attachment" in missing.error
