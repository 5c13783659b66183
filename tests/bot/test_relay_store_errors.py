"""The relay when its database fails for a while: every loop goes on, nothing is lost.

On real SQLite files, with the relay running for real (``Relay.run`` in this event loop)
against telesim:

- one store call at a time fails with ``StoreUnavailableError`` (what a locked database
  raises) until the test releases it, one case per loop of the relay: the loop logs the
  failure on one line (its task name and the exception's type, never content) and tries
  again with backoff; the other loops go on meanwhile; after the release every message is
  stored exactly once and every reply delivered exactly once;
- another connection holds SQLite's write lock for 15 s in the middle of a stream of
  messages and replies: the relay waits it out, logging, and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest

from store import Direction, OutboxStatus, Store, StoreUnavailableError, open_store
from store._open import sqlite_path
from telesim import TelegramSimulator
from tests.support.chat import said
from tests.support.relay_env import Onboarded, RelayEnv, no_pace, onboard, running_env

from .relay_live import (
    FlakyStore,
    as_console,
    failure_lines,
    leaked,
    live,
    multi_line,
    rebuild,
    until,
    user_texts,
)

SEED = 20260312
SOURCES = 3
PER_PHASE = 3  # messages per source in each phase of the stream
WAIT = 45.0  # the deadline for any one condition
RETRIED = 20.0  # the deadline for a failing loop's second try (its backoff starts small)
LOCK_SECONDS = 15.0
# The relay's long-running tasks, as named in its log lines.
ANY_TASK = r"poll|process|delivery|deletions?|housekeeping|retention|keys|token"


@dataclass
class World:
    base: RelayEnv  # the real store; the tests read back through it
    quick: RelayEnv  # a relay without the per-chat pace, to onboard sources fast
    sim: TelegramSimulator
    console_store: Store  # the console's own connection to the database


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    async with (
        TelegramSimulator(seed=SEED) as sim,
        # Loud replies: each reply's text tells its copies apart (quiet ones: ADR 0081,
        # tests/bot/test_quiet_replies.py; the send, its retries and records are the same).
        running_env(tmp_path, sim, rate_limit_messages=100, quiet_replies=False) as base,
    ):
        console_store = await open_store(base.config.store_url)
        try:
            yield World(base, rebuild(base, pace=no_pace()), sim, console_store)
        finally:
            await console_store.close()


class Stream:
    """Sources writing and a handler replying, and what the store and the chats show."""

    def __init__(self, env: RelayEnv, console: RelayEnv, sources: list[Onboarded]) -> None:
        self.env = env
        self.console = console
        self.sources = sources
        self.sent: dict[int, list[str]] = {s.user.id: [] for s in self.sources}
        self.replies: dict[int, list[str]] = {s.user.id: [] for s in self.sources}
        self.intake: dict[str, int] = {}

    async def start(self) -> None:
        for s in self.sources:
            self.intake[s.case.case_id] = await self.env.store.count_envelopes(
                s.case.case_id, direction=Direction.IN
            )

    async def write(self, phase: str) -> None:
        for n, s in enumerate(self.sources):
            for k in range(PER_PHASE):
                text = f"{phase}: message {k} from source {n}, the ledger"
                self.sent[s.user.id].append(text)
                await s.user.send_text(text)

    async def reply(self, phase: str, *, retry_while_locked: bool = False) -> None:
        """One reply to each source, queued through the console's connection."""
        for n, s in enumerate(self.sources):
            text = f"{phase}: reply to source {n}, keep it safe"
            while True:
                try:
                    await self.console.reply(s.case.case_id, self.env.handlers[0], text)
                    break
                except StoreUnavailableError:
                    if not retry_while_locked:
                        raise
                    await asyncio.sleep(0.1)  # the console's user tries again
            self.replies[s.user.id].append(text)

    async def stored(self) -> int:
        total = 0
        for s in self.sources:
            case_id = s.case.case_id
            count = await self.env.store.count_envelopes(case_id, direction=Direction.IN)
            total += count - self.intake[case_id]
        return total

    async def delivered(self) -> int:
        total = 0
        for s in self.sources:
            items = await self.env.store.list_outbox(s.case.case_id)
            total += sum(i.status is OutboxStatus.SENT for i in items)
        return total

    def sent_count(self) -> int:
        return sum(len(v) for v in self.sent.values())

    def reply_count(self) -> int:
        return sum(len(v) for v in self.replies.values())

    async def progress(self) -> str:
        left = sum(len(user_texts(s.user)) for s in self.sources)
        states: Counter[str] = Counter()
        shown = 0
        for s in self.sources:
            states.update(i.status.value for i in await self.env.store.list_outbox(s.case.case_id))
            texts = {m.text for m in s.user.bot_messages()}
            shown += sum(said("en", "reply.body", text=t) in texts for t in self.replies[s.user.id])
        return (
            f"stored {await self.stored()}/{self.sent_count()}, "
            f"inbox {await self.env.store.count_inbox()}, "
            f"delivered {await self.delivered()}/{self.reply_count()} "
            f"(outbox {dict(states)}; {shown} replies shown in the chats), "
            f"source messages still in the chats {left}"
        )

    async def all_stored(self) -> bool:
        return await self.stored() >= self.sent_count() and await self.env.store.count_inbox() == 0

    async def all_delivered(self) -> bool:
        return await self.delivered() >= self.reply_count()

    async def done(self) -> bool:
        return (
            await self.all_stored()
            and await self.all_delivered()
            and not any(user_texts(s.user) for s in self.sources)
        )

    async def check(self) -> list[str]:
        """Every message stored exactly once, every reply shown exactly once."""
        problems = []
        alice = self.env.handlers[0]
        for s in self.sources:
            got = Counter(
                m.text
                for m in await self.env.source_messages(s.case.case_id, alice)
                if m.kind == "text"
            )
            want = Counter(self.sent[s.user.id])
            if got != want:
                problems.append(
                    f"{s.user.first_name}: lost {sorted((want - got).elements())}, "
                    f"stored twice {sorted((got - want).elements())}"
                )
            shown = Counter(m.text for m in s.user.bot_messages())
            for text in self.replies[s.user.id]:
                copies = shown[said("en", "reply.body", text=text)]
                if copies != 1:
                    problems.append(f"{s.user.first_name}: reply {text!r} shown {copies} times")
            states = Counter(i.status for i in await self.env.store.list_outbox(s.case.case_id))
            if states != Counter({OutboxStatus.SENT: len(self.replies[s.user.id])}):
                problems.append(f"{s.user.first_name}: outbox {dict(states)}")
        if (inbox := await self.env.store.count_inbox()) != 0:
            problems.append(f"{inbox} update(s) left in the inbox")
        return problems

    def secrets(self) -> list[str]:
        return [t for v in self.sent.values() for t in v] + [
            t for v in self.replies.values() for t in v
        ]


