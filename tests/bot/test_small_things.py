"""Issue 14 item 6 and 7, through telesim in more than one language: a message before /start
is explained, an over-long answer is refused with its limit, "above", Skip goes once
answered, status in plain words, the Russian and Ukrainian wording; onboarding stays short."""

from __future__ import annotations

import pytest

from core.i18n import catalog
from telesim import ChatMessage, SimUser
from tests.support.chat import has_button, plain, said
from tests.support.onboarding import Onboarding, walk
from tests.support.relay_env import RelayEnv, onboard

TOPIC_LIMIT = 1000  # tests/support/relay_env.py's topic question: max_chars by default


async def to_topic_question(env: RelayEnv, sim, language: str) -> tuple[SimUser, ChatMessage]:
    """A new source, onboarded up to the optional text question (topic)."""
    user = sim.add_user(first_name="Canary", username=f"canary_{language}")
    await user.send_text("/start")
    for data in (f"lang:{language}", "consent:yes", "q:relation:employee"):
        await env.pump(rounds=1)
        message = user.last_bot_message()
        assert message is not None and has_button(message, data), data
        await user.press_button(message.message_id, data)
    await env.pump(rounds=1)
    question = user.last_bot_message()
    assert question is not None and has_button(question, "skip:topic")
    return user, question


async def test_a_message_before_start_is_explained(env, sim):
    user = sim.add_user(first_name="Early")
    sent = await user.send_text("here is what I know")
    await env.pump()
    assert sent.message_id not in [m.message_id for m in user.visible_messages()]
    texts = [m.text or "" for m in user.bot_messages()]
    told = said("en", "start.not_kept")
    assert told in texts
    # Before a language is chosen: said in English, Russian and Ukrainian alike.
    assert "Nothing is kept before you start" in told
    assert "До начала ничего не сохраняется" in told
    assert "До початку нічого не зберігається" in told
    assert texts[-1] == said("en", "language.prompt")


async def test_start_itself_is_not_explained(env, sim):
    user = sim.add_user(first_name="Prompt")
    await user.send_text("/start")
    await env.pump()
    assert said("en", "start.not_kept") not in [m.text for m in user.bot_messages()]


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_an_over_long_answer_is_refused_with_its_limit_not_cut(env, sim, language):
    user, _question = await to_topic_question(env, sim, language)
    long = await user.send_text("а" * (TOPIC_LIMIT + 1))
    await env.pump(rounds=1)
    assert user.last_bot_message().text == said(language, "intake.too_long", limit=TOPIC_LIMIT)
    assert str(TOPIC_LIMIT) in user.last_bot_message().text
    assert long.message_id not in [m.message_id for m in user.visible_messages()]
    # Still the same question: a shorter answer goes through whole.
    exact = "б" * TOPIC_LIMIT
    await user.send_text(exact)
    await env.pump(rounds=1)
    assert has_button(user.last_bot_message(), "saved")  # on to the recovery phrase
    case = await env.case_of(user)
    assert case is not None
    thread = await env.read_case(case.case_id, env.handlers[0])
    answers = [a.answer for m in thread for a in getattr(m, "answers", ())]
    assert exact in answers and not any(a and a.startswith("а") for a in answers)


@pytest.mark.parametrize(("language", "above"), [("en", "above"), ("ru", "выше"), ("uk", "вище")])
async def test_a_wrong_answer_points_above(env, sim, language, above):
    user = sim.add_user(first_name="Typist", username=f"typist_{language}")
    await user.send_text("/start")
    await env.pump(rounds=1)
    await user.press_button(user.last_bot_message().message_id, f"lang:{language}")
    await env.pump(rounds=1)
    await user.press_button(user.last_bot_message().message_id, "consent:yes")
    await env.pump(rounds=1)
    await user.send_text("something else")  # the relation question wants a button
    await env.pump(rounds=1)
    told = user.last_bot_message().text or ""
    assert told == said(language, "intake.invalid_choice")
    assert above in told and "below" not in told and "ниже" not in told and "нижче" not in told


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_help_during_intake_is_help(env, sim, language):
    user, _question = await to_topic_question(env, sim, language)
    await user.send_text("/help")
    await env.pump(rounds=1)
    assert user.last_bot_message().text == said(language, "help.body")
    await user.send_text("short topic")  # the question is still open
    await env.pump(rounds=1)
    assert has_button(user.last_bot_message(), "saved")


@pytest.mark.parametrize("language", ["en", "uk"])
async def test_skip_disappears_once_the_question_is_answered(env, sim, language):
    user, question = await to_topic_question(env, sim, language)
    await user.send_text("procurement")
    await env.pump(rounds=1)
    after = user.message(question.message_id)
    assert after is not None
    assert not has_button(after, "skip:topic")
    assert after.buttons == ()


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_status_in_plain_words(env, sim, language):
    source = await onboard(env, sim, language)
    await source.user.send_text("/status")
    await env.pump()
    text = source.user.last_bot_message().text or ""
    assert said(language, "status.delivery.working") in text
    assert "Delivery:" not in text
    working = plain(catalog(language).gettext("status.delivery.working"))
    assert working.endswith(".") and len(working.split()) >= 5  # a sentence, not a state


@pytest.mark.parametrize(
    ("language", "reviewed", "before"),
    [
        ("ru", "шифруется так, что прочитать его можем только мы", "шифруется для нас"),
        ("uk", "шифрується так, що прочитати його можемо лише ми", "шифрується для нас"),
    ],
)
async def test_the_reviewed_wording_reaches_the_source(env, sim, language, reviewed, before):
    source = await onboard(env, sim, language)  # the briefing and case.ready are in the chat
    seen = [m.text or "" for m in source.user.bot_messages()]
    assert any(reviewed in text for text in seen)
    assert not any(before in text for text in seen)
    genitive = {"ru": "не видим вашего аккаунта", "uk": "не бачимо вашого акаунта"}[language]
    assert any(genitive in text for text in seen), "the genitive after the negation"


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
async def test_onboarding_takes_at_most_six_taps_or_answers(env, sim, language):
    user = sim.add_user(first_name="Counted", username=f"counted_{language}")
    progress = Onboarding(user)
    await walk(progress, language=language, pump=lambda: env.pump(rounds=1))
    assert progress.ready
    assert progress.actions <= 6, f"{progress.actions} taps or answers from /start"
    # …and the next thing the source does is their first message, which is taken.
    await user.send_text("first message")
    await env.pump()
    case = await env.case_of(user)
    assert case is not None
    assert [m.text for m in await env.source_messages(case.case_id, env.handlers[0])] == [
        "first message"
    ]
