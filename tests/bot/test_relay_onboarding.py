"""A source's whole first contact, through telesim with PTB's real network stack."""

from __future__ import annotations

import pytest

from core.caseid import CASE_ID_PATTERN
from core.i18n import catalog
from core.payload import SourceMessage
from store import Case
from telesim import ChatMessage, SimUser, TelegramSimulator
from tests.support.chat import plain, read_latest_reply
from tests.support.relay_env import RelayEnv
from tests.support.relay_env import onboard as onboard_source

# The topic question answered by typing (the answer must leave the chat once sealed).
TYPED_INTAKE = (("q:relation:employee", None), ("skip:topic", "procurement fraud"))


class ShownRight:
    """A ``check`` for onboarding: what each message the source answers must show."""

    def __init__(self, user: SimUser, language: str) -> None:
        self.user = user
        self.t = catalog(language)
        self.phrase_message_id: int | None = None

    def __call__(self, button: str, message: ChatMessage) -> None:
        t = self.t
        if button.startswith("lang:"):
            assert message.protect_content
        elif button == "consent:yes":
            assert message.text == plain(t.gettext("consent.question"))
            assert any(
                plain(t.gettext("briefing.body"))[:40] in (m.text or "")
                for m in self.user.bot_messages()
            )
        elif button == "skip:topic":
            assert plain(t.gettext("intake.optional")) in (message.text or "")
        elif button == "saved":
            assert message.protect_content
            self.phrase_message_id = message.message_id


async def onboard(env: RelayEnv, sim: TelegramSimulator, language: str) -> tuple[SimUser, Case]:
    """Onboarding with the topic typed and every step's message checked; the phrase
    message is gone from the chat once the case is ready."""
    user = sim.add_user(first_name="Canary", username="canary_user", language_code="en")
    check = ShownRight(user, language)
    source = await onboard_source(env, sim, language, user=user, intake=TYPED_INTAKE, check=check)
    assert check.phrase_message_id is not None
    assert check.phrase_message_id not in [m.message_id for m in user.visible_messages()]
    return user, source.case


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
    reply = await read_latest_reply(user, env.pump)  # a quiet reply: shown on a tap
    assert reply.protect_content
    assert "Спасибо, <b>мы</b> получили" in reply.text  # escaped, shown as typed
    assert "alice" not in reply.text.lower()


async def test_second_start_does_not_reonboard(env, sim):
    user, case = await onboard(env, sim, "en")
    await user.send_text("/start")
    await env.pump()
    assert case.case_id in user.last_bot_message().text
    assert await env.store.count_cases() == 1
