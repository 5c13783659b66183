"""Durable intake: the inbox, processed update ids, and dialogue state."""

from __future__ import annotations

from datetime import timedelta

from store import Direction

from .conftest import NOW, new_case, new_id

LOOKUP = b"L" * 32


async def test_inbox_put_list_finish(store):
    assert await store.put_inbox(12, b"sealed-12", now=NOW) is True
    assert await store.put_inbox(10, b"sealed-10", now=NOW) is True
    assert await store.put_inbox(11, b"sealed-11", now=NOW + timedelta(seconds=1)) is True
    items = await store.list_inbox()
    assert [i.update_id for i in items] == [10, 11, 12]
    assert items[0].sealed_update == b"sealed-10"
    assert items[0].received_at == NOW
    assert [i.update_id for i in await store.list_inbox(limit=2)] == [10, 11]
    assert await store.count_inbox() == 3
    assert await store.finish_inbox(10, now=NOW) is True
    assert [i.update_id for i in await store.list_inbox()] == [11, 12]


async def test_inbox_put_is_idempotent(store):
    assert await store.put_inbox(7, b"first", now=NOW) is True
    assert await store.put_inbox(7, b"replayed", now=NOW) is False
    assert (await store.list_inbox())[0].sealed_update == b"first"
    assert await store.count_inbox() == 1


async def test_a_batch_goes_in_at_once_and_skips_what_is_held_or_processed(store):
    await store.put_inbox(2, b"held already", now=NOW)
    await store.finish_inbox(3, now=NOW)  # processed before
    batch = [(1, b"one"), (2, b"replayed"), (3, b"replayed"), (4, b"four")]
    assert await store.put_inbox_many(batch, now=NOW) == 2
    items = await store.list_inbox()
    assert [(i.update_id, i.sealed_update) for i in items] == [
        (1, b"one"),
        (2, b"held already"),
        (4, b"four"),
    ]
    assert await store.put_inbox_many([], now=NOW) == 0


async def test_a_batch_commits_with_its_transaction_or_not_at_all(store):
    class Abandoned(Exception):
        pass

    try:
        async with store.transaction() as tx:
            await tx.put_inbox_many([(5, b"five"), (6, b"six")], now=NOW)
            raise Abandoned
    except Abandoned:
        pass
    assert await store.count_inbox() == 0


async def test_replayed_update_is_recognised_after_processing(store):
    await store.put_inbox(7, b"first", now=NOW)
    assert await store.is_update_processed(7) is False
    await store.finish_inbox(7, now=NOW)
    assert await store.is_update_processed(7) is True
    assert await store.put_inbox(7, b"replayed", now=NOW) is False
    assert await store.list_inbox() == []
    # Finishing again (a retried transaction) is harmless.
    assert await store.finish_inbox(7, now=NOW) is False


async def test_prune_processed_updates(store):
    await store.finish_inbox(1, now=NOW - timedelta(days=10))
    await store.finish_inbox(2, now=NOW)
    assert await store.prune_processed_updates(before=(NOW - timedelta(days=1)).date()) == 1
    assert await store.is_update_processed(1) is False
    assert await store.is_update_processed(2) is True


async def test_state_change_and_inbox_deletion_commit_together(store):
    case = await new_case(store)
    await store.put_inbox(5, b"sealed", now=NOW)
    async with store.transaction() as tx:
        await tx.add_envelope(new_id(), case.case_id, Direction.IN, b"core", {})
        await tx.finish_inbox(5, now=NOW)
    assert await store.list_inbox() == []
    assert await store.count_envelopes(case.case_id) == 1


async def test_offset_and_inbox_commit_together(store):
    async with store.transaction() as tx:
        for update_id in (100, 101):
            await tx.put_inbox(update_id, b"sealed", now=NOW)
        await tx.set_setting("telegram.offset", "102")
    assert await store.count_inbox() == 2
    assert await store.get_setting("telegram.offset") == "102"


async def test_dialogue_put_get_replace_delete(store):
    expires = NOW + timedelta(minutes=30)
    await store.put_dialogue(LOOKUP, b"state-1", expires_at=expires)
    got = await store.get_dialogue(LOOKUP, now=NOW)
    assert got.sealed_state == b"state-1"
    assert got.expires_at == expires
    await store.put_dialogue(LOOKUP, b"state-2", expires_at=expires + timedelta(minutes=5))
    assert (await store.get_dialogue(LOOKUP, now=NOW)).sealed_state == b"state-2"
    assert await store.delete_dialogue(LOOKUP) is True
    assert await store.delete_dialogue(LOOKUP) is False
    assert await store.get_dialogue(LOOKUP, now=NOW) is None


async def test_expired_dialogues_are_absent_and_purged(store):
    await store.put_dialogue(b"a" * 32, b"old", expires_at=NOW - timedelta(seconds=1))
    await store.put_dialogue(b"b" * 32, b"edge", expires_at=NOW)
    await store.put_dialogue(b"c" * 32, b"live", expires_at=NOW + timedelta(minutes=1))
    assert await store.get_dialogue(b"a" * 32, now=NOW) is None
    assert await store.get_dialogue(b"b" * 32, now=NOW) is None
    assert await store.delete_expired_dialogues(now=NOW) == 2
    assert await store.get_dialogue(b"c" * 32, now=NOW) is not None
