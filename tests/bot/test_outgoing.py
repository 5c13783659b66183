"""Per-chat outgoing queues: order within a chat, no waiting across chats, one ack a burst."""

from __future__ import annotations

import asyncio

from bot.outgoing import Outgoing


async def test_a_chat_keeps_its_order_and_chats_do_not_wait_for_each_other():
    out = Outgoing(quiet=0.0)
    said: list[tuple[int, int]] = []
    release = asyncio.Event()

    def saying(chat: int, n: int, *, blocked: bool = False):
        async def effect() -> None:
            if blocked:
                await release.wait()  # one chat stuck (a long 429)
            said.append((chat, n))

        return effect

    out.send(1, saying(1, 0, blocked=True))
    out.send(1, saying(1, 1))
    for n in range(3):
        out.send(2, saying(2, n))
    for _ in range(100):
        if len(said) == 3:
            break
        await asyncio.sleep(0)
    assert said == [(2, 0), (2, 1), (2, 2)]  # chat 2 went on while chat 1 waited
    release.set()
    await asyncio.wait_for(out.drain(), timeout=5)
    assert said[3:] == [(1, 0), (1, 1)]


async def test_acknowledgements_of_a_burst_merge_into_one():
    out = Outgoing(quiet=0.05)
    acks = 0

    async def ack() -> None:
        nonlocal acks
        acks += 1

    for _ in range(30):
        out.send(7, ack, coalesce="ack.received")
        await asyncio.sleep(0.001)  # the burst keeps coming, faster than the quiet time
    await asyncio.wait_for(out.drain(flush=False), timeout=5)
    assert acks == 1
    out.send(7, ack, coalesce="ack.received")  # a later burst gets its own
    await asyncio.wait_for(out.drain(), timeout=5)
    assert acks == 2


async def test_a_failing_effect_is_counted_and_the_next_one_still_runs():
    out = Outgoing(quiet=0.0)
    ran: list[str] = []

    async def broken() -> None:
        raise RuntimeError("gave up")

    async def fine() -> None:
        ran.append("fine")

    out.send(3, broken)
    out.send(3, fine)
    await asyncio.wait_for(out.drain(), timeout=5)
    assert ran == ["fine"]
    assert out.failed == 1


async def test_close_cancels_what_is_still_queued():
    out = Outgoing(quiet=3600)
    ran = False

    async def later() -> None:
        nonlocal ran
        ran = True

    out.send(4, later, coalesce="ack.received")
    await out.close()
    assert not ran
    assert out.pending == 0
