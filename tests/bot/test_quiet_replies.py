"""Quiet replies (ADR 0081), through telesim: a reply arrives as a silent, neutral notice;
its words appear only after a tap, protected and silent, and leave again; a late tap gets a
short neutral answer."""

from __future__ import annotations

import re

import pytest

from bot.delivery import QUIET_SETTING
from core.config import DEFAULT_REPLY_NOTICE
from telesim import ChatMessage, SimUser
from tests.support.chat import notices, read_button, said, tap_to_read
from tests.support.relay_env import Onboarded, RelayEnv, onboard

REPLIES = {
    "en": "Meet Oksana at the northern gate on Thursday, bring the invoices",
    "ru": "Встречаемся с Оксаной у северных ворот в четверг, возьмите счета",
    "uk": "Зустрічаємося з Оксаною біля північної брами в четвер, візьміть рахунки",
}


def words(text: str) -> set[str]:
    """The reply's words worth hiding (short ones like "at" are in any text)."""
    return {w.lower() for w in re.findall(r"\w+", text) if len(w) >= 4}


def leaks(user: SimUser, reply: str, *, notifying_only: bool) -> list[str]:
    """The texts of the bot's messages (only the notifying ones, or all) holding a reply word."""
    hidden = words(reply)
    found = []
    for m in user.bot_messages():
        if notifying_only and not m.notified:
            continue
        shown = {w.lower() for w in re.findall(r"\w+", m.content or "")}
        if hidden & shown:
            found.append(m.content or "")
    return found


async def kept(env: RelayEnv, message_id: bytes) -> bool:
    """Whether the relay still keeps what it needs to open this reply on a tap."""
    return await env.store.get_setting(QUIET_SETTING + message_id.hex()) is not None


def shown_reply(user: SimUser, language: str, reply: str) -> ChatMessage | None:
    body = said(language, "reply.body", text=reply)
    return next((m for m in user.bot_messages() if m.text == body), None)


async def a_source_with_a_reply(
    env: RelayEnv, sim, language: str, **extra: object
) -> tuple[Onboarded, ChatMessage, bytes]:
    source = await onboard(env, sim, language)
    await source.user.send_text(
        "Они подделывают счета" if language != "en" else "They fake invoices"
    )
    await env.pump()
    item = await env.reply(source.case.case_id, env.handlers[0], REPLIES[language], **extra)
    await env.pump()
    (notice,) = notices(source.user)
    assert item.message_id is not None
    return source, notice, item.message_id


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_a_reply_is_quiet_until_tapped_and_leaves_again(env, sim, language):
    source, notice, _ = await a_source_with_a_reply(env, sim, language)
    user, reply = source.user, REPLIES[language]
    # It arrived silent, protected, in the deployment's neutral words, with a Read button.
    assert notice.silent and not notice.notified and notice.protect_content
    assert notice.text == DEFAULT_REPLY_NOTICE[language]
    assert notice.button(data=read_button(notice)).text == said(language, "reply.button.read")
    (call,) = [c for c in sim.calls_to("sendMessage") if c.params["text"] == notice.text]
    assert call.params["disable_notification"] is True
    # Before the tap, no message of the bot holds one word of the reply.
    assert shown_reply(user, language, reply) is None
    assert leaks(user, reply, notifying_only=False) == []

    await tap_to_read(user, notice)
    await env.pump()
    shown = shown_reply(user, language, reply)
    assert shown is not None, "the reply was not shown after the tap"
    assert shown.protect_content and shown.silent
    # The whole scripted run: no notifying message of the bot ever carried a reply word.
    assert leaks(user, reply, notifying_only=True) == []

    # Shown for reply_read_seconds (300 by default), then deleted; the notice stays readable.
    sim.clock.advance(seconds=env.config.relay.reply_read_seconds - 5)
    await env.pump()
    assert user.message(shown.message_id) is not None
    sim.clock.advance(seconds=10)
    await env.pump()
    assert shown.message_id not in [m.message_id for m in user.visible_messages()]
    await tap_to_read(user, notice)
    await env.pump()
    assert shown_reply(user, language, reply) is not None, "the notice can be read again"
    assert leaks(user, reply, notifying_only=True) == []


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_tap_after_the_reply_expired_gets_a_neutral_answer(env, sim, language):
    source, notice, message_id = await a_source_with_a_reply(
        env, sim, language, self_destruct_seconds=120
    )
    user = source.user
    assert await kept(env, message_id), "the relay can open it on a tap"
    # Past its self-destruct time; the tap comes before the relay deletes the notice.
    sim.clock.advance(seconds=121)
    await tap_to_read(user, notice)
    await env.pump()
    assert shown_reply(user, language, REPLIES[language]) is None
    gone = said(language, "reply.gone")
    (answer,) = [m for m in user.bot_messages() if m.text == gone]
    assert answer.silent
    assert notice.message_id not in [m.message_id for m in user.visible_messages()]
    # The relay can no longer open it: its wrap went with the late tap.
    assert not await kept(env, message_id)
    assert leaks(user, REPLIES[language], notifying_only=False) == []


