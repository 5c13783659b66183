"""The relay under Telegram's failures: a fifth of its Bot API calls fail, and nothing is lost.

A relay runs for real (``Relay.run`` in this event loop) against telesim, whose seeded
fault rules make about 20% of the relay's calls fail with a mix of

- 429 Too Many Requests with ``retry_after`` = 1 s,
- 500 Internal Server Error,
- ambiguous timeouts: telesim applies the call, then drops the connection (or answers
  only after the client gave up), so the relay cannot tell whether it took effect.

- 50 sources send 1,000 messages (20 each, at once) while the console queues 200
  replies: every message stored exactly once, every reply delivered to the right chat,
  every message the relay deletes deleted, acknowledgements coalesced to one per burst
  per chat. A retried ambiguous ``sendMessage`` may show a message twice: such duplicates
  are counted, must each be explained by an ambiguous fault, and stay under 1% of what
  was exchanged.
- 50 sources onboard at once: no prompt, case ID message, phrase, answer to a button
  press, cleared keyboard or deletion is lost.
- With intake running smoothly, a burst is acknowledged exactly once.
- A message the relay must remove again (the phrase, the case ID) that Telegram showed
  although its answer was lost does not stay in the chat (docs/threat-model.md, P6).

The share of ambiguous faults differs by method: on ``sendMessage`` (where a retry after
one shows a duplicate, which is inherent to the Bot API) it is 1% of calls; on the other
calls (getUpdates, deleteMessage, answerCallbackQuery, editMessageReplyMarkup, ...),
where a retry must not change anything, it is 6%.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from core.i18n import catalog
from store import Direction, OutboxStatus, Store, open_store
from telesim import ChatMessage, SimUser, TelegramSimulator
from tests.support.chat import code_text, has_button, said
from tests.support.onboarding import Onboarding, walk
from tests.support.relay_env import Onboarded, RelayEnv, running_env

from .relay_live import (
    FaultMix,
    LiveRelay,
    add_late_answers,
    add_rules,
    ambiguous,
    applied,
    as_console,
    call_chat,
    intake_stalls,
    leaked,
    live,
    press_next,
    rebuild,
    settle,
    short_timeout_bot,
    user_texts,
    working_methods,
)

SEED = 20260311
SOURCES = 50
PER_SOURCE = 20  # messages each source sends, all at once: one burst per chat
REPLIES_PER_SOURCE = 4  # 200 replies in all
BURSTS = 10  # sources in the test of acknowledgements alone
READ_TIMEOUT = 4.0  # the relay's HTTP client gives up after this (never without a fault)
LATE = READ_TIMEOUT + 1.0  # a late answer arrives after the client gave up
ACK_LIFETIME_SECONDS = 30  # acknowledgements leave the chat after this (bot/conversation.py)
WORK_SECONDS = 75.0  # the deadline for everything to be stored, delivered and deleted
MAX_DUPLICATE_SHARE = 0.01


@dataclass
class World:
    env: RelayEnv  # the relay under test: Telegram's pace, fast delivery retries
    sim: TelegramSimulator
    console: RelayEnv  # replies are queued through the console's own store connection


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    async with (
        TelegramSimulator(seed=SEED) as sim,
        # Loud replies: each reply's text tells its copies apart (quiet ones: ADR 0081,
        # tests/bot/test_quiet_replies.py; the send, its retries and records are the same).
        running_env(tmp_path, sim, rate_limit_messages=100, quiet_replies=False) as base,
    ):
        bot = short_timeout_bot(sim, read_timeout=READ_TIMEOUT)
        await bot.initialize()
        console_store: Store = await open_store(base.config.store_url)
        try:
            env = rebuild(base, bot=bot)
            yield World(env, sim, as_console(env, console_store))
        finally:
            await console_store.close()
            await bot.shutdown()


def add_fault_mix(sim: TelegramSimulator) -> FaultMix:
    """About 20% of the relay's working calls fail (see the module's docstring)."""
    mix = FaultMix()
    others = [m for m in working_methods(sim) if m != "sendMessage"]
    # A few calls that take effect but are answered after the client gave up (each costs
    # the relay READ_TIMEOUT seconds of waiting, hence the bound).
    add_late_answers(
        sim,
        mix,
        [m for m in working_methods(sim) if m != "getUpdates"],
        delay=LATE,
        probability=0.01,
        times=4,
    )
    add_rules(sim, mix, ["sendMessage"], too_many=0.095, server=0.095, ambiguous=0.01)
    add_rules(sim, mix, others, too_many=0.07, server=0.07, ambiguous=0.06)
    return mix


def check_fault_mix(mix: FaultMix, calls: list, problems: list[str]) -> None:
    """The scenario happened: every kind of fault fired, on about a fifth of the calls."""
    for kind in ("too_many_requests", "server_error", "applied_then_dropped"):
        if mix.hits(kind) == 0:
            problems.append(f"no {kind} fault fired: the scenario did not happen")
    faulted = sum(c.fault for c in calls)
    share = faulted / max(1, len(calls))
    if not 0.12 <= share <= 0.30:
        problems.append(f"{share:.0%} of {len(calls)} calls faulted, not about 20%")


def report(problems: list[str]) -> None:
    for problem in problems:
        print("PROBLEM", problem)
    assert not problems, f"{len(problems)} problem(s):\n- " + "\n- ".join(problems[:40])


@pytest.mark.slow
async def test_a_thousand_messages_and_two_hundred_replies_under_faults(world, caplog):
    env, sim = world.env, world.sim
    caplog.set_level(logging.INFO, logger="writein")
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    async with live(env) as relay:
        # Onboarding first, all at once and without faults (the next test has them).
        started = loop.time()
        progress = [Onboarding(sim.add_user(first_name=f"Source{n:02d}")) for n in range(SOURCES)]
        deadline = loop.time() + WORK_SECONDS
        await asyncio.gather(*(walk(p, deadline=deadline) for p in progress))
        sources = []
        for p in progress:
            case = await env.case_of(p.user)
            assert case is not None
            sources.append(Onboarded(p.user, case, ""))
        print(f"onboarded {SOURCES} in {loop.time() - started:.1f} s")
        problems += await stream_under_faults(world, relay, sources, caplog)
    report(problems)


async def stream_under_faults(
    world: World, relay: LiveRelay, sources: list[Onboarded], caplog: pytest.LogCaptureFixture
) -> list[str]:
    """1,000 messages and 200 replies while a fifth of the relay's calls fail; what went
    wrong, once everything has settled."""
    env, sim, console = world.env, world.sim, world.console
    loop = asyncio.get_running_loop()
    alice = env.handlers[0]
    cases = [s.case.case_id for s in sources]
    chats = [s.user.id for s in sources]
    intake = {c: await env.store.count_envelopes(c, direction=Direction.IN) for c in cases}
    before = {s.user.id: {m.message_id for m in s.user.bot_messages()} for s in sources}
    sent = {
        s.user.id: [f"source {n:02d} message {k:02d}: the ledger" for k in range(PER_SOURCE)]
        for n, s in enumerate(sources)
    }
    answers = {
        s.user.id: [f"reply {k} to source {n:02d}: keep it safe" for k in range(REPLIES_PER_SOURCE)]
        for n, s in enumerate(sources)
    }
    shown = {said_reply(t): (chat, t) for chat, texts in answers.items() for t in texts}
    since = sim.calls[-1].seq if sim.calls else 0
    mix = add_fault_mix(sim)

    intake_done_at: list[float] = []  # telesim's time when every message was stored

    async def stored() -> int:
        total = 0
        for c in cases:
            total += await env.store.count_envelopes(c, direction=Direction.IN) - intake[c]
        if total >= SOURCES * PER_SOURCE and not intake_done_at:
            intake_done_at.append(sim.clock.now())
        return total

    async def progress() -> dict[str, int]:
        return {
            "stored": await stored(),
            "inbox": await env.store.count_inbox(),
            "outbox backlog": await env.store.count_outbox_backlog(),
            "source messages still in chats": sum(len(user_texts(s.user)) for s in sources),
        }

    async def all_done() -> bool:
        p = await progress()
        return (
            p["stored"] >= SOURCES * PER_SOURCE
            and p["inbox"] == 0
            and p["outbox backlog"] == 0
            and p["source messages still in chats"] == 0
            # Every acknowledgement sent: one still waiting for its quiet time or retrying
            # would be sent after the clock jumps below, and outlive the check of lifetimes.
            and env.relay.outgoing.idle
        )

    async def write(source: Onboarded) -> None:
        for text in sent[source.user.id]:  # a burst: nothing in between
            await source.user.send_text(text)

    async def answer() -> None:
        for k in range(REPLIES_PER_SOURCE):
            for s in sources:
                await console.reply(s.case.case_id, alice, answers[s.user.id][k])

    problems: list[str] = []
    started = loop.time()
    await asyncio.gather(*(write(s) for s in sources), answer())
    done = await settle(all_done, timeout=WORK_SECONDS, relay=relay)
    worked = loop.time() - started
    if not done:
        state = await progress()
        problems.append(f"not done {WORK_SECONDS:.0f} s after the stream began: {state}")
        if state["source messages still in chats"]:
            problems.append(
                f"{state['source messages still in chats']} of {SOURCES * PER_SOURCE} "
                "messages the relay stored are still in the sources' chats (deletions lag)"
            )
    # Acknowledgements leave the chat after their lifetime (the relay's clock is telesim's).
    sim.clock.advance(seconds=ACK_LIFETIME_SECONDS + 1)
    replies_seen = {plain_reply(t) for _, t in shown.values()}
    acks_left: dict[str, int] = {}

    def leftovers() -> bool:
        """Acknowledgements still in a chat, beyond copies the relay cannot know of
        (sent again after an ambiguous timeout)."""
        acks_left.clear()
        unknowable = Counter(
            call_chat(c)
            for c in sim.calls
            if c.seq > since
            and c.method == "sendMessage"
            and ambiguous(c)
            and c.params.get("text") not in shown
        )
        for s in sources:
            extra = [
                m
                for m in s.user.bot_messages()
                if m.message_id not in before[s.user.id] and (m.text or "") not in replies_seen
            ]
            if len(extra) > unknowable[s.user.id]:
                acks_left[s.user.first_name] = len(extra)
        return not acks_left

    acks_gone = done and await settle(leftovers, timeout=20, relay=relay)
    sim.faults.clear()
    if why := await relay.stop():
        problems.append(why)

    calls = [c for c in sim.calls if c.seq > since]
    sends = [c for c in calls if c.method == "sendMessage"]
    check_fault_mix(mix, [c for c in calls if c.method in set(working_methods(sim))], problems)

    # Every message stored exactly once, and nothing left in the inbox.
    for s in sources:
        got = Counter(
            m.text for m in await env.source_messages(s.case.case_id, alice) if m.kind == "text"
        )
        want = Counter(sent[s.user.id])
        if got != want:
            lost, twice = want - got, got - want
            problems.append(
                f"{s.user.first_name}: {sum(lost.values())} message(s) lost, "
                f"{sum(twice.values())} stored twice"
            )
    if (inbox := await env.store.count_inbox()) != 0:
        problems.append(f"{inbox} update(s) left in the inbox")

    # Every reply delivered, to the right chat; duplicates only from ambiguous timeouts.
    duplicates = 0
    copies: dict[int, Counter[str]] = {}
    for s in sources:
        copies[s.user.id] = Counter(m.text or "" for m in s.user.bot_messages())
    for s in sources:
        items = await env.store.list_outbox(s.case.case_id)
        states = Counter(i.status for i in items)
        if states != Counter({OutboxStatus.SENT: REPLIES_PER_SOURCE}):
            problems.append(f"{s.user.first_name}: outbox {dict(states)}")
        for text in answers[s.user.id]:
            seen = copies[s.user.id][plain_reply(text)]
            if seen == 0:
                problems.append(f"{s.user.first_name}: reply {text!r} never arrived")
            duplicates += max(0, seen - 1)
            elsewhere = [
                o.user.first_name
                for o in sources
                if o is not s and copies[o.user.id][plain_reply(text)]
            ]
            if elsewhere:
                problems.append(f"reply for {s.user.first_name} shown to {elsewhere}")
    per_chat_reply_ambiguous: Counter[int | None] = Counter()
    for call in sends:
        if call.params.get("text") in shown and ambiguous(call):
            per_chat_reply_ambiguous[call_chat(call)] += 1
    for s in sources:
        extra = sum(max(0, copies[s.user.id][plain_reply(t)] - 1) for t in answers[s.user.id])
        if extra > per_chat_reply_ambiguous[s.user.id]:
            problems.append(
                f"{s.user.first_name}: {extra} duplicate repl(ies) but only "
                f"{per_chat_reply_ambiguous[s.user.id]} ambiguous send(s): a duplicate "
                "without an ambiguous timeout"
            )

    # Acknowledgements: none lost, at most one per burst (copies from ambiguous sends aside).
    # Each source's 20 messages are one burst; an intake stall (failed getUpdates) while it
    # comes in may end it as far as the relay can see, and allows one more.
    stalls = intake_stalls(calls, until=intake_done_at[0] if intake_done_at else sim.clock.now())
    acks = Counter(call_chat(c) for c in sends if c.params.get("text") not in shown and applied(c))
    acks_ambiguous = Counter(
        call_chat(c) for c in sends if c.params.get("text") not in shown and ambiguous(c)
    )
    unknown = set(acks) - set(chats)
    if unknown:
        problems.append(f"messages sent to chats that are no source's: {sorted(unknown)}")
    for s in sources:
        chat = s.user.id
        if acks[chat] == 0:
            problems.append(f"{s.user.first_name}: no acknowledgement arrived")
        elif acks[chat] - acks_ambiguous[chat] > 1 + stalls:
            problems.append(
                f"{s.user.first_name}: {acks[chat]} acknowledgements for one burst of "
                f"{PER_SOURCE} messages ({acks_ambiguous[chat]} after ambiguous timeouts, "
                f"{stalls} intake stall(s))"
            )
        # Copies of an acknowledgement sent again after an ambiguous timeout.
        duplicates += min(max(0, acks[chat] - 1), acks_ambiguous[chat])
    if done and not acks_gone:  # (if deletions lag, this is the same problem)
        problems.append(f"acknowledgements still in the chats after their lifetime: {acks_left}")

    # Duplicates: counted, explained, and rare.
    exchanged = SOURCES * (PER_SOURCE + REPLIES_PER_SOURCE)
    all_ambiguous = sum(ambiguous(c) for c in sends)
    if duplicates > all_ambiguous:
        problems.append(f"{duplicates} duplicates but only {all_ambiguous} ambiguous sends")
    if duplicates >= MAX_DUPLICATE_SHARE * exchanged:
        problems.append(f"{duplicates} duplicates in {exchanged} messages and replies")

    # Nothing anyone wrote reaches the log.
    secrets = [t for texts in sent.values() for t in texts] + [t for _, t in shown.values()]
    if leaks := leaked(caplog.records, secrets):
        problems.append(f"the log quotes content: {leaks[:2]}")
    print(
        f"worked {worked:.1f} s; {len(calls)} calls, {sum(c.fault for c in calls)} faulted "
        f"({mix.hits('too_many_requests')} x 429, {mix.hits('server_error')} x 500, "
        f"{mix.hits('applied_then_dropped')} dropped, {mix.hits('applied_then_late')} late); "
        f"{duplicates} duplicates of {exchanged}; {stalls} intake stall(s), "
        f"acknowledgements per chat {sorted(Counter(acks.values()).items())}"
    )
    return problems


async def test_fifty_sources_onboard_under_faults(world, caplog):
    """Prompts, the case ID message, the recovery phrase, answers to button presses,
    cleared buttons and deletions: none is lost to a transient error."""
    env, sim = world.env, world.sim
    caplog.set_level(logging.INFO, logger="writein")
    loop = asyncio.get_running_loop()
    users = [sim.add_user(first_name=f"Newcomer{n:02d}") for n in range(SOURCES)]
    since = sim.calls[-1].seq if sim.calls else 0
    mix = add_fault_mix(sim)
    progress = [Onboarding(u) for u in users]
    problems: list[str] = []
    async with live(env) as relay:
        deadline = loop.time() + WORK_SECONDS
        results = await asyncio.gather(
            *(walk(p, deadline=deadline) for p in progress), return_exceptions=True
        )
        relay.check_running()
        stalled = Counter(p.step for p, r in zip(progress, results, strict=True) if r is not None)
        if stalled:
            problems.append(f"onboarding stalled: {dict(stalled)}")
        finished = [p for p in progress if p.ready]

        def phrases_gone() -> bool:
            return all(not still_there(p) for p in finished)

        # The phrase message leaves the chat once the source saved the phrase.
        if not await settle(phrases_gone, timeout=20, relay=relay):
            left = [p.user.first_name for p in finished if still_there(p)]
            problems.append(f"recovery phrase still in the chat of {left}")
        sim.faults.clear()
        if why := await relay.stop():
            problems.append(why)

    for p in finished:
        case = await env.case_of(p.user)
        if case is None:
            problems.append(f"{p.user.first_name}: no case")
            continue
        if not any(case.case_id in text for text in (m.text or "" for m in p.user.bot_messages())):
            problems.append(f"{p.user.first_name}: the case ID message never arrived")
        if user_texts(p.user):
            problems.append(f"{p.user.first_name}: /start still in the chat")
        for message_id in p.pressed[:-1]:  # the last one, the phrase, is deleted
            with contextlib.suppress(LookupError):
                if p.user.message(message_id).buttons:
                    problems.append(f"{p.user.first_name}: buttons left on a question answered")
    unanswered = [q for q in sim.world.callback_queries.values() if q.answer is None]
    if unanswered:
        problems.append(f"{len(unanswered)} button press(es) never answered")
    cases = await env.store.count_cases()
    if not stalled and cases != SOURCES:
        problems.append(f"{cases} cases for {SOURCES} onboarded sources")
    calls = [c for c in sim.calls if c.seq > since]
    check_fault_mix(mix, [c for c in calls if c.method in set(working_methods(sim))], problems)
    phrases = [code_text(p.phrase_message) for p in finished if p.phrase_message]
    if leaked(caplog.records, phrases):
        problems.append("the log quotes a recovery phrase")
    report(problems)


async def test_one_acknowledgement_per_burst_while_sends_and_deletions_fail(world):
    """Intake runs smoothly, a fifth of every other call fails: each source's burst of
    20 messages is acknowledged exactly once (copies after ambiguous timeouts aside)."""
    env, sim = world.env, world.sim
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    async with live(env) as relay:
        progress = [Onboarding(sim.add_user(first_name=f"Burst{n}")) for n in range(BURSTS)]
        deadline = loop.time() + WORK_SECONDS
        await asyncio.gather(*(walk(p, deadline=deadline) for p in progress))
        users = [p.user for p in progress]
        cases = [case.case_id for u in users if (case := await env.case_of(u)) is not None]
        intake = {c: await env.store.count_envelopes(c, direction=Direction.IN) for c in cases}
        since = sim.calls[-1].seq
        mix = FaultMix()
        add_rules(sim, mix, ["sendMessage"], too_many=0.095, server=0.095, ambiguous=0.01)
        others = [m for m in working_methods(sim) if m not in ("sendMessage", "getUpdates")]
        add_rules(sim, mix, others, too_many=0.07, server=0.07, ambiguous=0.06)
        for n, user in enumerate(users):
            for k in range(PER_SOURCE):
                await user.send_text(f"burst {n} message {k}")

        def acks() -> Counter[int | None]:
            return Counter(
                call_chat(c)
                for c in sim.calls
                if c.seq > since and c.method == "sendMessage" and applied(c)
            )

        async def answered() -> bool:
            stored = 0
            for c in cases:
                stored += await env.store.count_envelopes(c, direction=Direction.IN) - intake[c]
            return stored >= BURSTS * PER_SOURCE and all(acks()[u.id] for u in users)

        # A burst is acknowledged once it is over: wait until every chat has had its answer.
        if not await settle(answered, timeout=WORK_SECONDS, relay=relay):
            problems.append(f"not every burst stored and acknowledged: {dict(acks())}")
        sim.faults.clear()
        if why := await relay.stop():
            problems.append(why)
    ambiguous_sends = Counter(
        call_chat(c)
        for c in sim.calls
        if c.seq > since and c.method == "sendMessage" and ambiguous(c)
    )
    for user in users:
        extra = acks()[user.id] - ambiguous_sends[user.id]
        if extra > 1:
            problems.append(f"{user.first_name}: {extra} acknowledgements for one burst")
    report(problems)


# When Telegram carried out a send whose answer was lost, the relay's retry shows the
# message again and learns only the new copy's id. The Bot API cannot list a chat: the
# relay finds the first copy among the ids it cannot account for (ADR 0093).
@pytest.mark.parametrize("twice", ["case ID", "recovery phrase"])
async def test_a_message_shown_twice_after_a_lost_answer_leaves_the_chat_too(world, twice):
    """P6 (docs/threat-model.md): the recovery phrase leaves the chat once the source saved
    it, and messages naming the case ID after ten minutes. When Telegram shows such a
    message but its answer is lost, the relay sends it again (a possible duplicate): the
    copy Telegram did show must not stay in the chat for good."""
    env, sim = world.env, world.sim
    user = sim.add_user(first_name="Twice")
    timeout = 30.0
    async with live(env) as relay:
        topic = await to_the_last_question(user, timeout)
        # Skipping the last question makes the relay send the case ID, then (a second
        # later: one message a second per chat) the phrase. The next message sent to this
        # chat after the fault is added is the one meant.
        lose_answer = {"method": "sendMessage", "chat_id": user.id, "drop": True}
        if twice == "case ID":
            fault = sim.faults.add(**lose_answer, after_effect=True, times=1)
        await user.press_button(topic.message_id, "skip:topic")
        await user.wait_for_bot_message(
            after=topic.message_id, where=lambda m: "case ID" in (m.text or ""), timeout=timeout
        )
        if twice == "recovery phrase":
            fault = sim.faults.add(**lose_answer, after_effect=True, times=1)
        last = topic.message_id
        phrase_message = await press_next(user, "saved", after=last, timeout=timeout)
        await user.wait_for_bot_message(
            after=phrase_message.message_id,
            where=lambda m: m.text == said("en", "case.ready"),
            timeout=timeout,
        )
        assert fault.hits == 1, f"the {twice} message was not the one whose answer was lost"
        case = await env.case_of(user)
        assert case is not None
        phrase = code_text(phrase_message)
        sim.clock.advance(minutes=11)  # messages naming the case ID are due to leave

        def copies() -> list[str]:
            return [
                m.text or ""
                for m in user.bot_messages()
                if phrase in (m.text or "") or case.case_id in (m.text or "")
            ]

        left = not await settle(lambda: not copies(), timeout=20, relay=relay)
        sim.faults.clear()
        stopped = await relay.stop()
    assert not left, f"still in the chat after the {twice} was sent twice: {copies()}"
    assert stopped is None, stopped


async def to_the_last_question(user: SimUser, timeout: float) -> ChatMessage:
    """Onboard in English up to the last (optional) question, and return it."""
    last = (await user.send_text("/start")).message_id
    for data in ("lang:en", "consent:yes", "q:relation:employee"):
        last = (await press_next(user, data, after=last, timeout=timeout)).message_id
    return await user.wait_for_bot_message(
        after=last, where=lambda m: bool(m.buttons), timeout=timeout
    )


async def test_panic_while_a_lost_answer_s_copy_is_looked_for_takes_the_phrase_at_once(world):
    """The phrase's deletion is recorded before the search for its first copy, which may
    wait (here for a reply on its way): /panic meanwhile takes the copy whose id the relay
    knows at once, and the search then finds and deletes the other."""
    env, sim = world.env, world.sim
    user = sim.add_user(first_name="Panic")
    timeout = 30.0

    def phrases() -> list[ChatMessage]:
        return [m for m in user.bot_messages() if has_button(m, "saved")]

    async with live(env) as relay:
        topic = await to_the_last_question(user, timeout)
        with env.relay.io.ids.sending(user.id):  # a reply on its way: the search waits
            await user.press_button(topic.message_id, "skip:topic")
            await user.wait_for_bot_message(
                after=topic.message_id, where=lambda m: "case ID" in (m.text or ""), timeout=timeout
            )
            sim.faults.add(
                method="sendMessage", chat_id=user.id, drop=True, after_effect=True, times=1
            )
            assert await settle(lambda: len(phrases()) == 2, timeout=timeout, relay=relay)
            await user.send_text("/panic")
            taken_at_once = await settle(lambda: len(phrases()) <= 1, timeout=20, relay=relay)
        left = not await settle(lambda: not phrases(), timeout=20, relay=relay)
        stopped = await relay.stop()
    assert taken_at_once, "the phrase Telegram's answer named stayed after /panic"
    assert not left, f"a copy of the phrase stayed: {[m.message_id for m in phrases()]}"
    assert stopped is None, stopped


def still_there(p: Onboarding) -> bool:
    assert p.phrase_message is not None
    return any(m.message_id == p.phrase_message.message_id for m in p.user.bot_messages())


def said_reply(text: str) -> str:
    """A reply as the relay sends it (HTML, as logged by telesim)."""
    return catalog("en").gettext("reply.body", text=text)


def plain_reply(text: str) -> str:
    """A reply as the source sees it."""
    return said("en", "reply.body", text=text)
