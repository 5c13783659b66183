"""A source's commands, end to end through telesim: /help, /status, /language, /forget, /recover."""

from __future__ import annotations

import pytest

from bot.phrase import new_phrase
from store import CaseFlag, OutboxStatus
from tests.support.chat import notices, read_latest_reply, said
from tests.support.relay_env import Onboarded, RelayEnv, onboard


def texts(source: Onboarded) -> list[str]:
    return [m.text or "" for m in source.user.visible_messages()]


async def command(env: RelayEnv, source: Onboarded, text: str) -> str:
    """Send a command; returns the bot's answer and checks the command left the chat."""
    sent = await source.user.send_text(text)
    await env.pump()
    with pytest.raises(LookupError):
        source.user.message(sent.message_id)
    answer = source.user.last_bot_message()
    assert answer is not None and answer.message_id > sent.message_id
    return answer.text or ""


async def test_help(env, sim, source):
    assert await command(env, source, "/help") == said("en", "help.body")


@pytest.mark.parametrize("text", ["/frobnicate", "/cancel", "/stop now"])
async def test_unknown_command_points_to_help(env, sim, source, text):
    assert await command(env, source, text) == said("en", "command.unknown")


async def test_status_counts_replies_since_the_sources_last_message(env, sim, source):
    case_id = source.case.case_id
    status = await command(env, source, "/status")
    expected = said(
        "en",
        "status.body",
        case_id=case_id,
        unread=0,
        delivery=said("en", "status.delivery.working"),
    )
    assert status == expected
    alice = env.handlers[0]
    await env.reply(case_id, alice, "one")
    await env.reply(case_id, alice, "two")
    await env.pump()
    assert "New replies: 2" in await command(env, source, "/status")
    await source.user.send_text("thanks, more soon")
    await env.pump()
    assert "New replies: 0" in await command(env, source, "/status")
    await env.reply(case_id, alice, "three")
    await env.pump()
    assert "New replies: 1" in await command(env, source, "/status")


async def test_answers_naming_the_case_leave_the_chat(env, sim, source):
    case_id = source.case.case_id
    assert case_id in await command(env, source, "/status")
    assert case_id in await command(env, source, "/start")
    sim.clock.advance(minutes=9)
    await env.pump()
    assert len([t for t in texts(source) if case_id in t]) == 3  # with case.created
    sim.clock.advance(minutes=2)
    await env.pump()
    assert not [t for t in texts(source) if case_id in t]


async def test_language_switches_for_everything_after(env, sim, source):
    await source.user.send_text("/language")
    await env.pump()
    prompt = source.user.last_bot_message()
    await source.user.press_button(prompt.message_id, "lang:ru")
    await env.pump()
    assert source.user.last_bot_message().text == said("ru", "language.changed")
    assert not source.user.message(prompt.message_id).buttons  # the choice is made
    case = await env.case_of(source.user)
    assert case.language == "ru"
    # Officers see the change in the thread (ADR 0084): an event, with the language only.
    events = await env.store.list_audit(case_id=case.case_id, action="source-language")
    assert [(e.actor, e.detail) for e in events] == [("relay", "ru")]
    assert await command(env, source, "/help") == said("ru", "help.body")
    await env.reply(case.case_id, env.handlers[0], "привет")
    await env.pump()
    assert source.user.last_bot_message().text == env.config.relay.reply_notice["ru"]
    shown = await read_latest_reply(source.user, env.pump)
    assert shown.text == said("ru", "reply.body", text="привет")


async def test_language_can_be_typed(env, sim, source):
    await source.user.send_text("/language")
    await env.pump()
    await source.user.send_text("Українська")
    await env.pump()
    assert source.user.last_bot_message().text == said("uk", "language.changed")
    assert (await env.case_of(source.user)).language == "uk"


