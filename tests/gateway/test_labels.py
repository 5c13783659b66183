"""Labels through the gateway (ADR 0090): a label record is a note, so it takes the note path
with its checks: signed by an officer the roster assigns to the case, wrapped only for the
case's officers. The gateway and the store see ciphertext only."""

from __future__ import annotations

import base64
from typing import Any

import pytest

import store
from crypto import Direction, SigningKeyPair, seal
from handlers.labels import CaseLabel, encode_label

from .conftest import CASE_A, CASE_B, CASE_C, Running, World, b64

pytestmark = pytest.mark.asyncio

WORDS = "Informant ZQXGWLABEL"


def label_body(
    world: World,
    case_id: str,
    names: list[str],
    *,
    signer: SigningKeyPair,
    label: str = WORDS,
) -> dict[str, Any]:
    envelope = seal(
        encode_label(CaseLabel(label=label, tags=("zqxgwtag",))),
        case_id=case_id,
        direction=Direction.NOTE,
        recipients=[world.officers[n].encryption.public for n in names],
        signer=signer,
    )
    return {
        "core": b64(envelope.core),
        "wraps": [{"key_id": b64(k), "wrap": b64(w)} for k, w in envelope.wraps.items()],
    }


async def test_a_label_for_a_case_not_assigned_to_the_signer_is_refused(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"].signing
    body = label_body(world, CASE_C, ["bob"], signer=alice)
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_C}/notes", body)
    assert answer.status == 403
    assert await world.store.list_envelopes(CASE_C) == []
    # Nor can she read bob's case's envelopes (where his labels are).
    read = await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_C}/envelopes")
    assert read.status == 403


async def test_a_label_wrapped_for_an_officer_not_on_the_case_is_refused(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"].signing
    body = label_body(world, CASE_B, ["alice", "bob", "carol"], signer=alice)
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/notes", body)
    assert answer.status == 400 and "not assigned" in answer.error
    assert await world.store.list_envelopes(CASE_B) == []


async def test_a_label_signed_by_someone_else_is_refused(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    bob = world.officers["bob"].signing
    body = label_body(world, CASE_B, ["alice", "bob"], signer=bob)
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_B}/notes", body)
    assert answer.status == 403
    assert await world.store.list_envelopes(CASE_B) == []


async def test_a_label_is_stored_as_ciphertext_only(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    body = label_body(world, CASE_A, ["alice"], signer=alice)
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_A}/notes", body)
    assert answer.status == 201
    [stored] = await world.store.list_envelopes(CASE_A)
    assert stored.direction is store.Direction.NOTE
    assert await world.store.list_outbox(CASE_A) == []
    await world.store.checkpoint()
    for path in world.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"ZQXGWLABEL" not in data and b"zqxgwtag" not in data, path
    # What the gateway serves back is the sealed core, not the words.
    served = await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_A}/envelopes")
    [item] = served.body["envelopes"]
    assert b"ZQXGWLABEL" not in base64.b64decode(item["core"])


async def test_notes_are_served_to_the_cases_officers_only_with_their_own_wrap(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"]
    await world.incoming(CASE_B, "a source message: not a note")
    body = label_body(world, CASE_B, ["alice", "bob"], signer=alice.signing)
    posted = await gateway.client.call(alice.signing, "POST", f"/v1/cases/{CASE_B}/notes", body)
    assert posted.status == 201
    served = await gateway.client.call(alice.signing, "GET", f"/v1/cases/{CASE_B}/notes")
    assert served.status == 200
    [note] = served.body["envelopes"]
    assert note["direction"] == "note"
    stored = await world.store.get_envelope(base64.b64decode(note["message_id"]))
    assert stored is not None
    assert base64.b64decode(note["wrap"]) == stored.wraps[alice.encryption.public.key_id]
    refused = await gateway.client.call(alice.signing, "GET", f"/v1/cases/{CASE_C}/notes")
    assert refused.status == 403
    # A case without notes answers with none.
    empty = await gateway.client.call(alice.signing, "GET", f"/v1/cases/{CASE_A}/notes")
    assert empty.body == {"envelopes": []}
