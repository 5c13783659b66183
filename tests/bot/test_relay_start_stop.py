"""`writein bot` stops cleanly on SIGTERM (and SIGINT) at every stage of its life.

The contract: once the entry point installed its early handler, a SIGTERM or SIGINT at
any moment (imports, the key unlock, the first poll, the middle of a turn) makes the relay
exit 0; mid-turn, the turn in hand finishes first. Whatever it stopped at, every message
Telegram (telesim) counts as confirmed is in the store exactly once, and a restart then
takes the rest, still exactly once.

Each stage is reached by waiting for what shows it, never for a time: the kernel's SigCgt
mask for the early handler, the relay's own log lines, and, for "mid-turn", a call the
relay makes inside a turn (getFile, for a document in the stream) held inside telesim.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest

from telesim import SimUser, TelegramSimulator

from .relay_process import (
    READY_TIMEOUT,
    RUNNING,
    STARTING,
    STOPPED,
    TOKEN,
    UNLOCKED,
    UNLOCKING,
    RelayProcess,
    onboard,
    prepare,
)

BACKLOG = 4  # written while the relay is down: the next start finds them waiting
STREAM = 24  # written while the relay runs
DOCUMENT_AT = 3  # mid-turn: this stream message is a document; its getFile is held
DOCUMENT = "stream document"  # its caption


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


class HeldCall:
    """Holds one Bot API call inside telesim until released: the relay is then inside
    that call, i.e. in the middle of the turn that makes it.

    telesim has no public "hold" fault, so its dispatcher's ``call`` is wrapped.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        sim: TelegramSimulator,
        method: str,
        where: Callable[[dict[str, object]], bool],
        nth: int,
    ) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()
        self.answered = asyncio.Event()
        dispatcher = sim._dispatcher
        original = dispatcher.call
        seen = 0

        async def call(name, raw):
            nonlocal seen
            if name.lower() != method.lower() or not where(dict(raw)):
                return await original(name, raw)
            seen += 1
            if seen != nth:
                return await original(name, raw)
            self.entered.set()
            await self.released.wait()
            answer = await original(name, raw)
            self.answered.set()
            return answer

        monkeypatch.setattr(dispatcher, "call", call)

    async def wait_entered(self, relay: RelayProcess) -> None:
        await relay.wait_until("the held call arrives", self.entered.is_set)


def pending_texts(sim: TelegramSimulator) -> list[str]:
    """Texts (and captions) telesim still holds for the bot: not confirmed by an offset."""
    messages = [u.get("message") or {} for u in sim.pending_updates]
    return [m.get("text") or m.get("caption") for m in messages if "text" in m or "caption" in m]


async def in_case(relay: RelayProcess, case_id: str) -> list[str]:
    """Texts and captions the handler reads in the case, every copy."""
    return [m.text for m in await relay.source_messages(case_id) if m.text]


async def stored_texts(relay: RelayProcess, case_id: str) -> list[str]:
    """Every copy of a text the store holds: sealed in a case, or sealed in the inbox."""
    return await in_case(relay, case_id) + await relay.inbox_texts()