@pytest.mark.parametrize("asked", ["/language", "/forget"])
async def test_writing_instead_of_answering_is_not_lost(env, sim, source, asked):
    await source.user.send_text(asked)
    await env.pump()
    await source.user.send_text("the trucks leave at five")
    await env.pump()
    thread = await env.source_messages(source.case.case_id, env.handlers[0])
    assert [m.text for m in thread] == ["the trucks leave at five"]
    assert "the trucks leave at five" not in texts(source)
    assert source.user.last_bot_message().text == said("en", "ack.received")
    case = await env.case_of(source.user)
    assert case is not None and case.language == "en"
    assert await env.store.get_dialogue(env.ring.current.lookup_hash(source.user.id)) is None


# -- /forget --------------------------------------------------------------------------------


async def forget(env: RelayEnv, source: Onboarded, answer: str) -> None:
    await source.user.send_text("/forget")
    await env.pump()
    confirm = source.user.last_bot_message()
    assert confirm.text == said("en", "forget.confirm")
    await source.user.press_button(confirm.message_id, answer)
    await env.pump()
    with pytest.raises(LookupError):  # the question is gone with its buttons
        source.user.message(confirm.message_id)


async def test_forget_unlinks_the_account_and_cleans_the_chat(env, sim, source):
    case_id = source.case.case_id
    alice = env.handlers[0]
    await command(env, source, "/status")  # one more message naming the case
    assert len([t for t in texts(source) if case_id in t]) == 2
    await source.user.send_text("before forgetting")
    await env.reply(case_id, alice, "a reply that must not stay")
    await env.pump()
    (notice,) = notices(source.user)  # a quiet reply: its notice is what was delivered

    await forget(env, source, "forget:yes")

    case = await env.store.get_case(case_id)
    assert case.lookup_hash is None and case.sealed_chat_ref is None
    assert CaseFlag.FORGOTTEN in case.flags
    assert await env.case_of(source.user) is None
    shown = texts(source)
    assert notice.message_id not in [m.message_id for m in source.user.visible_messages()]
    assert shown[-1] == said("en", "forget.done")
    # Handlers still read everything the source sent.
    thread = await env.source_messages(case_id, alice)
    assert [m.text for m in thread] == ["before forgetting"]
    # A reply written afterwards has nowhere to go.
    item = await env.reply(case_id, alice, "still there?")
    await env.pump()
    item = await env.store.get_outbox(item.outbox_id)
    assert (item.status, item.last_error) == (OutboxStatus.FAILED, "no_chat")
    assert not any("still there?" in t for t in texts(source))
    # The last note leaves too, a little later; and soon nothing names the case.
    sim.clock.advance(seconds=31)
    await env.pump()
    assert said("en", "forget.done") not in texts(source)
    sim.clock.advance(minutes=10)
    await env.pump()
    assert not [t for t in texts(source) if case_id in t]


async def test_after_forget_start_is_a_new_source(env, sim, source):
    old = source.case.case_id
    await forget(env, source, "forget:yes")
    await source.user.send_text("hello again")  # not stored: nobody consented yet
    await env.pump()
    assert source.user.last_bot_message().text == said("en", "language.prompt")
    again = await onboard(env, sim, user=source.user)
    assert again.case.case_id != old
    assert await env.store.count_cases() == 2
    await again.user.send_text("second life")
    await env.pump()
    alice = env.handlers[0]
    assert [m.text for m in await env.source_messages(again.case.case_id, alice)] == ["second life"]
    assert await env.source_messages(old, alice) == []
    assert CaseFlag.FORGOTTEN in (await env.store.get_case(old)).flags


async def test_keep_changes_nothing(env, sim, source):
    await forget(env, source, "forget:keep")
    assert source.user.last_bot_message().text == said("en", "forget.kept")
    case = await env.case_of(source.user)
    assert case is not None and case.case_id == source.case.case_id
    assert CaseFlag.FORGOTTEN not in case.flags and case.sealed_chat_ref is not None


# -- /recover --------------------------------------------------------------------------------


