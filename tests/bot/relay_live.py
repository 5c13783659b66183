"""A relay running for real (``Relay.run`` as a task in this event loop) against telesim.

For the fault-injection tests: start and stop the relay, wait for conditions with a
deadline (never for fixed times), press a source's next button while the relay runs,
inject Telegram faults by probability, wrap the store so chosen calls fail for a while,
and read back what the sources saw and what the store holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from telegram import Bot

from bot.relay import Relay
from core.config import Config
from store import Store, StoreUnavailableError
from telesim import ChatMessage, SimUser, TelegramSimulator
from telesim._faults import Fault
from tests.support.chat import has_button
from tests.support.relay_env import FAST_PHRASE, RelayEnv, sim_bot, sim_clock

# What the SQLite store says when another connection keeps the write lock too long.
LOCKED = "the database stayed locked past the busy timeout"

# The calls a relay makes once, while it starts (or when an admin changes a setting):
# faults are aimed at the calls it makes while it works.
STARTUP_METHODS = frozenset(
    {
        "getMe",
        "deleteWebhook",
        "setWebhook",
        "getWebhookInfo",
        "setMyCommands",
        "deleteMyCommands",
        "getMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "logOut",
        "close",
    }
)


def short_timeout_bot(sim: TelegramSimulator, *, read_timeout: float) -> Bot:
    """A Bot like the relay's, whose requests give up after ``read_timeout`` seconds.

    telesim's delayed answers then look to the relay exactly like a Telegram call that
    timed out on the client's side after the server had already applied it.
    """
    return sim_bot(sim, read_timeout=read_timeout)


def fast_retries(attempts: int) -> timedelta:
    """Delivery's back-off in these tests: a second, whatever the attempt."""
    return timedelta(seconds=1)


def rebuild(
    env: RelayEnv,
    *,
    store: Any = None,
    bot: Bot | None = None,
    config: Config | None = None,
    backoff: Callable[[int], timedelta] = fast_retries,
    pace: Any = None,
) -> RelayEnv:
    """``env`` with a new Relay over another store (a proxy), bot or config.

    ``env.store`` stays the real store: the tests read back through it.
    """
    assert env.sim is not None
    relay = Relay(
        config or env.config,
        store if store is not None else env.store,
        env.ring,
        bot or env.bot,
        phrase_params=FAST_PHRASE,
        clock=sim_clock(env.sim),
        backoff=backoff,
        pace=pace,
    )
    return dataclasses.replace(env, relay=relay, bot=bot or env.bot, config=config or env.config)


def as_console(env: RelayEnv, console_store: Store) -> RelayEnv:
    """``env`` whose ``reply`` queues through the console's own store connection."""
    return dataclasses.replace(env, store=console_store)


# -- waiting --------------------------------------------------------------------------------


class LiveRelay:
    """``Relay.run(stop)`` as a task; fails a wait at once if the relay stopped by itself."""

    def __init__(self, env: RelayEnv) -> None:
        self.env = env
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self, **run_options: Any) -> None:
        self.task = asyncio.create_task(
            self.env.relay.run(self.stop_event, **run_options), name="relay-under-test"
        )

    @property
    def stopped_by_itself(self) -> BaseException | str | None:
        """Why the relay's run() ended although nobody asked it to (None: still running)."""
        if self.task is None or not self.task.done() or self.stop_event.is_set():
            return None
        if self.task.cancelled():
            return "cancelled"
        return self.task.exception() or "returned"

    def check_running(self) -> None:
        why = self.stopped_by_itself
        if why is not None:
            detail = f"{type(why).__name__}: {why}" if isinstance(why, BaseException) else why
            raise AssertionError(f"the relay stopped by itself ({detail})")

    async def stop(self, timeout: float = 30.0) -> str | None:
        """Set ``stop`` and wait for run() to return: None if it ended cleanly, else what
        went wrong (for the test's list of problems)."""
        assert self.task is not None
        why = self.stopped_by_itself
        if why is not None:
            return f"the relay had stopped by itself ({why!r})"
        self.stop_event.set()
        done, _ = await asyncio.wait({self.task}, timeout=timeout)
        if not done:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            return f"the relay did not stop within {timeout:.0f} s of being told to"
        if self.task.cancelled():
            return "run() was cancelled instead of returning"
        error = self.task.exception()
        if error is not None:
            return f"run() ended with {type(error).__name__}: {error} instead of returning"
        return None

    async def abandon(self) -> None:
        """Clean-up after a failed test: end the task whatever state it is in."""
        if self.task is None or self.task.done():
            if self.task is not None and not self.task.cancelled():
                self.task.exception()  # retrieved: no "never retrieved" warning
            return
        self.stop_event.set()
        done, _ = await asyncio.wait({self.task}, timeout=15)
        if not done:
            self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


