"""The endpoints of a live console (issue 15 items 2-4, ADR 0084): the pulse, "awaiting
reply", a case's source events and the audit entry of reading it. Each serves only the
officer's own cases (403 otherwise) and nothing of what other officers did."""

from __future__ import annotations

import pytest

from .conftest import CASE_A, CASE_B, CASE_C, Running, World

pytestmark = pytest.mark.asyncio


async def test_the_pulse_changes_with_a_message_and_refuses_another_officers_case(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"].signing
    first = await gateway.client.call(alice, "GET", f"/v1/pulse?case={CASE_A}")
    assert first.status == 200 and set(first.body) == {"activity", "roster", "case"}
    await world.incoming(CASE_A, "new")
    second = await gateway.client.call(alice, "GET", f"/v1/pulse?case={CASE_A}")
    assert second.body["activity"] > first.body["activity"]
    assert second.body["case"] != first.body["case"]
    refused = await gateway.client.call(alice, "GET", f"/v1/pulse?case={CASE_C}")
    assert refused.status == 403 and "not assigned" in refused.error


async def test_awaiting_reply_only_for_the_officers_cases(world: World, gateway: Running) -> None:
    alice = world.officers["alice"].signing
    await world.incoming(CASE_A, "waiting for you")
    answer = await gateway.client.call(alice, "GET", f"/v1/awaiting?case={CASE_A}&case={CASE_B}")
    assert answer.status == 200 and answer.body == {"awaiting": [CASE_A]}
    refused = await gateway.client.call(alice, "GET", f"/v1/awaiting?case={CASE_C}")
    assert refused.status == 403


async def test_events_are_the_sources_only_and_only_for_the_cases_officers(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"].signing
    await world.store.append_audit("relay", "source-forgot", case_id=CASE_A)
    await world.store.append_audit("handler bob", "read", case_id=CASE_A)  # not for officers
    await world.store.append_audit("handler alice", "export", case_id=CASE_A, detail="x")
    await world.store.append_audit("relay", "source-recovered", case_id=CASE_A)
    await world.store.append_audit("relay", "source-recover-refused", case_id=CASE_A)
    answer = await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_A}/events")
    assert answer.status == 200
    assert [e["action"] for e in answer.body["events"]] == [
        "source-forgot",
        "source-recovered",
        "source-recover-refused",
    ]
    assert set(answer.body["events"][0]) == {"seq", "on", "action"}  # no actor, no detail
    refused = await gateway.client.call(alice, "GET", f"/v1/cases/{CASE_C}/events")
    assert refused.status == 403


async def test_opening_a_case_is_audited_and_refused_for_another_officers_case(
    world: World, gateway: Running
) -> None:
    alice = world.officers["alice"].signing
    answer = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_A}/opened")
    assert answer.status == 201
    [entry] = await world.store.list_audit(case_id=CASE_A, action="read")
    assert entry.actor == "handler alice"
    refused = await gateway.client.call(alice, "POST", f"/v1/cases/{CASE_C}/opened")
    assert refused.status == 403
    assert await world.store.list_audit(case_id=CASE_C, action="read") == []
