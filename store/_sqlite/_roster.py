"""The signed roster's entries on SQLite: stored and handed back as they are.

The store checks only that entries are appended in order, one after the other; whether
an entry is valid is for its readers to verify (core/roster.py), never for a row to say.
"""

from __future__ import annotations

from .. import _checks as check
from .._errors import ConflictError
from ._base import SqliteBase, execute, fetch_all, fetch_one

__all__ = ["RosterOps"]

_MAX_ENTRY = 128 * 1024


class RosterOps(SqliteBase):
    async def list_roster(self, *, after: int = 0, limit: int = 1000) -> list[bytes]:
        after = check.non_negative(after, "after")
        limit = check.limit(limit)
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT entry FROM roster WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            )
        return [bytes(row[0]) for row in rows]

    async def roster_length(self) -> int:
        async with self._read() as db:
            row = await fetch_one(db, "SELECT coalesce(max(seq), 0) FROM roster")
        assert row is not None
        return int(row[0])

    async def append_roster(self, seq: int, entry: bytes) -> None:
        seq = check.non_negative(seq, "seq")
        if seq < 1:
            raise ValueError("roster entries start at seq 1")
        entry = check.blob(entry, "entry", max_size=_MAX_ENTRY)
        async with self._write(several=True) as db:
            row = await fetch_one(db, "SELECT coalesce(max(seq), 0) FROM roster")
            assert row is not None
            if int(row[0]) != seq - 1:
                raise ConflictError("the roster has moved on: read it again")
            await execute(db, "INSERT INTO roster (seq, entry) VALUES (?, ?)", (seq, entry))