async def recover(env: RelayEnv, user, phrase: str, *, start: bool = True) -> str:
    if start:
        await user.send_text("/recover")
        await env.pump()
        assert user.last_bot_message().text == said("en", "recover.prompt")
    sent = await user.send_text(phrase)
    await env.pump()
    with pytest.raises(LookupError):  # the words never stay in the chat
        user.message(sent.message_id)
    # The first answer to the words (a recovery goes on with the new phrase, ADR 0085).
    answers = [m for m in user.bot_messages() if m.message_id > sent.message_id]
    return answers[0].text or ""


async def test_recover_from_a_new_account(env, sim, source):
    case_id = source.case.case_id
    phone = sim.add_user(first_name="NewPhone")
    answer = await recover(env, phone, source.phrase.upper().replace(" ", "  "))
    assert answer == said("en", "recover.success", case_id=case_id)
    assert (await env.case_of(phone)).case_id == case_id
    assert await env.case_of(source.user) is None  # the old account is no longer linked
    await env.reply(case_id, env.handlers[0], "welcome back")
    await env.pump()
    shown = await read_latest_reply(phone, env.pump)
    assert shown.text == said("en", "reply.body", text="welcome back")
    assert not notices(source.user)
    await phone.send_text("from the new phone")
    await env.pump()
    thread = await env.source_messages(case_id, env.handlers[0])
    assert thread[-1].text == "from the new phone"


async def test_recover_after_forget(env, sim, source):
    await forget(env, source, "forget:yes")
    phone = sim.add_user(first_name="Later")
    answer = await recover(env, phone, source.phrase)
    assert answer == said("en", "recover.success", case_id=source.case.case_id)
    case = await env.store.get_case(source.case.case_id)
    assert CaseFlag.FORGOTTEN not in case.flags


async def test_recover_after_pressing_start(env, sim, source):
    phone = sim.add_user(first_name="Hasty")
    await phone.send_text("/start")
    await env.pump()
    assert phone.last_bot_message().text == said("en", "language.prompt")
    answer = await recover(env, phone, source.phrase)
    assert answer == said("en", "recover.success", case_id=source.case.case_id)


@pytest.mark.parametrize(
    ("words", "key", "fmt"),
    [
        ("wrong", "recover.wrong", {}),
        ("six", "recover.word_count", {}),
        ("eight", "recover.word_count", {}),
        ("unknown", "recover.bad_word", {"position": 3}),
    ],
)
async def test_recover_refuses_bad_phrases(env, sim, source, words, key, fmt):
    real = source.phrase.split()
    phrase = {
        "wrong": new_phrase(),
        "six": " ".join(real[:6]),
        "eight": " ".join([*real, real[0]]),
        "unknown": " ".join([*real[:2], "qzxv", *real[3:]]),
    }[words]
    phone = sim.add_user(first_name="Guess")
    assert await recover(env, phone, phrase) == said("en", key, **fmt)
    assert await env.case_of(phone) is None
    assert (await env.case_of(source.user)).case_id == source.case.case_id
    # Still asking: the next message is another try.
    assert await recover(env, phone, source.phrase, start=False) == said(
        "en", "recover.success", case_id=source.case.case_id
    )


@pytest.mark.relay_config(recover_attempts_per_hour=2)
async def test_recover_stops_after_too_many_attempts(env, sim, source):
    phone = sim.add_user(first_name="Brute")
    for _ in range(2):
        assert await recover(env, phone, new_phrase()) == said("en", "recover.wrong")
    answer = await recover(env, phone, source.phrase)  # even the right words, now
    assert answer == said("en", "recover.too_many", minutes=60)
    assert await env.case_of(phone) is None
    # The attempt budget belongs to the account, not to the dialogue.
    assert await recover(env, phone, source.phrase) == said("en", "recover.too_many", minutes=60)


async def test_recover_from_a_linked_account(env, sim, source):
    other = await onboard(env, sim, first_name="Other")
    assert await command(env, other, "/recover") == said("en", "recover.already_linked")
    assert (await env.case_of(other.user)).case_id == other.case.case_id