async def wait_stored(relay: RelayProcess, case_id: str, texts: list[str]) -> None:
    """Until every text is in the case (processed, not just in the inbox)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        stored = set(await in_case(relay, case_id))
        if stored >= set(texts):
            return
        assert not relay.exited(), relay.newest_log_text()[-3000:]
        assert time.monotonic() < deadline, f"not stored: {sorted(set(texts) - stored)}"
        await asyncio.sleep(0.02)


def assert_once(stored: list[str], expected: list[str], what: str) -> None:
    counts = Counter(stored)
    twice = sorted(t for t, n in counts.items() if n > 1)
    assert not twice, f"{what}: stored more than once: {twice}"
    missing = sorted(set(expected) - set(counts))
    assert not missing, f"{what}: confirmed to Telegram but not stored: {missing}"


async def stream(user: SimUser, texts: list[str], seed: int) -> None:
    """A source typing: one message after another, at a human-ish (seeded) pace.
    ``DOCUMENT`` goes as the caption of a small document."""
    rng = random.Random(seed)
    for text in texts:
        if text == DOCUMENT:
            await user.send_document(b"notes " * 50, file_name="notes.txt", caption=text)
        else:
            await user.send_text(text)
        await asyncio.sleep(rng.uniform(0.005, 0.03))


async def reach_stage(
    stage: str, relay: RelayProcess, held: HeldCall | None, start_stream: Callable[[], None]
) -> None:
    """Start the relay and return once it is at ``stage`` (the signal goes out next)."""
    await relay.start()
    if stage == "early":
        await relay.wait_catching(signal.SIGTERM)  # the entry point's very first step
    elif stage == "unlocking":
        await relay.wait_for_log(UNLOCKING)
    elif stage == "running":
        await relay.wait_running()
    else:
        assert stage == "mid-turn" and held is not None
        await relay.wait_running()
        start_stream()
        await held.wait_entered(relay)


@pytest.mark.parametrize(
    ("stage", "sig"),
    [
        ("early", signal.SIGTERM),
        ("early", signal.SIGINT),
        ("unlocking", signal.SIGTERM),
        ("running", signal.SIGTERM),
        ("mid-turn", signal.SIGTERM),
    ],
    ids=["early-term", "early-int", "unlocking-term", "running-term", "mid-turn-term"],
)
async def test_signal_at_each_stage_exits_0_and_keeps_every_message_once(
    tmp_path, sim, monkeypatch, stage, sig
):
    relay = await prepare(tmp_path, sim, "[relay]\nrate_limit_messages = 1000\n")
    user = sim.add_user(first_name="Stage")
    backlog = [f"backlog {i}" for i in range(BACKLOG)]
    streamed = [f"stream {i:02d}" for i in range(STREAM)]
    streamed[DOCUMENT_AT] = DOCUMENT
    held: HeldCall | None = None
    try:
        # 1. A first run onboards the source, then stops the ordinary way.
        await relay.start()
        await relay.wait_running()
        case_id = await onboard(user, timeout=READY_TIMEOUT)
        assert await relay.stop() == 0, relay.newest_log_text()[-3000:]
        for text in backlog:
            await user.send_text(text)

        # 2. The run under test: started, brought to the stage, signalled.
        if stage == "mid-turn":
            # The relay fetches a document inside the turn that stores it, before that
            # turn commits: while its getFile is held, the relay is mid-turn.
            held = HeldCall(monkeypatch, sim, "getFile", lambda raw: True, nth=1)

        streaming: list[asyncio.Task[None]] = []

        def start_stream() -> None:
            streaming.append(asyncio.create_task(stream(user, streamed, seed=len(stage))))

        await reach_stage(stage, relay, held, start_stream)
        relay.send(sig)
        if held is not None:
            await relay.wait_delivered(sig)  # the relay knows it must stop...
            held.released.set()  # ...and only then gets the answer it waits for
        code = await relay.wait_exit()
        log = relay.newest_log_text()
        assert code == 0, f"{sig.name} at {stage}: exit code {code}\n{log[-3000:]}"
        for task in streaming:
            await task
        sent = backlog + (streamed if streaming else [])

        # 3. What it left: every confirmed message exactly once, nothing twice.
        pending = pending_texts(sim)
        confirmed = [t for t in sent if t not in pending]
        assert_once(await stored_texts(relay, case_id), confirmed, f"after {sig.name}")
        if stage in ("running", "mid-turn"):
            assert STOPPED in log, log[-3000:]
        if held is not None:
            assert held.answered.is_set(), "the held getFile was answered"
            assert confirmed, "the relay had confirmed messages before it stopped"
            # The turn in hand finished before the exit: the document is in the case,
            # not left in the inbox for the next start.
            assert DOCUMENT in await in_case(relay, case_id), "the turn in hand was finished"

        # 4. A restart takes the rest: everything sent is stored exactly once.
        await relay.start()
        await relay.wait_running()
        await user.send_text("after the restart")
        sent.append("after the restart")
        await wait_stored(relay, case_id, sent)
        assert await relay.stop() == 0, relay.newest_log_text()[-3000:]
        assert_once(await stored_texts(relay, case_id), sent, "after the restart")
        assert sorted(await stored_texts(relay, case_id)) == sorted(sent)
        async with await relay.store() as store:
            assert await store.count_inbox() == 0
    finally:
        if held is not None:
            held.released.set()
        await relay.kill()


async def test_log_lines_in_order(tmp_path, sim):
    """`writein bot` says where it is, in this order; the stage waits above rely on it."""
    relay = await prepare(tmp_path, sim)
    await relay.start()
    try:
        await relay.wait_running()
        assert await relay.stop() == 0, relay.newest_log_text()[-3000:]
    finally:
        await relay.kill()
    log = relay.newest_log_text()
    lines = [STARTING, UNLOCKING, UNLOCKED, RUNNING, STOPPED]
    where = [log.find(line) for line in lines]
    missing = [line for line, at in zip(lines, where, strict=True) if at < 0]
    assert not missing, f"missing: {missing}\n{log}"
    assert where == sorted(where), log
