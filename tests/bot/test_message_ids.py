"""What the relay knows of a chat's ids: the gap a lost answer's copy can be in."""

from __future__ import annotations

import asyncio

from bot.message_ids import CHATS_KEPT, MAX_GAP, MessageIds


def sent(ids: MessageIds, chat: int, *message_ids: int) -> None:
    for mid in message_ids:
        with ids.sending(chat) as send:
            ids.sent(send, mid)


def test_the_gap_leaves_out_what_was_accounted_for_nearest_first():
    ids = MessageIds()
    sent(ids, 7, 10, 12)
    ids.saw(7, 13)  # the source's
    assert ids.sent_high(7) == 12
    assert ids.unaccounted(7, 10, 16) == [15, 14, 11]
    assert ids.unaccounted(7, 15, 16) == []


def test_a_gap_is_searched_only_near_its_end_and_never_from_an_unknown_start():
    ids = MessageIds()
    ids.saw(7, 500)  # the source edited an old message: says nothing of the relay's
    assert ids.sent_high(7) == 0
    assert ids.unaccounted(7, 0, 100) == []  # nothing sent here since the relay started
    sent(ids, 7, 1)
    assert ids.unaccounted(7, 1, 100) == list(range(99, 99 - MAX_GAP, -1))


def test_another_send_s_lost_copy_is_never_in_a_gap():
    ids = MessageIds()
    sent(ids, 7, 10)
    with ids.sending(7) as early:  # started before the loss
        ids.lost(7)  # a reply that may be in the chat at an unknown id
        assert ids.unaccounted(7, 10, 20) == []
        ids.sent(early, 15)
    assert ids.unaccounted(7, 10, 20) == []  # it may still lie above 15
    sent(ids, 7, 21)  # started after the loss: the lost copy is below 21
    assert ids.unaccounted(7, 10, 30) == [29, 28, 27, 26, 25, 24, 23, 22]


async def test_settled_waits_for_every_send_on_its_way():
    ids = MessageIds()
    await asyncio.wait_for(ids.settled(7), 1)
    with ids.sending(7):
        with ids.sending(7):
            pass
        waiting = asyncio.create_task(ids.settled(7))
        await asyncio.sleep(0)
        assert not waiting.done()
    await asyncio.wait_for(waiting, 5)


def test_memory_is_bounded_but_never_forgets_a_chat_with_a_send_on_its_way():
    ids = MessageIds()
    with ids.sending(-1), ids.searching(-2):
        for chat in range(CHATS_KEPT + 5):
            ids.saw(chat, 1)
        assert len(ids._chats) == CHATS_KEPT
        assert {-1, -2} <= set(ids._chats)
    assert 0 not in ids._chats and CHATS_KEPT + 4 in ids._chats
