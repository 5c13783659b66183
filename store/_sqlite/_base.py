"""What every group of SQLite operations builds on: a connection to run on.

The operations (``_cases.py``, ``_messages.py``, ...) are written once and
run in two places: on :class:`~store._sqlite._store.SqliteStore`, where each
call is its own transaction, and on the object ``store.transaction()``
yields, where each call joins the open transaction. The two differ only in
``_read()`` and ``_write()``.

Every await on aiosqlite is a hop to its worker thread and back, so the
helpers here make one hop per statement, and ``several=True`` (a snapshot,
or a savepoint) is asked for only by blocks that run more than one
statement: a single SQLite statement is atomic on its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeAlias

import aiosqlite

__all__ = [
    "Params",
    "SqliteBase",
    "execute",
    "execute_many",
    "fetch_all",
    "fetch_one",
    "placeholders",
]

Params: TypeAlias = Sequence[Any] | Mapping[str, Any]


class SqliteBase:
    """Declares the two ways an operation gets its connection."""

    def _read(self, *, several: bool = False) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """A connection for reads; ``several``: the block's queries share one snapshot."""
        raise NotImplementedError

    def _write(self, *, several: bool = False) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        """A connection for writes; the block is atomic (all or nothing).

        Pass ``several=True`` when the block runs more than one writing
        statement, so that inside a transaction a failure undoes all of them.
        """
        raise NotImplementedError


async def fetch_all(db: aiosqlite.Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    rows: list[sqlite3.Row] = list(await db.execute_fetchall(sql, params))
    return rows


async def fetch_one(db: aiosqlite.Connection, sql: str, params: Params = ()) -> sqlite3.Row | None:
    """The first row (run a statement that returns at most one)."""
    rows = await fetch_all(db, sql, params)
    return rows[0] if rows else None


async def execute(db: aiosqlite.Connection, sql: str, params: Params = ()) -> int:
    """Run a data-changing statement; returns the number of rows it changed.

    sqlite3 resets such a statement once it has run, so the cursor holds no
    lock and is left to the garbage collector (closing it is another hop).
    """
    cursor = await db.execute(sql, params)
    return cursor.rowcount


async def execute_many(db: aiosqlite.Connection, sql: str, rows: list[Params]) -> int:
    if not rows:
        return 0
    cursor = await db.executemany(sql, rows)
    return cursor.rowcount


def placeholders(count: int) -> str:
    return ", ".join("?" * count)
