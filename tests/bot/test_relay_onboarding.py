"""A source's whole first contact, through telesim with PTB's real network stack."""

from __future__ import annotations

import pytest

from core.caseid import CASE_ID_PATTERN
from core.i18n import catalog
from core.payload import SourceMessage
from telesim import TelegramSimulator

from .relay_env import RelayEnv, make_env


@pytest.fixture
async def sim():
    async with TelegramSimulator() as sim:
        yield sim


@pytest.fixture
async def env(tmp_path, sim):
    env = await make_env(tmp_path, sim)
    yield env
    await env.bot.shutdown()
    await env.store.close()


def plain(html: str) -> str:
    import re

    return (
        re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


async def onboard(env: RelayEnv, sim: TelegramSimulator, language: str):
    user = sim.add_user(first_name="Canary", username="canary_user", language_code="en")
    await user.send_text("/start")
    await env.pump()
    prompt = user.last_bot_message()
    assert prompt is not None and prompt.protect_content
    await user.press_button(prompt.message_id, f"lang:{language}")
    await env.pump()
    t = catalog(language)
    consent = user.last_bot_message()
    assert consent.text == plain(t.gettext("consent.question"))
    assert any(
        plain(t.gettext("briefing.body"))[:40] in (m.text or "") for m in user.bot_messages()
    )
    await user.press_button(consent.message_id, "consent:yes")
    await env.pump()
    question = user.last_bot_message()
    await user.press_button(question.message_id, "q:relation:employee")
    await env.pump()
    topic = user.last_bot_message()
    assert plain(t.gettext("intake.optional")) in topic.text
    await user.send_text("procurement fraud")
    await env.pump()
    phrase_message = user.last_bot_message()
    assert phrase_message.protect_content
    await user.press_button(phrase_message.message_id, "saved")
    await env.pump()
    assert user.last_bot_message().text == plain(t.gettext("case.ready"))
    assert phrase_message.message_id not in [m.message_id for m in user.visible_messages()]
    case = await env.store.get_case_by_lookup_hash(env.ring.current.lookup_hash(user.id))
    assert case is not None
    return user, case


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_onboarding_in_each_language(env, sim, language):
    user, case = await onboard(env, sim, language)
    assert CASE_ID_PATTERN.fullmatch(case.case_id)
    assert case.language == language
    shown = [m.text or "" for m in user.visible_messages()]
    assert any(case.case_id in text for text in shown)
    # The source's typed answer was deleted from the chat after sealing.
    assert "procurement fraud" not in shown
    alice, bob = env.handlers
    thread = await env.read_case(case.case_id, alice)
    answers = [a for m in thread if isinstance(m, SourceMessage) for a in m.answers]
    assert [(a.question, a.choice, a.answer) for a in answers] == [
        ("relation", "employee", "I work there"),
        ("topic", None, "procurement fraud"),
    ]
    # bob is not a default intake handler: no wrap for him, so he cannot read it.
    assert await env.store.list_case_handlers(case.case_id) == ["alice"]
    with pytest.raises(Exception, match="invalid envelope"):
        await env.read_case(case.case_id, bob)


async def test_cancel_stores_nothing(env, sim):
    user = sim.add_user(first_name="Nobody")
    await user.send_text("hello?")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "lang:en")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "consent:no")
    await env.pump()
    assert await env.store.count_cases() == 0
    assert user.last_bot_message().text == plain(catalog("en").gettext("consent.cancelled"))
    # The first message (sent before consent) was removed, not kept.
    assert "hello?" not in [m.text for m in user.visible_messages()]


async def test_text_intake_reply_and_history(env, sim):
    user, case = await onboard(env, sim, "ru")
    await user.send_text("Документы в сейфе")
    await env.pump()
    texts = [m.text for m in user.visible_messages()]
    assert "Документы в сейфе" not in texts  # deleted once sealed
    alice = env.handlers[0]
    thread = await env.read_case(case.case_id, alice)
    assert thread[-1].text == "Документы в сейфе"
    await env.reply(case.case_id, alice, "Спасибо, <b>мы</b> получили")
    await env.pump()
    reply = user.last_bot_message()
    assert reply.protect_content
    assert "Спасибо, <b>мы</b> получили" in reply.text  # escaped, shown as typed
    assert "alice" not in reply.text.lower()


async def test_second_start_does_not_reonboard(env, sim):
    user, case = await onboard(env, sim, "en")
    await user.send_text("/start")
    await env.pump()
    assert case.case_id in user.last_bot_message().text
    assert await env.store.count_cases() == 1
