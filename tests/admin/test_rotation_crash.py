"""A rotation killed at any point, with the relay working on meanwhile, is finished by a re-run."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading

import aiosqlite
import pytest

from admin.keyring import RelayKeyRing
from admin.rotation import ROTATION_SETTING, rotate_relay_keys
from admin.setup import Layout
from store import SealedKind

from .support import ADMIN_PASS, RELAY_PASS, onboard, texts_of

# Rotation is checked on loud replies, whose text the source sees at once; a quiet reply
# across a rotation: test_rotation.py::test_a_quiet_reply_stays_readable_across_a_rotation.
pytestmark = pytest.mark.relay_config(quiet_replies=False)


class Killed(Exception):
    """Stands for the process dying at this point."""


def killer(at: int):
    calls = 0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == at:
            raise Killed(phase)

    return progress


async def rotate(env, **options):
    return await rotate_relay_keys(
        env.config,
        admin_passphrase=ADMIN_PASS,
        relay_passphrase=RELAY_PASS,
        wait_for_relay=0,
        **options,
    )


def relay_notices_the_file(env) -> None:
    env.relay.use_keys(RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS))


async def check_nothing_lost(env, users, sent, version: int = 2) -> None:
    alice = env.handlers[0]
    for user, case in users:
        await env.reply(case.case_id, alice, f"reply to {user.first_name}")
    await env.pump()
    for user, _ in users:
        await user.send_text(f"{user.first_name} at the end")
    await env.pump()
    assert await env.store.count_cases() == len(users)
    for user, case in users:
        expected = [*sent[user.id], f"{user.first_name} at the end"]
        assert await texts_of(env, case.case_id) == expected
        replies = [m.text or "" for m in user.bot_messages()]
        assert sum(f"reply to {user.first_name}" in t for t in replies) == 1
    assert await env.store.count_outbox_backlog() == 0
    assert await env.store.get_setting(ROTATION_SETTING) is None
    ring = RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS)
    assert ring.versions == (version,)
    for kind in SealedKind:
        assert await env.store.count_sealed(kind, except_version=version) == 0


async def test_progress_is_reported_often(env, sim):
    """Each progress call is a point the kill tests below stop at."""
    await onboard(env, sim)
    calls = []
    await rotate(env, progress=lambda *call: calls.append(call))
    assert len(calls) >= 20
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert phases[:4] == ["stage", "publish", "switch", "chat references"]
    assert phases[-3:] == ["final sweep", "destroy", "done"]


@pytest.mark.parametrize("kill_at", range(1, 21))
async def test_killed_then_rerun(env, sim, kill_at):
    users = [await onboard(env, sim, name) for name in ("Ann", "Ben")]
    sent = {user.id: [] for user, _ in users}
    (ann, ann_case), _ = users
    await env.reply(ann_case.case_id, env.handlers[0], "queued before the crash")
    with pytest.raises(Killed):
        await rotate(env, progress=killer(kill_at))
    # The relay carries on with whatever the ring file holds now.
    relay_notices_the_file(env)
    for user, _ in users:
        await user.send_text(f"{user.first_name} between the runs")
        sent[user.id].append(f"{user.first_name} between the runs")
    await env.pump()
    report = await rotate(env)
    assert report.resumed
    relay_notices_the_file(env)
    assert any("queued before the crash" in (m.text or "") for m in ann.bot_messages())
    await check_nothing_lost(env, users, sent)


async def test_killed_twice(env, sim):
    users = [await onboard(env, sim, "Ann")]
    sent = {users[0][0].id: []}
    for at in (6, 3):
        with pytest.raises(Killed):
            await rotate(env, progress=killer(at))
        relay_notices_the_file(env)
        await env.pump()
    await rotate(env)
    relay_notices_the_file(env)
    await check_nothing_lost(env, users, sent)


@pytest.mark.parametrize("seed", range(4))
async def test_cancelled_at_a_random_moment(env, sim, seed):
    """Cancellation lands anywhere, also inside a store transaction or a file write."""
    users = [await onboard(env, sim, name) for name in ("Ann", "Ben")]
    sent = {user.id: [] for user, _ in users}
    task = asyncio.create_task(rotate(env))
    await asyncio.sleep(random.Random(seed).uniform(0.0, 0.08))
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # Done is what the store and the ring file say, not whether the task saw the cancel:
    # it can land after the last step committed, and then the re-run is a second rotation.
    ring = RelayKeyRing.load(Layout(env.config.data_dir).relay_key, RELAY_PASS)
    finished = await env.store.get_setting(ROTATION_SETTING) is None and ring.versions == (2,)
    relay_notices_the_file(env)
    await env.pump()
    await rotate(env)
    relay_notices_the_file(env)
    await check_nothing_lost(env, users, sent, version=3 if finished else 2)


async def test_cancelled_while_its_store_opens(env, sim, monkeypatch):
    """The moment test_cancelled_at_a_random_moment only rarely hits, made certain: the
    cancel lands while the first COMMIT of a rotation (its first step's: the store is opened
    as it is, store.open_existing_store, without a schema COMMIT) is still running on
    aiosqlite's thread. The rotation must end cancelled, not with a StoreError because a
    ROLLBACK was sent after that COMMIT; the re-run then finishes the rotation."""
    users = [await onboard(env, sim, name) for name in ("Ann", "Ben")]
    sent = {user.id: [] for user, _ in users}
    gate = threading.Event()  # holds the COMMIT on aiosqlite's thread
    original = aiosqlite.Connection.execute
    task: asyncio.Task | None = None

    def execute(self, sql, parameters=None):
        if task is None or asyncio.current_task() is not task or sql != "COMMIT" or gate.is_set():
            return original(self, sql, parameters)
        conn = self._conn

        def held_commit():
            assert gate.wait(timeout=30), "the test never let the COMMIT go"
            return conn.execute("COMMIT")

        def cancel() -> None:
            task.cancel()  # wakes the rotation with CancelledError at its next step...
            loop.call_soon(gate.set)  # ...and the COMMIT goes ahead only after that step

        loop = asyncio.get_running_loop()
        loop.call_soon(cancel)
        return self._execute(held_commit)

    monkeypatch.setattr(aiosqlite.Connection, "execute", execute)
    task = asyncio.create_task(rotate(env))
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert gate.is_set(), "the cancel landed on the held COMMIT"  # (later ones pass through)
    await rotate(env)
    relay_notices_the_file(env)
    await check_nothing_lost(env, users, sent)
