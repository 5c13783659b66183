"""The relay's start-up and housekeeping: the command menu, expired dialogues, old ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.i18n import catalog


async def test_command_menu_in_each_language(env, sim):
    await env.relay.publish_commands()
    for lang in ("en", "ru", "uk"):
        code = "" if lang == "en" else lang
        commands = {c["command"]: c["description"] for c in sim.bot_commands(language_code=code)}
        assert commands["forget"] == catalog(lang).plain("command.forget")
        assert set(commands) == {
            "start",
            "status",
            "recover",
            "language",
            "forget",
            "verify",
            "panic",
            "help",
        }


async def test_housekeeping_forgets_expired_dialogues_and_old_ids(env, sim):
    user = sim.add_user(first_name="Late")
    await user.send_text("/start")
    await env.pump()
    lookup = env.ring.current.lookup_hash(user.id)
    row = await env.store.get_dialogue(lookup)
    assert row is not None
    await env.store.put_dialogue(
        lookup, row.sealed_state, expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    await env.relay.housekeeping()
    async with env.store.transaction() as tx:  # gone, not merely hidden by its expiry
        assert await tx.delete_dialogue(lookup) is False


async def test_housekeeping_prunes_processed_ids_after_a_week(env):
    old = datetime.now(UTC) - timedelta(days=10)
    recent = datetime.now(UTC) - timedelta(days=1)
    for update_id, when in ((7001, old), (7002, recent)):
        await env.store.put_inbox(update_id, b"sealed", now=when)
        await env.store.finish_inbox(update_id, now=when)
    await env.relay.housekeeping()
    assert not await env.store.is_update_processed(7001)
    assert await env.store.is_update_processed(7002)


async def test_an_update_that_keeps_failing_is_retried_then_dropped(env, sim):
    from bot.relay import MAX_ATTEMPTS_PER_UPDATE

    real = env.relay.conversation.handle
    calls = 0

    async def flaky(incoming):
        nonlocal calls
        if incoming.text == "poison":
            calls += 1
            raise RuntimeError("a bug in handling")
        return await real(incoming)

    env.relay.conversation.handle = flaky  # type: ignore[method-assign]
    user = sim.add_user(first_name="Poison")
    await user.send_text("poison")
    await env.relay.fetch(0)
    for _ in range(MAX_ATTEMPTS_PER_UPDATE - 1):
        with pytest.raises(RuntimeError):
            await env.relay.process_inbox()
        assert await env.store.count_inbox() == 1  # kept for a retry
    await env.relay.process_inbox()  # the last attempt drops it
    assert calls == MAX_ATTEMPTS_PER_UPDATE
    assert await env.store.count_inbox() == 0
    await user.send_text("/start")
    await env.pump()
    assert user.last_bot_message() is not None  # later updates flow again


async def test_a_revocation_takes_effect_at_once(env):
    from admin.enrolment import revoke_handler

    assert "bob" in (await env.relay.trust()).handlers  # cached now
    await revoke_handler(env.store, env.org, "bob")
    assert "bob" not in (await env.relay.trust()).handlers  # no waiting for the refresh


@pytest.mark.relay_config(quiet_replies=False)  # the reply's text tells when it was sent
async def test_a_clean_stop_records_a_reply_already_sent(env, source):
    import asyncio

    from store import OutboxStatus

    stop = asyncio.Event()
    running = asyncio.create_task(env.relay.run(stop))
    await env.reply(source.case.case_id, env.handlers[0], "sent just before a stop")
    await source.user.wait_for_bot_message(
        where=lambda m: "sent just before a stop" in (m.text or ""), timeout=30
    )
    stop.set()  # SIGTERM right after Telegram took the message
    await running
    (item,) = await env.store.list_outbox(source.case.case_id)
    assert item.status is OutboxStatus.SENT  # recorded: no second copy after restart


async def test_trust_holds_when_a_rotation_lands_while_it_is_read(env, monkeypatch):
    await env.relay.trust()
    read_setting = env.store.get_setting

    async def rotation_meanwhile(key: str) -> str | None:
        value = await read_setting(key)
        env.relay.use_keys(env.relay.ring)  # the key watcher switches rings mid-read
        return value

    monkeypatch.setattr(env.store, "get_setting", rotation_meanwhile)
    trust = await env.relay.trust()
    assert set(trust.handlers) == {"alice", "bob"}