@contextlib.asynccontextmanager
async def live(env: RelayEnv, **run_options: Any) -> AsyncIterator[LiveRelay]:
    relay = LiveRelay(env)
    relay.start(**run_options)
    try:
        yield relay
    finally:
        await relay.abandon()


async def settle(
    check: Callable[[], Awaitable[Any] | Any],
    *,
    timeout: float,
    relay: LiveRelay | None = None,
    interval: float = 0.1,
) -> bool:
    """Re-check ``check`` until it holds (True) or ``timeout`` seconds passed (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if relay is not None:
            relay.check_running()
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)


async def until(
    check: Callable[[], Awaitable[Any] | Any],
    *,
    timeout: float,
    what: str,
    relay: LiveRelay | None = None,
    detail: Callable[[], Awaitable[str] | str] | None = None,
) -> None:
    """``settle`` that fails the test, saying what it waited for, when time runs out."""
    if await settle(check, timeout=timeout, relay=relay):
        return
    extra = ""
    if detail is not None:
        text = detail()
        extra = ": " + (await text if inspect.isawaitable(text) else text)
    raise AssertionError(f"not within {timeout:.0f} s: {what}{extra}")


# -- a source pressing the next button while the relay runs --------------------------------


async def press_next(user: SimUser, data: str, *, after: int, timeout: float) -> ChatMessage:
    """Wait for the bot's next message with this button (newer than ``after``), press it.

    (A whole onboarding while the relay runs: tests/support/onboarding.py's ``walk``.)
    """
    message = await user.wait_for_bot_message(
        after=after, where=lambda m: has_button(m, data), timeout=timeout
    )
    await user.press_button(message.message_id, data)
    return message


# -- Telegram faults -------------------------------------------------------------------------


@dataclass
class FaultMix:
    """The rules of one mix, by kind (each rule counts its hits)."""

    too_many_requests: list[Fault] = field(default_factory=list)
    server_error: list[Fault] = field(default_factory=list)
    applied_then_dropped: list[Fault] = field(default_factory=list)
    applied_then_late: list[Fault] = field(default_factory=list)

    def hits(self, kind: str) -> int:
        return sum(f.hits for f in getattr(self, kind))


def add_rules(
    sim: TelegramSimulator,
    mix: FaultMix,
    methods: Sequence[str],
    *,
    too_many: float,
    server: float,
    ambiguous: float,
    retry_after: int = 1,
) -> None:
    """Each call to ``methods`` fails with these probabilities, which add up.

    telesim tries rules in order and each rule draws on its own, so the later rules'
    probabilities are scaled to give exactly these shares of all calls.
    """
    mix.too_many_requests.append(
        sim.faults.add(
            method=list(methods), error=429, retry_after=retry_after, probability=too_many
        )
    )
    left = 1.0 - too_many
    mix.server_error.append(
        sim.faults.add(method=list(methods), error=500, probability=server / left)
    )
    left -= server
    mix.applied_then_dropped.append(
        sim.faults.add(
            method=list(methods), drop=True, after_effect=True, probability=ambiguous / left
        )
    )


def add_late_answers(
    sim: TelegramSimulator,
    mix: FaultMix,
    methods: Sequence[str],
    *,
    delay: float,
    probability: float,
    times: int,
) -> None:
    """Calls applied only after ``delay`` seconds and answered then: longer than the
    client waits, so the relay sees a timeout for a call that did take effect. ``times``
    bounds the seconds this costs."""
    mix.applied_then_late.append(
        sim.faults.add(
            method=list(methods),
            delay=delay,
            after_effect=True,
            probability=probability,
            times=times,
        )
    )


def working_methods(sim: TelegramSimulator) -> list[str]:
    """Every Bot API method except those a relay calls only while it starts."""
    return sorted(set(sim.world.spec.methods) - STARTUP_METHODS)


# -- what the sources saw and what the relay said --------------------------------------------


def call_chat(call: Any) -> int | None:
    value = call.params.get("chat_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def applied(call: Any) -> bool:
    """Whether a logged call took effect in telesim: answered ok, or faulted only after
    the effect (a dropped connection or a late answer: no error code)."""
    return call.ok or (call.fault and call.error_code is None)


def ambiguous(call: Any) -> bool:
    """A call applied by telesim whose answer the relay did not get (or got too late)."""
    return call.fault and call.error_code is None


def intake_stalls(calls: Iterable[Any], *, until: float, longer_than: float = 1.0) -> int:
    """How often intake stood still: gaps of more than ``longer_than`` seconds between
    getUpdates calls that got their answer, up to ``until`` (telesim's clock).

    The relay sees a burst of messages only as they arrive: a stall while a burst comes in
    can end it, as far as the relay can tell, and a second acknowledgement is then right.
    """
    answered = [c.at for c in calls if c.method == "getUpdates" and c.ok and not c.fault]
    answered = [t for t in answered if t <= until]
    return sum(1 for a, b in itertools.pairwise(answered) if b - a > longer_than)


def user_texts(user: SimUser) -> list[str]:
    """What the source's own messages still in the chat say."""
    return [m.text or "" for m in user.visible_messages() if not m.from_bot]


# -- the store, failing for a while ------------------------------------------------------------


class _Flaky:
    def __init__(self, real: Any, owner: FlakyStore) -> None:
        self._real = real
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(attr):
            return attr
        owner = self._owner

        async def call(*args: Any, **kwargs: Any) -> Any:
            owner.check(name)
            return await attr(*args, **kwargs)

        return call


class FlakyStore(_Flaky):
    """The real store, except that the calls named in ``failing`` raise
    ``StoreUnavailableError`` (as a locked SQLite database does) until released.

    Calls on a transaction (``put_inbox``, ``finish_inbox``, ``mark_outbox_sent``...) fail
    too, and so does opening one (``transaction``); a failing call inside a transaction
    rolls the whole transaction back, as the real store does.
    """

    def __init__(self, real: Store) -> None:
        super().__init__(real, self)
        self.failing: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.failed_at: dict[str, list[float]] = {}  # monotonic times of the failures

    def fail(self, *methods: str) -> None:
        self.failing.update(methods)

    def release(self) -> None:
        self.failing.clear()

    def check(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.failing:
            self.failures[name] += 1
            self.failed_at.setdefault(name, []).append(time.monotonic())
            raise StoreUnavailableError(LOCKED)

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._transaction()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        self.check("transaction")
        async with self._real.transaction() as tx:
            yield _Flaky(tx, self)


# -- logs ---------------------------------------------------------------------------------------

# Where the relay says that one of its tasks failed.
TASK_LOGGERS = ("writein.relay", "writein.supervise", "writein.delivery")


def failure_lines(
    records: Iterable[logging.LogRecord], task: str, error: str = "StoreUnavailableError"
) -> list[logging.LogRecord]:
    """The relay's log records that name a task (matching ``task``) and the error type."""
    pattern = re.compile(rf"\b(?:{task})\b", re.IGNORECASE)
    return [
        r
        for r in records
        if r.name in TASK_LOGGERS and error in r.getMessage() and pattern.search(r.getMessage())
    ]


def multi_line(record: logging.LogRecord) -> bool:
    """A record that would print more than one line (a traceback, or a newline)."""
    return bool(record.exc_info or record.stack_info or "\n" in record.getMessage())


def leaked(records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> list[str]:
    """Log messages that quote something a source or a handler wrote."""
    texts = [s for s in secrets if s]
    out = []
    for record in records:
        message = record.getMessage()
        if record.exc_text:
            message += record.exc_text
        out.extend(message for text in texts if text in message)
    return out
