"""What the relay knows of a chat's ids: the gap a lost answer's copy can be in."""

from __future__ import annotations

import asyncio

from bot.message_ids import CHATS_KEPT, MAX_GAP, MessageIds


def test_the_gap_leaves_out_what_was_accounted_for_nearest_first():
    ids = MessageIds()
    for mid in (10, 12, 13):
        ids.saw(7, mid)
    assert ids.highest(7) == 13
    assert ids.unaccounted(7, 10, 16) == [15, 14, 11]
    assert ids.unaccounted(7, 15, 16) == []


def test_a_gap_is_searched_only_near_its_end_and_never_from_an_unknown_start():
    ids = MessageIds()
    assert ids.highest(7) == 0
    assert ids.unaccounted(7, 0, 100) == []  # a chat not seen since the relay started
    assert ids.unaccounted(7, 1, 100) == list(range(99, 99 - MAX_GAP, -1))


async def test_settled_waits_for_every_send_on_its_way():
    ids = MessageIds()
    assert await ids.settled(7, within=0.01)
    with ids.sending(7):
        with ids.sending(7):
            pass
        assert not await ids.settled(7, within=0.01)
        waiting = asyncio.create_task(ids.settled(7, within=5))
        await asyncio.sleep(0)
        assert not waiting.done()
    assert await waiting


def test_memory_is_bounded_but_never_forgets_a_chat_with_a_send_on_its_way():
    ids = MessageIds()
    with ids.sending(-1):
        for chat in range(CHATS_KEPT + 5):
            ids.saw(chat, 1)
        assert len(ids._chats) == CHATS_KEPT
        assert -1 in ids._chats
    assert 0 not in ids._chats and CHATS_KEPT + 4 in ids._chats
