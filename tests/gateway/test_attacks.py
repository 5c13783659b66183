"""Attacks on the console gateway: each is refused, logged on one line, and the line holds
no signature, no signed parameter value and no byte of the body."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import struct
import time

import pytest

from admin.enrolment import revoke_handler
from core.roster import MAGIC, Roster, Signer
from crypto import Direction, SigningKeyPair
from gateway.auth import GATEWAY
from store import Direction as StoreDirection

from .conftest import CASE_A, CASE_B, CASE_C, Answer, Running, World, b64

pytestmark = pytest.mark.asyncio


def refusals(log: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in log.records if r.getMessage().startswith("refused ")]


def assert_logged_once(
    log: pytest.LogCaptureFixture,
    answer: Answer,
    status: int,
    reason: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> None:
    """One refusal, one line, with the reason and nothing secret."""
    assert answer.status == status, answer
    assert reason in answer.error, answer
    [line] = refusals(log)
    assert f"refused {status} " in line and reason in line, line
    text = log.text + "\n".join(r.getMessage() for r in log.records)
    secrets: list[str] = []
    if headers:
        signature = headers["Signature"]
        secrets += [signature, signature.split(":")[1], headers["Signature-Input"]]
        secrets += re.findall(r'nonce="([^"]+)"', headers["Signature-Input"])
        secrets.append(headers["Content-Digest"].split(":")[1])
    if body:
        secrets += [body.decode(errors="replace"), base64.b64encode(body).decode()]
        secrets += [v for v in re.findall(r'"([A-Za-z0-9+/=]{24,})"', body.decode())]
    for secret in secrets:
        assert secret not in text, f"the log holds {secret[:20]}…"


async def test_an_unsigned_request_is_refused(
    gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    answer = await gateway.client.send("GET", "/v1/cases")
    assert_logged_once(gateway_log, answer, 401, "unsigned request")


async def test_a_key_the_roster_does_not_hold_is_refused(
    gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    mallory = SigningKeyPair.generate()
    headers = gateway.client.signed(mallory, "GET", "/v1/cases")
    answer = await gateway.client.send("GET", "/v1/cases", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "unknown or revoked key", headers)
    assert mallory.public.key_id.hex() in refusals(gateway_log)[0]  # who tried, not what


async def test_a_signature_by_another_key_under_alices_key_id_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    mallory = SigningKeyPair.generate()
    headers = gateway.client.signed(mallory, "GET", "/v1/cases")
    alice_id = world.officers["alice"].signing.public.key_id.hex()
    headers["Signature-Input"] = re.sub(
        r'keyid="[0-9a-f]+"', f'keyid="{alice_id}"', headers["Signature-Input"]
    )
    answer = await gateway.client.send("GET", "/v1/cases", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "invalid signature", headers)


async def test_a_revoked_officer_is_refused_at_once(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    assert (await gateway.client.call(alice, "GET", "/v1/cases")).status == 200
    await revoke_handler(world.store, world.org, "alice", force=True)
    headers = gateway.client.signed(alice, "GET", "/v1/cases")
    answer = await gateway.client.send("GET", "/v1/cases", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "unknown or revoked key", headers)
    # Bob, not revoked, goes on.
    assert (
        await gateway.client.call(world.officers["bob"].signing, "GET", "/v1/cases")
    ).status == 200


async def test_a_replayed_request_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    path = f"/v1/cases/{CASE_A}/read"
    body = json.dumps({"seq": 1}).encode()
    headers = gateway.client.signed(alice, "POST", path, body)
    first = await gateway.client.send("POST", path, body, headers)
    assert first.status == 200, first
    answer = await gateway.client.send("POST", path, body, headers)
    assert_logged_once(gateway_log, answer, 401, "replayed request", headers, body)


async def test_a_request_signed_before_the_gateway_started_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    # Its nonce may have been used before a restart, which emptied the replay cache.
    alice = world.officers["alice"].signing
    gateway.app[GATEWAY].started = int(time.time()) + 5
    headers = gateway.client.signed(alice, "GET", "/v1/cases")
    answer = await gateway.client.send("GET", "/v1/cases", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "signed before this gateway started", headers)


async def test_an_expired_request_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    headers = gateway.client.signed(alice, "GET", "/v1/cases", created=int(time.time()) - 400)
    answer = await gateway.client.send("GET", "/v1/cases", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "invalid signature", headers)


async def test_a_future_dated_request_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    headers = gateway.client.signed(alice, "GET", "/v1/cases", created=int(time.time()) + 120)
    answer = await gateway.client.send("GET", "/v1/cases", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "invalid signature", headers)


async def test_a_tampered_body_is_refused_and_nothing_is_written(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    path = f"/v1/cases/{CASE_A}/notes"
    signed_body = json.dumps(
        await world.sealed("alice", CASE_A, "a note", direction=Direction.NOTE)
    )
    other = json.dumps(await world.sealed("alice", CASE_A, "another", direction=Direction.NOTE))
    headers = gateway.client.signed(alice, "POST", path, signed_body.encode())
    answer = await gateway.client.send("POST", path, other.encode(), headers)
    assert_logged_once(gateway_log, answer, 401, "invalid signature", headers, other.encode())
    assert await world.store.count_envelopes(CASE_A) == 0


async def test_a_tampered_path_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    bob = world.officers["bob"].signing
    headers = gateway.client.signed(bob, "GET", f"/v1/cases/{CASE_B}/envelopes")
    answer = await gateway.client.send("GET", f"/v1/cases/{CASE_C}/envelopes", headers=headers)
    assert_logged_once(gateway_log, answer, 401, "invalid signature", headers)
    headers = gateway.client.signed(bob, "GET", "/v1/cases?limit=5")
    answer = await gateway.client.send("GET", "/v1/cases?limit=500", headers=headers)
    assert answer.status == 401


async def test_an_unassigned_case_is_refused_even_with_a_store_row(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    await world.incoming(CASE_C, "for bob only")
    # Alice writes herself an assignment row, as anyone who can write the store could.
    await world.store.assign_handler(CASE_C, "alice")
    alice = world.officers["alice"].signing
    for path in (
        f"/v1/cases/{CASE_C}",
        f"/v1/cases/{CASE_C}/envelopes",
        f"/v1/cases/{CASE_C}/outbox",
    ):
        gateway_log.clear()
        headers = gateway.client.signed(alice, "GET", path)
        answer = await gateway.client.send("GET", path, headers=headers)
        assert_logged_once(gateway_log, answer, 403, "not assigned to you", headers)
    listed = await gateway.client.call(alice, "GET", "/v1/cases")
    assert CASE_C not in {c["case_id"] for c in listed.body["cases"]}


async def test_a_reply_signed_by_someone_else_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    # Alice sends, through her own signed request, a reply sealed and signed by Bob's key.
    alice = world.officers["alice"].signing
    path = f"/v1/cases/{CASE_B}/replies"
    forged = await world.sealed(
        "alice", CASE_B, "send me your passport", signer=world.officers["bob"].signing
    )
    body = json.dumps(forged).encode()
    answer = await gateway.client.send(
        "POST", path, body, gateway.client.signed(alice, "POST", path, body)
    )
    assert_logged_once(gateway_log, answer, 403, "signed by someone else", body=body)
    assert await world.store.count_envelopes(CASE_B) == 0
    assert await world.store.list_outbox(CASE_B) == []


async def test_a_reply_for_another_case_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    # Sealed for case C (Bob's), posted to case B where Alice is assigned.
    alice = world.officers["alice"].signing
    sealed = await world.sealed("alice", CASE_C, "hello")
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/replies", sealed)
    assert answer.status == 400 and "another case" in answer.error
    assert await world.store.count_envelopes(CASE_C) == 0


async def test_a_roster_entry_against_the_rules_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    # Alice, not on Bob's case C, signs herself onto it.
    alice = world.officers["alice"]
    roster = (await gateway.client.call(alice.signing, "GET", "/v1/roster")).body["entries"]
    mine = Roster.verify(world.org.public, [base64.b64decode(e) for e in roster])
    with pytest.raises(Exception, match="assigned"):
        mine.next_entry(
            Signer("handler", name="alice"), alice.signing, "assign", case_id=CASE_C, name="alice"
        )
    # The rules refuse to sign it; a hostile console builds the bytes anyway.
    entry = _forge_entry(mine, alice.signing, "assign", case_id=CASE_C, name="alice")
    body = json.dumps({"entry": b64(entry)}).encode()
    answer = await gateway.client.send(
        "POST", "/v1/roster", body, gateway.client.signed(alice.signing, "POST", "/v1/roster", body)
    )
    assert_logged_once(gateway_log, answer, 403, "the roster refuses this", body=body)
    assert "alice" not in await world.assigned(CASE_C)
    assert "alice" not in await world.store.list_case_handlers(CASE_C)


async def test_a_roster_entry_signed_by_a_colleague_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    # Bob's valid entry (he may add Carol to case B), sent by Alice.
    entries = (await gateway.client.call(world.officers["bob"].signing, "GET", "/v1/roster")).body
    roster = Roster.verify(world.org.public, [base64.b64decode(e) for e in entries["entries"]])
    entry = roster.next_entry(
        Signer("handler", name="bob"),
        world.officers["bob"].signing,
        "assign",
        case_id=CASE_B,
        name="carol",
    )
    answer = await gateway.client.call(
        world.officers["alice"].signing, "POST", "/v1/roster", {"entry": b64(entry)}
    )
    assert answer.status == 403 and "signed by you" in answer.error
    assert "carol" not in await world.assigned(CASE_B)


async def test_an_organisation_statement_is_not_taken_from_an_officer(
    world: World, gateway: Running
) -> None:
    entries = (await gateway.client.call(world.officers["alice"].signing, "GET", "/v1/roster")).body
    roster = Roster.verify(world.org.public, [base64.b64decode(e) for e in entries["entries"]])
    entry = _forge_entry(roster, world.officers["alice"].signing, "intake", names=["alice"])
    answer = await gateway.client.call(
        world.officers["alice"].signing, "POST", "/v1/roster", {"entry": b64(entry)}
    )
    assert answer.status == 403 and "only assign or leave" in answer.error


async def test_hostile_bodies_get_one_clear_message_and_write_nothing(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    path = f"/v1/cases/{CASE_A}/notes"
    good = await world.sealed("alice", CASE_A, "note", direction=Direction.NOTE)
    cases: list[tuple[bytes, str]] = [
        (b"not json", "the body is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps({**good, "extra": 1}).encode(), "extra"),
        (json.dumps({"wraps": good["wraps"]}).encode(), "core"),
        (json.dumps({**good, "core": "%%%"}).encode(), "core"),
        (json.dumps({**good, "core": b64(b"WRIE" + bytes(40))}).encode(), "not an envelope"),
        (json.dumps({**good, "wraps": []}).encode(), "wraps"),
        (
            json.dumps({**good, "wraps": [{"key_id": b64(bytes(3)), "wrap": "AA=="}]}).encode(),
            "key_id",
        ),
        (json.dumps({**good, "wraps": good["wraps"] * 2}).encode(), "twice"),
        (
            json.dumps({**good, "wraps": [{"key_id": b64(bytes(16)), "wrap": "AA=="}]}).encode(),
            "not assigned",
        ),
    ]
    for body, message in cases:
        gateway_log.clear()
        answer = await gateway.client.send(
            "POST", path, body, gateway.client.signed(alice, "POST", path, body)
        )
        assert answer.status == 400, (message, answer)
        assert message in answer.error, (message, answer)
        assert len(refusals(gateway_log)) == 1
    assert await world.store.count_envelopes(CASE_A) == 0
    read = f"/v1/cases/{CASE_A}/read"
    for bad in ({"seq": -1}, {"seq": "1"}, {"seq": True}, {}):
        answer = await gateway.client.call(alice, "POST", read, bad)
        assert answer.status == 400 and answer.error.startswith("seq"), answer
    for query in (
        "?limit=0",
        "?limit=x",
        "?status=nope",
        "?before=-1",
        "?limit=99999999999999999999",
    ):
        answer = await gateway.client.call(alice, "GET", "/v1/cases" + query)
        assert answer.status == 400, (query, answer)


async def test_a_body_too_large_is_refused(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    path = f"/v1/cases/{CASE_A}/notes"
    body = b"x" * (1024 * 1024 + 1)
    answer = await gateway.client.send(
        "POST", path, body, gateway.client.signed(alice, "POST", path, body)
    )
    assert answer.status == 413
    assert len(refusals(gateway_log)) == 1


async def test_attachments_of_another_case_are_not_served(world: World, gateway: Running) -> None:
    theirs = await world.incoming(CASE_C, "doc", attachments=[("scan.pdf", b"%PDF secret")])
    [attachment] = await world.store.list_attachments(theirs)
    mine = await world.incoming(CASE_B, "hello")
    bob, alice = world.officers["bob"].signing, world.officers["alice"].signing
    path = f"/v1/cases/{CASE_B}/attachments/{mine.hex()}/{attachment.attachment_id.hex()}"
    assert (await gateway.client.call(alice, "GET", path)).status == 404
    # Case C's message named under case B, by Bob who reads both.
    path = f"/v1/cases/{CASE_B}/attachments/{theirs.hex()}/{attachment.attachment_id.hex()}"
    assert (await gateway.client.call(bob, "GET", path)).status == 404
    path = f"/v1/cases/{CASE_B}/attachments/{theirs.hex()}"
    assert (await gateway.client.call(bob, "GET", path)).status == 404


async def test_a_reply_to_a_retired_relay_key_is_refused(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    sealed = await world.sealed("alice", CASE_B, "hello")
    sealed["relay_wrap"] = sealed["wraps"][0]  # sealed to anything but the relay key in force
    sealed["wraps"] = sealed["wraps"][1:] or sealed["wraps"]
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/replies", sealed)
    assert answer.status == 409 and "relay key in force" in answer.error
    assert await world.store.count_envelopes(CASE_B, direction=StoreDirection.OUT) == 0


def _forge_entry(roster: Roster, key: SigningKeyPair, kind: str, **fields: object) -> bytes:
    """The bytes a hostile console would send: a well-formed, signed entry the rules
    refuse (built by hand, since Roster.next_entry will not sign it)."""
    head = roster.head
    name = next(n for n, c in roster.officers().items() if c.signing_key == key.public)
    statement = (
        MAGIC
        + json.dumps(
            {
                "v": 1,
                "seq": head.seq + 1,
                "prev": head.digest.hex(),
                "signer": {"role": "handler", "name": name},
                "kind": kind,
                **fields,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode()
    )
    return struct.pack(">I", len(statement)) + statement + key.sign(statement)


async def test_a_hostile_field_name_cannot_forge_a_log_line(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    answer = await gateway.client.call(
        alice, "POST", f"/v1/cases/{CASE_A}/read", {"seq": 1, "x\nrefused 200 GET /": 1}
    )
    assert answer.status == 400
    [line] = refusals(gateway_log)
    assert "\n" not in line and "refused 200" not in line.split(": ", 1)[0]


async def test_a_truncated_roster_stops_every_request_with_an_alarm(
    world: World, gateway: Running, gateway_log: pytest.LogCaptureFixture
) -> None:
    alice = world.officers["alice"].signing
    assert (await gateway.client.call(alice, "GET", "/v1/cases")).status == 200
    # An attacker on the store drops the last entry (the open_case of Bob's case C) and
    # tells the readers to look again.
    path = world.config.store_url
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM roster WHERE seq = (SELECT max(seq) FROM roster)")
        db.execute("UPDATE settings SET value = 'changed' WHERE key = 'trust.changed'")
    for _ in range(2):
        answer = await gateway.client.call(alice, "GET", "/v1/cases")
        assert answer.status == 503 and "roster" in answer.error
    alarms = [r for r in gateway_log.records if r.getMessage().startswith("ALARM")]
    assert len(alarms) == 1  # once, not once per request
