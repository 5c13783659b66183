"""Issue 14 item 4: a recovery that cannot be hijacked silently (ADR 0085), through telesim.

The attack: someone who has the source's recovery phrase (read off paper, or from Telegram,
which carried the phrase message) sends /recover from their own account. They get the
case, but not silently: the source's previous chat is told, officers see the move in the
thread, the words used are dead, and the case cannot be passed on again and again.
"""

from __future__ import annotations

import pytest

from admin.refs import seal_chat_ref
from bot.conversation import MOVED_NOTICE_LIFETIME
from handlers.port import EVENT_ACTIONS
from telesim import SimUser
from tests.support.chat import code_text, has_button, notices, said
from tests.support.relay_env import Onboarded, RelayEnv, onboard


async def recover(env: RelayEnv, user: SimUser, phrase: str) -> str:
    """/recover with ``phrase`` from ``user``; the first answer the bot gave to the words."""
    await user.send_text("/recover")
    await env.pump()
    before = {m.message_id for m in user.bot_messages()}
    await user.send_text(phrase)
    await env.pump()
    answers = [m for m in user.bot_messages() if m.message_id not in before]
    assert answers, "the bot said nothing to the words"
    return answers[0].text or ""


def new_phrase_shown(user: SimUser) -> str:
    """The recovery phrase the bot showed this chat (the message with "I saved it")."""
    shown = [m for m in user.bot_messages() if has_button(m, "saved")]
    assert shown, "no recovery phrase was shown"
    return code_text(shown[-1])


async def take_over(env: RelayEnv, sim, source: Onboarded, language: str) -> SimUser:
    thief = sim.add_user(first_name="Thief", username="thief_account")
    answer = await recover(env, thief, source.phrase)
    assert answer == said(language, "recover.success", case_id=source.case.case_id)
    assert (await env.case_of(thief)).case_id == source.case.case_id
    return thief


@pytest.mark.parametrize("language", ["ru", "uk", "en"])
async def test_a_takeover_is_told_seen_and_leaves_the_words_dead(env, sim, language):
    source = await onboard(env, sim, language)
    case_id = source.case.case_id
    thief = await take_over(env, sim, source, language)

    # 1. The previous chat is told, in the case's language, silently, naming nothing.
    notice = source.user.last_bot_message()
    assert notice.text == said(language, "recover.moved")
    assert notice.silent
    assert case_id not in notice.text and source.phrase not in notice.text

    # 2. Officers see it in the thread: an event of the case the console shows.
    events = await env.store.list_audit(case_id=case_id, action="source-recovered")
    assert [(e.actor, e.detail) for e in events] == [("relay", "from another account")]
    assert "source-recovered" in EVENT_ACTIONS

    # 3. The words used are dead; the new account got new ones, and only they work.
    renewed = new_phrase_shown(thief)
    assert renewed != source.phrase and len(renewed.split()) == 7
    late = sim.add_user(first_name="Late")
    assert await recover(env, late, source.phrase) == said("en", "recover.wrong")
    assert await env.case_of(late) is None
    assert (await env.case_of(thief)).case_id == case_id


async def test_the_notice_leaves_the_old_chat_within_telegrams_window(env, sim):
    source = await onboard(env, sim, "ru")
    await take_over(env, sim, source, "ru")
    moved = said("ru", "recover.moved")
    assert moved in [m.text for m in source.user.bot_messages()]
    sim.clock.advance(seconds=MOVED_NOTICE_LIFETIME.total_seconds() - 60)
    await env.pump()
    assert moved in [m.text for m in source.user.bot_messages()]
    sim.clock.advance(seconds=120)
    await env.pump()
    assert moved not in [m.text for m in source.user.bot_messages()]


async def test_the_new_phrase_works_and_the_old_chat_can_no_longer_reach_the_case(env, sim):
    source = await onboard(env, sim, "uk")
    case_id = source.case.case_id
    thief = await take_over(env, sim, source, "uk")
    renewed = new_phrase_shown(thief)
    # The old account is a stranger now: what it writes reaches nobody's case.
    await source.user.send_text("is anyone there?")
    await env.pump()
    assert await env.case_of(source.user) is None
    thread = await env.source_messages(case_id, env.handlers[0])
    assert "is anyone there?" not in [m.text for m in thread]
    # The source (who still has the paper) cannot use the old words; the new ones,
    # shown only in the thief's chat, do work: and that move is told to the thief's chat.
    back = sim.add_user(first_name="Back")
    assert await recover(env, back, renewed) == said("uk", "recover.success", case_id=case_id)
    assert thief.last_bot_message().text == said("uk", "recover.moved")


