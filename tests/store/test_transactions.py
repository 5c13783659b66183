"""The unit of work: all of a transaction's calls commit together or not at all."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from store import ConflictError, Direction, TransactionError

from .conftest import NOW, new_case, new_id


class Boom(Exception):
    pass


async def test_transaction_commits_everything(store):
    case = await new_case(store)
    async with store.transaction() as tx:
        await tx.add_envelope(new_id(), case.case_id, Direction.IN, b"core", {}, now=NOW)
        await tx.put_inbox(1, b"sealed", now=NOW)
        await tx.append_audit("relay", "message.in", case_id=case.case_id)
    assert await store.count_envelopes(case.case_id) == 1
    assert await store.count_inbox() == 1
    assert len(await store.list_audit()) == 1


async def test_exception_rolls_back_everything(store):
    case = await new_case(store)
    await store.put_inbox(5, b"sealed", now=NOW)
    message = new_id()
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.add_envelope(message, case.case_id, Direction.IN, b"core", {new_id(): b"w"})
            await tx.finish_inbox(5, now=NOW)
            await tx.create_case("NEWC-ASE0-0001", language="en", now=NOW)
            await tx.append_audit("relay", "message.in")
            await tx.set_setting("telegram.offset", "6")
            raise Boom
    assert await store.get_envelope(message) is None
    assert await store.get_wraps(message) == {}
    assert [i.update_id for i in await store.list_inbox()] == [5]
    assert await store.is_update_processed(5) is False
    assert await store.get_case("NEWC-ASE0-0001") is None
    assert await store.list_audit() == []
    assert await store.get_setting("telegram.offset") is None
    assert (await store.verify_audit_chain()).ok
    # The case was not touched either: its activity is unchanged.
    assert (await store.get_case(case.case_id)).activity_seq == case.activity_seq


# ``again``: a stop cancels a task, and cancels it again when its grace runs out. The
# second cancel, landing while the rollback is under way on the database thread, must not
# leave the connection inside the abandoned transaction, or every later write fails
# ("cannot start a transaction within a transaction").
@pytest.mark.parametrize("again", [None, 1, 2, 3, 5], ids=lambda n: f"again-after-{n}")
async def test_cancellation_rolls_back(store, again):
    case = await new_case(store)
    started = asyncio.Event()

    async def work():
        async with store.transaction() as tx:
            await tx.add_envelope(new_id(), case.case_id, Direction.IN, b"core", {})
            started.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(work())
    await started.wait()
    task.cancel()
    if again is not None:
        for _ in range(again):
            await asyncio.sleep(0)
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.count_envelopes(case.case_id) == 0
    # The store is usable afterwards.
    await store.add_envelope(new_id(), case.case_id, Direction.IN, b"core", {})
    assert await store.count_envelopes(case.case_id) == 1


async def test_a_failed_call_inside_a_transaction_is_undone_alone(store):
    case = await new_case(store)
    existing = new_id()
    await store.add_envelope(existing, case.case_id, Direction.IN, b"core", {})
    fresh = new_id()
    async with store.transaction() as tx:
        await tx.add_envelope(fresh, case.case_id, Direction.IN, b"core", {})
        with pytest.raises(ConflictError):
            # The envelope insert fails; its wraps and the case touch must not remain.
            await tx.add_envelope(existing, case.case_id, Direction.OUT, b"x", {new_id(): b"w"})
        await tx.put_inbox(9, b"sealed", now=NOW)
    assert await store.get_envelope(fresh) is not None
    assert (await store.get_envelope(existing)).direction is Direction.IN
    assert await store.count_inbox() == 1


async def test_reads_inside_see_own_writes_others_see_only_commits(store):
    async with store.transaction() as tx:
        await tx.create_case("INSI-DE00-0001", language="en", now=NOW)
        assert await tx.get_case("INSI-DE00-0001") is not None
        assert await tx.count_cases() == 1
        # Another task (not started from inside the transaction) reads without waiting.
        outside = asyncio.create_task(store.count_cases(), context=contextvars.Context())
        assert await asyncio.wait_for(outside, 30) == 0  # (a wait would never end)
    assert await store.count_cases() == 1


async def test_tasks_started_inside_a_transaction_cannot_bypass_it(store):
    async with store.transaction():
        child = asyncio.create_task(store.count_cases())
        with pytest.raises(TransactionError):
            await child
    # Once the transaction has ended, the same context may use the store again.
    assert await asyncio.create_task(store.count_cases()) == 0


async def test_store_calls_inside_a_transaction_are_refused(store):
    async with store.transaction() as tx:
        with pytest.raises(TransactionError, match="on the transaction"):
            await store.create_case("ABCD-EFGH-0001", language="en")
        with pytest.raises(TransactionError):
            await store.get_case("ABCD-EFGH-0001")
        await tx.create_case("ABCD-EFGH-0001", language="en")
    assert await store.get_case("ABCD-EFGH-0001") is not None


async def test_transactions_do_not_nest(store):
    async with store.transaction():
        with pytest.raises(TransactionError):
            async with store.transaction():
                pass


async def test_transaction_object_is_dead_after_the_block(store):
    async with store.transaction() as tx:
        pass
    with pytest.raises(TransactionError, match="ended"):
        await tx.get_case("ABCD-EFGH-0001")
    with pytest.raises(TransactionError):
        await tx.create_case("ABCD-EFGH-0001", language="en")


async def test_concurrent_transactions_are_serialised(store):
    await store.set_setting("counter", "0")

    async def increment():
        async with store.transaction() as tx:
            value = int(await tx.get_setting("counter"))
            await asyncio.sleep(0)
            await tx.set_setting("counter", str(value + 1))

    await asyncio.gather(*(increment() for _ in range(20)))
    assert await store.get_setting("counter") == "20"


async def test_concurrent_calls_on_one_transaction_are_safe(store):
    async with store.transaction() as tx:
        await asyncio.gather(
            *(tx.create_case(f"CASE-{i:04d}-GATH", language="en", now=NOW) for i in range(10))
        )
    assert await store.count_cases() == 10


async def test_a_rollback_that_fails_under_a_cancel_still_passes_the_cancel_on():
    from store import StoreUnavailableError
    from store._sqlite._store import _to_the_end

    finished = asyncio.Event()

    async def rollback_that_fails() -> None:
        await asyncio.sleep(0.05)
        finished.set()
        raise StoreUnavailableError("database error: disk I/O error")

    async def stop() -> None:
        await _to_the_end(rollback_that_fails())

    task = asyncio.create_task(stop())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # cancelled again: the work still runs to its end
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set()
    with pytest.raises(StoreUnavailableError):  # without a cancel, its failure is raised
        await _to_the_end(rollback_that_fails())
