"""Issue 14 item 2: a second layer of deletion (ADR 0087), through telesim in two languages.

Telegram's own auto-delete timer keeps working while the relay is down: the bot reads it
(getChat → ChatFullInfo.message_auto_delete_time) and, if it is off, says how to turn it
on. /panic (or its button under /help) takes the bot's messages out of the chat now, and
says how to delete the chat itself.
"""

from __future__ import annotations

import pytest

from bot.conversation import PANIC_NOTE_LIFETIME
from store import OutboxStatus
from tests.support.chat import has_button, notices, said
from tests.support.relay_env import Onboarded, RelayEnv, onboard

DAY = 86_400


@pytest.mark.parametrize("language", ["ru", "uk"])
async def test_the_bot_says_how_to_turn_on_auto_delete_when_it_is_off(env, sim, language):
    source = await onboard(env, sim, language)
    advice = [m for m in source.user.bot_messages() if m.text == said(language, "autodelete.off")]
    assert len(advice) == 1 and advice[0].silent
    # Said before "you can write now", which stays the last word of onboarding.
    assert source.user.last_bot_message().text == said(language, "case.ready")


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_no_advice_when_auto_delete_is_already_on(env, sim, language):
    user = sim.add_user(first_name="Careful", username="careful")
    await user.set_auto_delete(7 * DAY)  # Telegram tells the bot with a service message
    await env.pump()
    # The service message is neither refused nor answered: nothing was written.
    assert not user.bot_messages()
    source = await onboard(env, sim, language, user=user)
    assert said(language, "autodelete.off") not in [m.text for m in source.user.bot_messages()]


async def leave_traces(env: RelayEnv, source: Onboarded) -> list[int]:
    """A reply's notice, a /status naming the case, an acknowledgement: bot messages the
    relay knows it sent. Returns their ids."""
    await env.reply(source.case.case_id, env.handlers[0], "we read you")
    await env.pump()
    await source.user.send_text("/status")
    await env.pump()
    status = source.user.last_bot_message()
    assert source.case.case_id in status.text
    await source.user.send_text("one more thing")
    await env.pump()
    ack = source.user.last_bot_message()
    traces = [notices(source.user)[-1].message_id, status.message_id, ack.message_id]
    assert all(source.user.message(mid) for mid in traces)
    return traces


def present(source: Onboarded, ids: list[int]) -> list[int]:
    here = {m.message_id for m in source.user.visible_messages()}
    return [mid for mid in ids if mid in here]


@pytest.mark.parametrize("language", ["ru", "uk"])
async def test_panic_clears_the_chat_and_says_how_to_delete_it(env, sim, language):
    source = await onboard(env, sim, language)
    traces = await leave_traces(env, source)
    sent = await source.user.send_text("/panic")
    await env.pump()
    assert present(source, [*traces, sent.message_id]) == []
    note = source.user.last_bot_message()
    assert note.text == said(language, "panic.done") and note.silent
    # The case stays linked: the source can write on, and replies still arrive.
    assert (await env.case_of(source.user)).case_id == source.case.case_id
    await env.reply(source.case.case_id, env.handlers[0], "still here")
    await env.pump()
    assert notices(source.user)
    # The note goes too, once there was time to read it.
    sim.clock.advance(seconds=PANIC_NOTE_LIFETIME.total_seconds() + 1)
    await env.pump()
    assert said(language, "panic.done") not in [m.text for m in source.user.bot_messages()]


async def test_the_help_button_does_the_same(env, sim):
    source = await onboard(env, sim, "uk")
    traces = await leave_traces(env, source)
    await source.user.send_text("/help")
    await env.pump()
    help_message = source.user.last_bot_message()
    assert has_button(help_message, "panic")
    await source.user.press_button(help_message.message_id, "panic")
    await env.pump()
    assert present(source, [*traces, help_message.message_id]) == []
    assert source.user.last_bot_message().text == said("uk", "panic.done")


async def test_panic_keeps_replies_that_are_still_on_their_way(env, sim):
    """Only what was delivered is taken back: a reply not yet sent is not lost, and the
    chat stays linked (unlike /forget, whose store call fails pending replies)."""
    source = await onboard(env, sim, "ru")
    pending = await env.reply(source.case.case_id, env.handlers[0], "on its way")
    await env.store.clear_chat(source.case.case_id)
    item = await env.store.get_outbox(pending.outbox_id)
    assert item.status is OutboxStatus.PENDING
    assert (await env.store.get_case(source.case.case_id)).sealed_chat_ref is not None
    await env.pump()
    assert (await env.store.get_outbox(pending.outbox_id)).status is OutboxStatus.SENT
    assert notices(source.user)


async def test_panic_takes_the_recovery_phrase_too(env, sim):
    """Pressed while the 7 words are still on the screen (not yet "I saved it")."""
    user = sim.add_user(first_name="Hurried", username="hurried")
    await user.send_text("/start")
    for data in ("lang:ru", "consent:yes", "q:relation:employee", "skip:topic"):
        await env.pump(rounds=1)
        message = user.last_bot_message()
        assert has_button(message, data), data
        await user.press_button(message.message_id, data)
    await env.pump()
    phrase = next(m for m in user.bot_messages() if has_button(m, "saved"))
    await user.send_text("/panic")
    await env.pump()
    assert phrase.message_id not in [m.message_id for m in user.visible_messages()]
    assert user.last_bot_message().text == said("ru", "panic.done")


async def test_a_reply_on_its_way_at_the_moment_of_panic_leaves_too(env, sim, monkeypatch):
    """The relay is sending a reply when /panic clears the chat: recorded after the
    clearing, it would stay for a day (a quiet notice). It leaves at once."""
    source = await onboard(env, sim, "ru")
    delivery = env.relay.delivery
    record_sent = delivery._record_sent

    async def panic_meanwhile(*args, **kwargs):
        # /panic is handled and committed between the send and its record.
        await source.user.send_text("/panic")
        await env.relay.fetch(0)
        await env.relay.process_inbox()
        await record_sent(*args, **kwargs)

    monkeypatch.setattr(delivery, "_record_sent", panic_meanwhile)
    await env.reply(source.case.case_id, env.handlers[0], "on its way")
    await env.pump()
    monkeypatch.setattr(delivery, "_record_sent", record_sent)
    assert said("ru", "panic.done") in [m.text for m in source.user.bot_messages()]
    sim.clock.advance(seconds=1)
    await env.pump()
    assert notices(source.user) == []
