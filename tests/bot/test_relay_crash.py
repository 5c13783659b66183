"""The relay is killed with SIGKILL at random points while a source keeps writing.

Every message must reach the store exactly once: not lost (updates are confirmed to
Telegram only after they are sealed in the inbox) and not duplicated (an update's
envelope and its inbox deletion commit together, and processed ids are remembered).

SIGKILL may land at any moment, also while a restarted relay is still importing. The
closing SIGTERM goes out only once the newest relay logged `relay running`: exiting 0 on
a SIGTERM at any earlier moment is checked stage by stage in test_relay_start_stop.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from telesim import TelegramSimulator

from .relay_live import settle
from .relay_process import READY_TIMEOUT, TOKEN, onboard, prepare

MESSAGES = 60


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


async def test_sigkill_during_a_stream_loses_and_duplicates_nothing(tmp_path, sim):
    # The flood limit would (rightly) refuse part of a 40-message burst: lift it here.
    relay = await prepare(tmp_path, sim, "[relay]\nrate_limit_messages = 1000\n")
    rng = random.Random(20261126)  # seeded: a failure can be replayed
    user = sim.add_user(first_name="Stream")
    await relay.start()
    try:
        await relay.wait_running()
        case_id = await onboard(user, timeout=30)
        sent = [f"stream message {i:03d}" for i in range(MESSAGES)]

        async def stored() -> list[str]:
            return [m.text for m in await relay.source_messages(case_id) if m.kind == "text"]

        kills = 0

        async def source() -> None:
            for text in sent:
                await user.send_text(text)
                await asyncio.sleep(rng.uniform(0.02, 0.12))

        stored_at_kill: list[int] = []

        async def chaos() -> None:
            nonlocal kills
            while not writing.done():
                # Some kills land while the relay starts, most while it works.
                await asyncio.sleep(rng.uniform(0.3, 1.8))
                if not kills:  # the first lands mid-stream, however slow the machine is
                    await settle(stored, timeout=READY_TIMEOUT, interval=0.05)
                await relay.kill()
                kills += 1
                stored_at_kill.append(len(await stored()))
                await relay.start()

        writing = asyncio.create_task(source())
        await asyncio.gather(writing, chaos())
        assert kills >= 2, "the stream should have been interrupted several times"
        assert any(0 < n < MESSAGES for n in stored_at_kill), "a kill landed mid-stream"

        # The last restart is up (the drain below may already be complete when it starts).
        await relay.wait_running()
        deadline = time.monotonic() + READY_TIMEOUT
        while len(await stored()) < MESSAGES and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # until the last restart drained the stream
        texts = await stored()
        counts = Counter(texts)
        if len(counts) < MESSAGES:
            print(relay.log_text()[-3000:])  # shown by pytest on failure
        assert sorted(counts) == sorted(sent), "every message arrived"
        assert max(counts.values()) == 1, "no message twice"
        assert await relay.stop() == 0, relay.newest_log_text()[-2000:]
    finally:
        await relay.kill()
    async with await relay.store() as store:
        assert await store.count_inbox() == 0