@pytest.mark.parametrize("language", ["en", "uk"])
async def test_a_tap_on_a_reply_purged_from_the_store_gets_a_neutral_answer(env, sim, language):
    source, notice, message_id = await a_source_with_a_reply(env, sim, language)
    await env.store.delete_envelope(message_id)  # retention, or the case purged
    await tap_to_read(source.user, notice)
    await env.pump()
    assert said(language, "reply.gone") in [m.text for m in source.user.bot_messages()]
    assert shown_reply(source.user, language, REPLIES[language]) is None


async def test_the_notice_leaves_when_the_reply_can_no_longer_be_read(env, sim):
    source, notice, message_id = await a_source_with_a_reply(env, sim, "en")
    assert await kept(env, message_id)
    sim.clock.advance(hours=env.config.relay.reply_readable_hours, seconds=1)
    await env.pump()
    assert notice.message_id not in [m.message_id for m in source.user.visible_messages()]
    # Nobody tapped: the relay forgot how to open it all the same.
    assert not await kept(env, message_id)


async def test_the_relay_opens_nothing_in_the_thread(env, sim):
    """P2 holds: the relay wrap is kept beside the thread, never in it."""
    _source, _, message_id = await a_source_with_a_reply(env, sim, "en")
    stored = await env.store.get_envelope(message_id)
    assert stored is not None
    assert not {k.delivery.public.key_id for k in env.ring.keys} & set(stored.wraps)


async def test_a_read_button_of_another_case_shows_nothing(env, sim):
    _source, notice, _ = await a_source_with_a_reply(env, sim, "en")
    other = await onboard(env, sim, "ru", first_name="Other")
    # The other source forges the first one's button data on a message of their own chat.
    data = read_button(notice)
    assert data is not None
    world = sim.world
    chat = world.chats[other.user.id]
    forged = world.add_message(
        chat,
        from_bot=True,
        kind="text",
        content={"text": "x"},
        reply_markup={"inline_keyboard": [[{"text": "Read", "callback_data": data}]]},
    )
    await other.user.press_button(forged.message_id, data)
    await env.pump()
    assert shown_reply(other.user, "en", REPLIES["en"]) is None
    assert shown_reply(other.user, "ru", REPLIES["en"]) is None
    assert said("ru", "reply.gone") in [m.text for m in other.user.bot_messages()]


@pytest.mark.relay_config(quiet_replies=False)
async def test_loud_replies_when_the_deployment_turns_quiet_off(env, sim, source):
    await env.reply(source.case.case_id, env.handlers[0], "plain and loud")
    await env.pump()
    message = source.user.last_bot_message()
    assert message.text == said("en", "reply.body", text="plain and loud")
    assert message.notified and read_button(message) is None
