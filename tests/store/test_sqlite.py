"""What only the SQLite backend has: pragmas, file modes, free-page wiping, query plans."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from store import CaseFlag, CaseStatus, Direction, open_store
from store._sqlite._cases import case_count_query, case_list_query
from store._sqlite._queues import outbox_claim_query

from .conftest import NOW, case_ids, new_case, new_id


@pytest.fixture
async def sqlite_store(tmp_path: Path):
    opened = await open_store(tmp_path / "db" / "writein.db")
    try:
        yield opened
    finally:
        await opened.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_connection_pragmas(sqlite_store):
    for conn in (sqlite_store._writer, sqlite_store._reader):

        async def pragma(name, conn=conn):
            async with conn.execute(f"PRAGMA {name}") as cursor:
                return (await cursor.fetchone())[0]

        assert await pragma("journal_mode") == "wal"
        assert await pragma("synchronous") == 2  # FULL
        assert await pragma("foreign_keys") == 1
        assert await pragma("secure_delete") == 1
        assert await pragma("busy_timeout") >= 1000
        assert await pragma("temp_store") == 2  # MEMORY
    async with sqlite_store._reader.execute("PRAGMA query_only") as cursor:
        assert (await cursor.fetchone())[0] == 1


async def test_database_and_companions_are_owner_only(tmp_path: Path):
    path = tmp_path / "fresh" / "writein.db"
    opened = await open_store(path)
    try:
        await new_case(opened)  # makes sure -wal and -shm exist
        files = [path, path.with_name("writein.db-wal"), path.with_name("writein.db-shm")]
        for file in files:
            assert file.exists(), file
            assert mode(file) == 0o600, (file, oct(mode(file)))
        assert mode(path.parent) == 0o700
    finally:
        await opened.close()


async def test_an_existing_loose_file_is_tightened(tmp_path: Path):
    path = tmp_path / "loose.db"
    path.touch()
    os.chmod(path, 0o644)
    opened = await open_store(path)
    await opened.close()
    assert mode(path) == 0o600


async def test_deleted_data_does_not_linger_in_the_file(tmp_path: Path):
    path = tmp_path / "wipe.db"
    opened = await open_store(path)
    marker = b"MARKER-" + os.urandom(8).hex().encode() + b"-MARKER"
    try:
        case = await new_case(opened)
        message = new_id()
        await opened.add_envelope(message, case.case_id, Direction.IN, marker * 50, {})
        await opened.put_dialogue(b"L" * 32, marker, expires_at=NOW)
        await opened.checkpoint()
        assert marker in path.read_bytes()
        await opened.delete_envelope(message)
        await opened.delete_expired_dialogues(now=NOW)
        await opened.checkpoint()
        wal = path.with_name("wipe.db-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert marker not in path.read_bytes()
    finally:
        await opened.close()


def plan(path: Path, sql: str, params) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    finally:
        conn.close()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": CaseStatus.OPEN},
        {"flag": CaseFlag.UNREACHABLE},
        {"flag": CaseFlag.NEEDS_REASSIGNMENT, "before_activity": 10},
        {"handler": "alice"},
        {"handler": "alice", "status": CaseStatus.OPEN, "before_activity": 10},
    ],
)
async def test_case_list_walks_an_index_without_sorting(tmp_path: Path, filters):
    path = tmp_path / "plan.db"
    opened = await open_store(path)
    try:
        await opened.add_handler("alice", b"cert", now=NOW)
        for case_id in case_ids(30):
            await new_case(opened, case_id)
            await opened.assign_handler(case_id, "alice")
    finally:
        await opened.close()
    sql, params = case_list_query(**filters)
    text = plan(path, sql, params)
    assert "USING" in text and "INDEX" in text, text
    assert "TEMP B-TREE" not in text, text  # ordered by the index, not sorted afterwards
    assert "SCAN c\n" not in text + "\n", text
    count_sql, count_params = case_count_query(
        **{k: v for k, v in filters.items() if k != "before_activity"}
    )
    assert "INDEX" in plan(path, count_sql, count_params)


async def test_envelope_page_and_outbox_claim_use_indexes(sqlite_store):
    path = sqlite_store.path
    case = await new_case(sqlite_store)
    for _ in range(5):
        await sqlite_store.add_envelope(new_id(), case.case_id, Direction.IN, b"core", {})
    await sqlite_store.checkpoint()
    text = plan(
        path,
        "SELECT * FROM envelopes WHERE case_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (case.case_id, 0, 10),
    )
    assert "envelopes_case_seq" in text and "TEMP B-TREE" not in text, text
    text = plan(path, outbox_claim_query(), {"now": 0, "until": 1, "token": b"t"})
    assert "outbox_due" in text, text


async def test_a_task_cancelled_as_its_answer_arrives_leaves_no_statement_open(sqlite_store):
    """A relay stop cancels the inbox-key loop; when the cancel lands after aiosqlite has
    answered but before the task resumed, the cancelled task keeps that answer alive in
    its traceback. An answer that is an unread cursor (a PRAGMA or SELECT run with
    ``execute``) kept a statement open on the writer, and every later COMMIT failed with
    "SQL statements in progress": a reply sent at the stop was never recorded as sent."""
    import asyncio
    import threading

    task = asyncio.create_task(sqlite_store.checkpoint())
    while not sqlite_store._write_lock.locked():
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # the checkpoint is queued on the writer's thread
    answered = threading.Event()
    # aiosqlite runs its queue in order: once this marker runs, the checkpoint's answer
    # has been handed to the event loop, which is held here until it is.
    sqlite_store._writer._tx.put_nowait((None, answered.set))
    assert answered.wait(timeout=60)
    await asyncio.sleep(0)  # the loop takes the answer; the task is due to resume
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    case = await new_case(sqlite_store)  # a write that commits
    assert await sqlite_store.get_case(case.case_id) is not None
