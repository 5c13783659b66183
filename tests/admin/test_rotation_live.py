"""Rotation while the relay runs its real loops and sources keep writing through telesim."""

from __future__ import annotations

import asyncio
import time

import pytest

from admin.keyring import KeyRingFile, RelayKeyRing
from admin.rotation import rotate_relay_keys
from admin.setup import Layout
from store import SealedKind

from .support import ADMIN_PASS, RELAY_PASS, onboard, texts_of

# Rotation is checked on loud replies, whose text the source sees at once; a quiet reply
# across a rotation: test_rotation.py::test_a_quiet_reply_stays_readable_across_a_rotation.
pytestmark = pytest.mark.relay_config(quiet_replies=False)

ROUNDS = 12  # per source; below the relay's flood limit of 20 a minute


async def eventually(check, timeout: float = 60.0, seen=None) -> None:
    # A bound, not a measure: a loaded 2-core CI machine may take many times the usual 2 s.
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out: {check.__name__}, last seen {seen}"
        await asyncio.sleep(0.05)


async def test_rotation_while_the_relay_ingests_a_stream(env, sim, monkeypatch):
    monkeypatch.setattr("bot.relay.KEY_CHECK_SECONDS", 0.1)
    users = [await onboard(env, sim, name) for name in ("Ann", "Ben", "Cat")]
    alice = env.handlers[0]
    layout = Layout(env.config.data_dir)
    # The relay keeps a dropped key set a little while for values it read just before.
    keyfile = KeyRingFile(layout.relay_key, RELAY_PASS, retain_seconds=5.0)
    env.relay.use_keys(keyfile.load())
    stop = asyncio.Event()
    relay = asyncio.create_task(env.relay.run(stop, keyfile))
    sent: dict[int, list[str]] = {user.id: [] for user, _ in users}
    replies: dict[int, list[str]] = {user.id: [] for user, _ in users}

    async def stream() -> None:
        for i in range(ROUNDS):
            for user, case in users:
                text = f"{user.first_name} #{i}"
                await user.send_text(text)
                sent[user.id].append(text)
                if i % 3 == 1:
                    reply = f"reply {i} to {user.first_name}"
                    await env.reply(case.case_id, alice, reply)
                    replies[user.id].append(reply)
            await asyncio.sleep(0.08)

    async def rotation():
        await asyncio.sleep(0.25)  # the stream is flowing
        return await rotate_relay_keys(
            env.config, admin_passphrase=ADMIN_PASS, relay_passphrase=RELAY_PASS, wait_for_relay=60
        )

    try:
        _, report = await asyncio.gather(stream(), rotation())

        stored: dict[int, list[str]] = {}

        async def all_stored() -> bool:
            for user, case in users:
                stored[user.id] = await texts_of(env, case.case_id)
            stored[0] = [str(await env.store.count_inbox())]
            return all(stored[user.id] == sent[user.id] for user, _ in users)

        async def all_delivered() -> bool:
            return await env.store.count_outbox_backlog() == 0

        await eventually(all_stored, seen=stored)
        await eventually(all_delivered)

        async def all_removed() -> bool:
            visible = {m.text for user, _ in users for m in user.visible_messages()}
            return not visible & {text for texts in sent.values() for text in texts}

        await eventually(all_removed)

        async def old_keys_gone() -> bool:
            return env.relay.ring.versions == (2,)

        await eventually(old_keys_gone)
    finally:
        stop.set()
        await relay

    assert report.relay_switched
    assert report.to_version == 2 and not report.unreadable
    assert RelayKeyRing.load(layout.relay_key, RELAY_PASS).versions == (2,)
    assert await env.store.count_cases() == len(users)  # nobody turned into a stranger
    for user, _ in users:
        shown = [m.text or "" for m in user.bot_messages()]
        for reply in replies[user.id]:
            assert sum(reply in text for text in shown) == 1, reply
    for kind in SealedKind:
        assert await env.store.count_sealed(kind, except_version=2) == 0, kind
    failed = [
        item
        for _, case in users
        for item in await env.store.list_outbox(case.case_id)
        if item.status.value == "failed"
    ]
    assert failed == []


@pytest.mark.parametrize("delay", [0.0, 0.3])
async def test_a_relay_started_mid_rotation_picks_up_the_ring(env, sim, delay, monkeypatch):
    """No relay runs while the rotation waits; one started later loads the new keys."""
    user, case = await onboard(env, sim)
    report = await rotate_relay_keys(
        env.config, admin_passphrase=ADMIN_PASS, relay_passphrase=RELAY_PASS, wait_for_relay=delay
    )
    assert not report.relay_switched
    keyfile = KeyRingFile(Layout(env.config.data_dir).relay_key, RELAY_PASS)
    env.relay.use_keys(keyfile.load())
    await user.send_text("hello again")
    await env.pump()
    assert await texts_of(env, case.case_id) == ["hello again"]