async def test_no_notice_after_forget(env, sim):
    """/forget dropped the link to the chat: nothing is sent there, and the event says so."""
    source = await onboard(env, sim, "ru")
    await source.user.send_text("/forget")
    await env.pump()
    await source.user.press_button(source.user.last_bot_message().message_id, "forget:yes")
    await env.pump()
    before = [m.message_id for m in source.user.bot_messages()]
    phone = sim.add_user(first_name="Later")
    assert await recover(env, phone, source.phrase) == said(
        "ru", "recover.success", case_id=source.case.case_id
    )
    assert [m.message_id for m in source.user.bot_messages()] == before
    events = await env.store.list_audit(case_id=source.case.case_id, action="source-recovered")
    assert [e.detail for e in events] == ["after /forget"]


@pytest.mark.relay_config(recover_per_case_per_day=1)
async def test_a_case_cannot_be_passed_around(env, sim):
    """Per case: however many accounts hold the current words, the case moves at most
    ``recover_per_case_per_day`` times a day; the refused move is in the audit log."""
    source = await onboard(env, sim, "en")
    case_id = source.case.case_id
    thief = await take_over(env, sim, source, "en")
    renewed = new_phrase_shown(thief)
    second = sim.add_user(first_name="Second")
    answer = await recover(env, second, renewed)
    assert answer.startswith("Too many attempts")
    assert await env.case_of(second) is None
    assert (await env.case_of(thief)).case_id == case_id
    refused = await env.store.list_audit(case_id=case_id, action="source-recover-refused")
    assert len(refused) == 1
    # The next UTC day the limit starts again (the audit log keeps the day).
    sim.clock.advance(days=1)
    await env.pump()
    third = sim.add_user(first_name="Third")
    assert await recover(env, third, renewed) == said("en", "recover.success", case_id=case_id)


async def test_the_previous_chat_keeps_no_trace_of_the_case(env, sim):
    """Whoever holds the old phone (lost, seized) finds no reply notice and no case ID
    left by the bot, only the neutral notice."""
    source = await onboard(env, sim, "ru")
    case_id = source.case.case_id
    await env.reply(case_id, env.handlers[0], "мы прочитали")
    await env.pump()
    await source.user.send_text("/status")
    await env.pump()
    traces = [notices(source.user)[-1].message_id, source.user.last_bot_message().message_id]
    await take_over(env, sim, source, "ru")
    await env.pump()
    left = {m.message_id for m in source.user.bot_messages()}
    assert not left & set(traces)
    assert not [m for m in source.user.bot_messages() if case_id in (m.text or "")]
    assert source.user.last_bot_message().text == said("ru", "recover.moved")


@pytest.mark.parametrize("how", ["/panic", "/forget"])
async def test_whoever_holds_the_case_now_cannot_erase_the_notice_early(env, sim, how):
    """The thief's own /panic or /forget makes the case's deletions due at once; the notice
    in the old chat is pinned to its clock, or the source would never see it (it is silent)."""
    source = await onboard(env, sim, "ru")
    thief = await take_over(env, sim, source, "ru")
    moved = said("ru", "recover.moved")
    if how == "/panic":
        await thief.send_text("/panic")
        await env.pump()
    else:
        # What /forget does once confirmed, straight on the store.
        await env.store.forget_chat_links(source.case.case_id)
    sim.clock.advance(seconds=60)
    await env.pump()
    assert moved in [m.text for m in source.user.bot_messages()]


async def test_a_reply_on_its_way_when_the_case_moved_leaves_the_old_chat(env, sim, monkeypatch):
    """The relay sent a reply to the old chat just as /recover moved the case: recorded
    after the move, it would stay on the old phone for a day (a quiet notice) or for good
    (a loud reply). It leaves at once, like what the move cleared."""
    source = await onboard(env, sim, "uk")
    case_id = source.case.case_id
    thief = sim.add_user(first_name="Thief")
    delivery = env.relay.delivery
    record_sent = delivery._record_sent

    async def moved_meanwhile(*args, **kwargs):
        # The move commits between the send and its record.
        await env.store.set_case_chat_ref(case_id, seal_chat_ref(env.ring, case_id, thief.id))
        await record_sent(*args, **kwargs)

    monkeypatch.setattr(delivery, "_record_sent", moved_meanwhile)
    await env.reply(case_id, env.handlers[0], "on its way")
    await env.pump()
    monkeypatch.setattr(delivery, "_record_sent", record_sent)
    sim.clock.advance(seconds=1)
    await env.pump()
    assert notices(source.user) == []
