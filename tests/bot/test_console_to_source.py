"""The whole loop with the console's own code: a source writes through telesim, the officer
reads it with handlers/ and replies, the relay delivers; a reply altered in the store is
refused by the relay and shows as failed in the console."""

from __future__ import annotations

import sqlite3

import pytest

from handlers.compose import send_reply
from handlers.identity import HandlerIdentity
from handlers.session import open_workspace, start_session
from handlers.thread import delivery_states, load_thread
from tests.support.chat import read_latest_reply
from tests.support.world import retire_relay_key, roster_change

from .test_relay_onboarding import onboard


@pytest.fixture
async def world(env, sim):
    workspace = await open_workspace(env.config)
    alice = env.handlers[0]
    session = start_session(
        workspace, HandlerIdentity(name="alice", encryption=alice.enc, signing=alice.sign)
    )
    yield env, sim, session
    await workspace.store.close()


async def test_officer_reads_and_the_reply_reaches_the_source(world):
    env, sim, session = world
    user, case = await onboard(env, sim, "uk")
    await user.send_text("Маю документи")
    await env.pump()
    thread = await load_thread(session, case.case_id)
    assert [i.text for i in thread if i.kind == "text"] == ["Маю документи"]

    await send_reply(session, case.case_id, "Дякуємо. Не пишіть з робочого телефону.")
    await env.pump()
    shown = await read_latest_reply(user, env.pump)  # a quiet reply: a tap shows it
    assert shown.protect_content
    assert "Дякуємо. Не пишіть з робочого телефону." in (shown.text or "")
    assert "alice" not in (shown.text or "")
    states = await delivery_states(session, case.case_id)
    assert list(states.values()) == ["sent"]


async def test_reply_altered_in_the_store_is_refused(world):
    env, sim, session = world
    user, case = await onboard(env, sim, "en")
    before = len(user.bot_messages())
    sent = await send_reply(session, case.case_id, "original words")
    db = sqlite3.connect(env.config.store_url)
    (blob,) = db.execute(
        "SELECT envelope FROM outbox WHERE message_id = ?", (sent.message_id,)
    ).fetchone()
    tampered = bytearray(blob)
    tampered[len(tampered) // 2] ^= 0x01
    db.execute(
        "UPDATE outbox SET envelope = ? WHERE message_id = ?", (bytes(tampered), sent.message_id)
    )
    db.commit()
    db.close()
    await env.pump()
    assert len(user.bot_messages()) == before, "nothing was sent to the source"
    states = await delivery_states(session, case.case_id)
    assert states[sent.message_id] == "failed (invalid_envelope)"


async def test_an_open_console_stops_wrapping_for_a_colleague_revoked_meanwhile(world):
    from admin.enrolment import revoke_handler

    env, sim, session = world
    _, case = await onboard(env, sim, "en")
    await roster_change(env.store, env.org, "assign", case_id=case.case_id, name="bob")
    bob_key = env.handlers[1].enc.public.key_id
    first = await send_reply(session, case.case_id, "to both of you")
    assert bob_key in (await env.store.get_envelope(first.message_id)).wraps
    await revoke_handler(env.store, env.org, "bob", force=True)  # the console stays open
    second = await send_reply(session, case.case_id, "bob is gone")
    assert bob_key not in (await env.store.get_envelope(second.message_id)).wraps


async def retire_relay_key_v1(env, *, last_seq: int) -> None:
    successor = env.ring.current.successor()
    await retire_relay_key(env.store, env.org, successor, version=1, last_seq=last_seq)


async def test_a_retired_relay_key_signs_nothing_stored_after_it(world):
    """A stolen old relay signing key plus write access to the store must not let anyone
    inject 'source messages' that the console shows as genuine."""
    env, sim, session = world
    user, case = await onboard(env, sim, "en")
    await user.send_text("genuine, before the rotation")
    await env.pump()
    envelopes = await env.store.list_envelopes(case.case_id)
    last = envelopes[-1].seq
    # A rotation certifies v2 and retires signing key v1 with the last envelope it signed
    # (in the signed roster) ...
    await retire_relay_key_v1(env, last_seq=last)
    # ... then the thief stores an envelope signed with that old key.
    await user.send_text("forged with the retired key")
    await env.pump()
    await session.workspace.reload()
    thread = await load_thread(session, case.case_id)
    by_text = {i.text: i for i in thread if i.readable}
    assert "genuine, before the rotation" in by_text
    assert "forged with the retired key" not in by_text
    assert sum(not i.readable for i in thread) == 1
