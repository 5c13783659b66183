"""core.rosterlog: the roster in a real SQLite store, read incrementally and verified, appended
in transactions, and a store that lies about it (rewritten, cut back, rolled back)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.roster import HeadMemory, Roster, RosterError
from core.rosterlog import append_entry, append_statement, read_roster
from store import ConflictError, Store, open_store
from tests.core.test_roster import ORG, ORG_SIGNER, RULES, cert, officer

STORE_URL = "sqlite:///{}"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await open_store(STORE_URL.format(tmp_path / "w.db")) as opened:
        async with opened.transaction() as tx:
            roster = Roster(ORG.public)
            await append_statement(
                tx, roster, ORG_SIGNER, ORG, "genesis", org=ORG.public.raw.hex(), rules=RULES
            )
            for name in ("ana", "ben"):
                await append_statement(
                    tx, roster, ORG_SIGNER, ORG, "enrol", certificate=cert(name, officer(name)[1])
                )
        yield opened


def sql(store: Store, statement: str, *params: object) -> None:
    """A direct write to the store's file, past writein."""
    path = store.path  # type: ignore[attr-defined]  # the SQLite store's file
    db = sqlite3.connect(path)
    try:
        db.execute(statement, params)
        db.commit()
    finally:
        db.close()


async def test_a_reader_catches_up_from_its_head(store: Store) -> None:
    roster = await read_roster(store, ORG.public)
    assert roster.head.seq == 3 and set(roster.officers()) == {"ana", "ben"}
    async with store.transaction() as tx:
        writer = await read_roster(tx, ORG.public)
        await append_statement(tx, writer, ORG_SIGNER, ORG, "intake", names=["ben"])
    again = await read_roster(store, ORG.public, previous=roster)
    assert again is roster, "brought up to date, not verified from the start again"
    assert roster.head.seq == 4 and roster.intake_handlers() == ["ben"]


async def test_readers_sharing_one_copy_catch_up_at_the_same_time(store: Store) -> None:
    """The relay's intake and delivery loops bring one roster in memory up to date, each
    on its own schedule: the one that reads a page second must not apply it again (found as
    a false alarm, "roster entry 4 is out of order", while a rotation ran)."""
    roster = await read_roster(store, ORG.public)
    async with store.transaction() as tx:
        writer = await read_roster(tx, ORG.public)
        await append_statement(tx, writer, ORG_SIGNER, ORG, "intake", names=["ben"])
        await append_statement(tx, writer, ORG_SIGNER, ORG, "intake", names=["ana"])
    first, second = await asyncio.gather(
        read_roster(store, ORG.public, previous=roster),
        read_roster(store, ORG.public, previous=roster),
    )
    assert first is roster and second is roster
    assert roster.head.seq == 5 and roster.intake_handlers() == ["ana"]


async def test_an_append_rolled_back_leaves_no_trace_in_the_next_read(store: Store) -> None:
    roster = await read_roster(store, ORG.public)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await append_statement(tx, roster, ORG_SIGNER, ORG, "intake", names=["ana"])
            raise RuntimeError("the rest of the transaction failed")
    assert roster.head.seq == 4  # ahead of the store in memory ...
    assert await store.roster_length() == 3
    fresh = await read_roster(store, ORG.public, previous=roster)
    assert fresh.head.seq == 3 and fresh.intake_handlers() == ["ana", "ben"]  # ... not after


async def test_appending_on_a_stale_copy_is_refused(store: Store) -> None:
    stale = await read_roster(store, ORG.public)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await append_statement(tx, stale, ORG_SIGNER, ORG, "intake", names=["ana"])
            raise RuntimeError("rolled back")
    with pytest.raises(RosterError, match="not the store's"):
        async with store.transaction() as tx:
            await append_statement(tx, stale, ORG_SIGNER, ORG, "intake", names=["ben"])


async def test_an_entry_the_rules_refuse_is_never_stored(store: Store) -> None:
    roster = await read_roster(store, ORG.public)
    signer, key = officer("ana")
    with pytest.raises(RosterError):
        async with store.transaction() as tx:
            await append_statement(tx, roster, signer, key, "revoke", name="ben")
    assert await store.roster_length() == 3
    forged = Roster(ORG.public)
    forged.extend(await store.list_roster())
    entry = forged.next_entry(ORG_SIGNER, ORG, "intake", names=["ana"])
    # The same entry twice: the second does not follow the first.
    async with store.transaction() as tx:
        await append_entry(tx, await read_roster(tx, ORG.public), entry)
    with pytest.raises(RosterError):
        async with store.transaction() as tx:
            await append_entry(tx, await read_roster(tx, ORG.public), entry)


async def test_the_store_keeps_entries_in_order(store: Store) -> None:
    entries = await store.list_roster()
    with pytest.raises(ConflictError):
        await store.append_roster(2, entries[1])
    with pytest.raises(ConflictError):
        await store.append_roster(5, entries[1])


async def test_an_entry_rewritten_in_the_store_does_not_verify(store: Store) -> None:
    roster = await read_roster(store, ORG.public)
    first = (await store.list_roster(limit=1))[0]
    sql(store, "UPDATE roster SET entry = ? WHERE seq = 3", first)
    with pytest.raises(RosterError):
        await read_roster(store, ORG.public, previous=roster)
    with pytest.raises(RosterError):
        await read_roster(store, ORG.public)


async def test_a_log_cut_back_or_rolled_back_below_the_remembered_head(
    store: Store, tmp_path: Path
) -> None:
    memory = HeadMemory(tmp_path / "head")
    await read_roster(store, ORG.public, memory=memory)
    assert (tmp_path / "head").read_text().startswith("3 ")
    sql(store, "DELETE FROM roster WHERE seq = 3")
    with pytest.raises(RosterError, match="truncated or rolled back"):
        await read_roster(store, ORG.public, memory=memory)
    # A reader without that memory sees a shorter, valid log: the memory is the defence.
    assert (await read_roster(store, ORG.public)).head.seq == 2


async def test_an_empty_store_asks_for_roster_init(tmp_path: Path) -> None:
    async with await open_store(STORE_URL.format(tmp_path / "empty.db")) as empty:
        with pytest.raises(RosterError, match="roster-init"):
            await read_roster(empty, ORG.public)
        assert (await read_roster(empty, ORG.public, empty_ok=True)).head.seq == 0


async def test_a_roster_of_another_organisation_does_not_verify(store: Store) -> None:
    from crypto import SigningKeyPair

    with pytest.raises(RosterError):
        await read_roster(store, SigningKeyPair.generate().public)