def check_log(records: list[logging.LogRecord], task: str, stream: Stream) -> list[str]:
    """The failure is in the log on one line, with the task's name and the error's type;
    no line of the relay's is a traceback or quotes content."""
    problems = []
    lines = failure_lines(records, task)
    if not lines:
        relay_lines = [r.getMessage() for r in records if r.name.startswith("writein")]
        problems.append(
            f"no log line names the task ({task}) and StoreUnavailableError: {relay_lines[-8:]}"
        )
    tracebacks = [r.getMessage() for r in records if r.name.startswith("writein") and multi_line(r)]
    if tracebacks:
        problems.append(f"log records of more than one line: {tracebacks[:3]}")
    if leaks := leaked(records, stream.secrets()):
        problems.append(f"the log quotes content: {leaks[:2]}")
    return problems


@contextlib.asynccontextmanager
async def cancelled_at_exit() -> AsyncIterator[
    Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
]:
    """Start background tasks that a failing test does not leave running."""
    tasks: list[asyncio.Task[None]] = []

    def start(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        tasks.append(asyncio.create_task(coro))
        return tasks[-1]

    try:
        yield start
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def check_backoff(what: str, times: list[float]) -> list[str]:
    """A loop that keeps failing backs off: no hot retrying, and waits that grow (up to
    their cap) rather than shrink. (An immediate second try, as when a failed commit is
    tried once more on the way out, is not a wait.)"""
    if len(times) < 2:
        return []
    window = times[-1] - times[0]
    # Capped exponential backoff from a second: about log2(window) waits; twice as many
    # tries if each is tried twice at once; a hot loop makes many more.
    most = 2 * (math.log2(window + 1) + 2)
    if len(times) > most:
        return [f"{what} failed {len(times)} times in {window:.1f} s: no backoff"]
    waits = [b - a for a, b in itertools.pairwise(times) if b - a >= 0.1]
    if len(waits) >= 2 and waits[-1] < 0.8 * waits[0]:
        return [f"the waits between tries of {what} shrank: {[round(w, 2) for w in waits]}"]
    return []


@dataclass(frozen=True)
class Failure:
    methods: tuple[str, ...]  # the store calls that fail while armed (one does the job)
    task: str  # the task(s) that must say so in the log (a regex of names)
    meanwhile: tuple[str, ...]  # what must go on while it fails: "stored", "delivered"
    retention: bool = False  # the retention task runs only with retention.days set


FAILURES = [
    pytest.param(
        Failure(("put_inbox", "put_inbox_many"), "poll", ("delivered",)), id="poll-put_inbox"
    ),
    pytest.param(Failure(("list_inbox",), "process", ("delivered",)), id="process-list_inbox"),
    pytest.param(Failure(("finish_inbox",), "process", ("delivered",)), id="process-finish_inbox"),
    pytest.param(Failure(("claim_outbox",), "delivery", ("stored",)), id="delivery-claim_outbox"),
    # A reply sent, then the store fails to record it: recorded later, never sent twice.
    pytest.param(
        Failure(("mark_outbox_sent",), "delivery", ("stored",)), id="delivery-mark_outbox_sent"
    ),
    pytest.param(
        Failure(("claim_due_deletions",), r"deletions?|delivery", ("stored", "delivered")),
        id="deletions-claim_due_deletions",
    ),
    pytest.param(
        Failure(("delete_expired_dialogues",), "housekeeping", ("stored", "delivered")),
        id="housekeeping-delete_expired_dialogues",
    ),
    pytest.param(
        Failure(
            ("count_attachments_before",), "retention", ("stored", "delivered"), retention=True
        ),
        id="retention-count_attachments_before",
    ),
    # Every write of every loop at once, as when the database is locked.
    pytest.param(Failure(("transaction",), ANY_TASK, ()), id="every-loop-transaction"),
]


@pytest.mark.parametrize("failure", FAILURES)
async def test_a_store_failure_in_one_loop_is_logged_retried_and_loses_nothing(
    world, failure, caplog
):
    caplog.set_level(logging.INFO, logger="writein")
    sim = world.sim
    sources = [await onboard(world.quick, sim, first_name=f"Writer{n}") for n in range(SOURCES)]
    flaky = FlakyStore(world.base.store)
    config = world.base.config
    if failure.retention:
        # Nothing is that old: the run only reads, then deletes nothing.
        config = config.model_copy(
            update={"retention": config.retention.model_copy(update={"days": 3650})}
        )
    env = rebuild(world.base, store=flaky, config=config)
    stream = Stream(env, as_console(env, world.console_store), sources)
    await stream.start()
    # Before the relay starts: replies waiting in the outbox, messages waiting at Telegram.
    await stream.reply("before")
    await stream.write("before")
    flaky.fail(*failure.methods)
    method = "/".join(failure.methods)

    def failures() -> int:
        return sum(flaky.failures[m] for m in failure.methods)

    def calls() -> int:
        return sum(flaky.calls[m] for m in failure.methods)

    async with live(env) as relay:
        await until(
            lambda: failures() >= 2,
            timeout=RETRIED,
            what=f"{method} failing twice (the loop that calls it tried again)",
            relay=relay,
            detail=lambda: f"{failures()} failure(s), calls {dict(flaky.calls)}",
        )
        # While it fails the stream goes on, and so do the other loops.
        await stream.write("during")
        await stream.reply("during")
        if "stored" in failure.meanwhile:
            await until(
                stream.all_stored,
                timeout=WAIT,
                what=f"messages stored while {method} fails",
                relay=relay,
                detail=stream.progress,
            )
        if "delivered" in failure.meanwhile:
            await until(
                stream.all_delivered,
                timeout=WAIT,
                what=f"replies delivered while {method} fails",
                relay=relay,
                detail=stream.progress,
            )
        failed = failures()
        flaky.release()
        await stream.write("after")
        await stream.reply("after")
        await until(
            stream.done,
            timeout=WAIT,
            what=f"everything stored, delivered and deleted after {method} came back",
            relay=relay,
            detail=stream.progress,
        )
        await until(
            lambda: calls() > failed,
            timeout=WAIT,
            what=f"{method} called again after the release",
            relay=relay,
        )
        stopped = await relay.stop()
    problems = await stream.check()
    if stopped:
        problems.append(stopped)
    problems += check_log(caplog.records, failure.task, stream)
    if failure.methods != ("transaction",):  # one loop's call: its tries follow one backoff
        times = sorted(t for m in failure.methods for t in flaky.failed_at.get(m, []))
        problems += check_backoff(method, times)
    assert not problems, "\n".join(problems)


async def test_a_write_lock_held_by_another_connection_for_15_seconds(world, caplog):
    """In the middle of a stream of messages and replies the relay cannot write for 15 s:
    it logs, waits it out, and afterwards has lost nothing and sent nothing twice."""
    caplog.set_level(logging.INFO, logger="writein")
    loop = asyncio.get_running_loop()
    sim = world.sim
    sources = [await onboard(world.quick, sim, first_name=f"Writer{n}") for n in range(SOURCES)]
    env = rebuild(world.base)
    stream = Stream(env, as_console(env, world.console_store), sources)
    await stream.start()
    path = sqlite_path(env.config.store_url)
    async with live(env) as relay, cancelled_at_exit() as background:
        await stream.write("before")
        await stream.reply("before")
        await until(stream.done, timeout=WAIT, what="the first messages", relay=relay)
        # Messages arrive as the lock is taken: some are being stored at that moment. (No
        # reply is on its way: which of the waiting writers fails first under a 15 s lock
        # depends on timing; a send whose recording fails is the mark_outbox_sent case.)
        await stream.write("about to lock")
        # Another process (an admin's sqlite3 shell, a backup) takes the write lock.
        locker = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")
            locked_at = loop.time()
            await stream.write("locked")
            # The console's user sends replies meanwhile, trying again while it is locked.
            console = background(stream.reply("locked", retry_while_locked=True))
            await until(
                lambda: failure_lines(caplog.records, ANY_TASK),
                timeout=LOCK_SECONDS + 5,
                what="the relay logging that the store is unavailable",
                relay=relay,
            )
            await stream.write("still locked")
            # The fault lasts its full length, whatever the relay does meanwhile.
            await asyncio.sleep(max(0.0, locked_at + LOCK_SECONDS - loop.time()))
            relay.check_running()
        finally:
            await asyncio.to_thread(locker.execute, "ROLLBACK")
            await asyncio.to_thread(locker.close)
        await stream.write("after")
        await console
        await stream.reply("after")
        await until(
            stream.done,
            timeout=WAIT,
            what="everything stored, delivered and deleted after the lock",
            relay=relay,
            detail=stream.progress,
        )
        stopped = await relay.stop()
    problems = await stream.check()
    if stopped:
        problems.append(stopped)
    problems += check_log(caplog.records, ANY_TASK, stream)
    assert not problems, "\n".join(problems)
