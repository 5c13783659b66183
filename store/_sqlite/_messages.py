"""Envelopes, wraps, read marks and attachments on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import aiosqlite

from .. import _checks as check
from .._errors import IntegrityError
from .._records import Attachment, Direction, Envelope, WrapSelection
from .._time import day_of, now_or, parse_day
from ._base import SqliteBase, execute, execute_many, fetch_all, fetch_one, placeholders
from ._cases import touch

__all__ = ["MessageOps"]


def _selection(wraps: WrapSelection) -> WrapSelection:
    if isinstance(wraps, str):
        if wraps not in ("all", "none"):
            raise ValueError("wraps must be 'all', 'none' or a 16-byte key id")
        return wraps
    return check.id16(wraps, "wraps key id")


async def _load_wraps(
    db: aiosqlite.Connection, message_ids: Sequence[bytes], selection: WrapSelection
) -> dict[bytes, dict[bytes, bytes]]:
    """message id → (key id → wrap) for the selected key ids."""
    found: dict[bytes, dict[bytes, bytes]] = {mid: {} for mid in message_ids}
    if selection == "none" or not message_ids:
        return found
    marks = placeholders(len(message_ids))
    sql = f"SELECT message_id, key_id, wrap FROM wraps WHERE message_id IN ({marks})"  # noqa: S608
    params: list[object] = list(message_ids)
    if isinstance(selection, bytes):
        sql += " AND key_id = ?"
        params.append(selection)
    for row in await fetch_all(db, sql + " ORDER BY message_id, key_id", params):
        found[row["message_id"]][row["key_id"]] = row["wrap"]
    return found


def _day(day: object) -> str:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise TypeError("day must be a date")
    return day.isoformat()


def _envelope(row: sqlite3.Row, wraps: dict[bytes, bytes]) -> Envelope:
    return Envelope(
        message_id=row["message_id"],
        case_id=row["case_id"],
        direction=Direction(row["direction"]),
        seq=row["seq"],
        stored_on=parse_day(row["stored_on"]),
        core=row["core"],
        wraps=wraps,
    )


async def _envelopes(
    db: aiosqlite.Connection, rows: Sequence[sqlite3.Row], selection: WrapSelection
) -> list[Envelope]:
    wraps = await _load_wraps(db, [row["message_id"] for row in rows], selection)
    return [_envelope(row, wraps[row["message_id"]]) for row in rows]


class MessageOps(SqliteBase):
    # -- envelopes ---------------------------------------------------------------

    async def add_envelope(
        self,
        message_id: bytes,
        case_id: str,
        direction: Direction,
        core: bytes,
        wraps: Mapping[bytes, bytes],
        *,
        now: datetime | None = None,
    ) -> Envelope:
        message_id = check.id16(message_id, "message_id")
        case_id = check.case_id(case_id)
        direction = Direction(direction)
        core = check.blob(core, "core")
        wrap_map = check.wrap_map(wraps)
        moment = now_or(now)
        async with self._write(several=True) as db:
            row = await fetch_one(
                db,
                "INSERT INTO envelopes (message_id, case_id, direction, stored_on, core)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (message_id, case_id, direction.value, day_of(moment).isoformat(), core),
            )
            await execute_many(
                db,
                "INSERT INTO wraps (message_id, key_id, wrap) VALUES (?, ?, ?)",
                [(message_id, key_id, wrap) for key_id, wrap in wrap_map.items()],
            )
            await touch(db, case_id, moment)
        assert row is not None
        return _envelope(row, wrap_map)

    async def get_envelope(
        self, message_id: bytes, *, wraps: WrapSelection = "all"
    ) -> Envelope | None:
        message_id = check.id16(message_id, "message_id")
        selection = _selection(wraps)
        async with self._read(several=True) as db:
            row = await fetch_one(db, "SELECT * FROM envelopes WHERE message_id = ?", (message_id,))
            if row is None:
                return None
            return (await _envelopes(db, [row], selection))[0]

    async def list_envelopes(
        self,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[Envelope]:
        sql = "SELECT * FROM envelopes WHERE case_id = ?"
        params: list[object] = [check.case_id(case_id)]
        after = check.cursor(after_seq, "after_seq")
        before = check.cursor(before_seq, "before_seq")
        if after is not None:
            sql += " AND seq > ?"
            params.append(after)
        if before is not None:
            sql += " AND seq < ?"
            params.append(before)
        sql += " ORDER BY seq DESC LIMIT ?" if newest_first else " ORDER BY seq LIMIT ?"
        params.append(check.limit(limit))
        selection = _selection(wraps)
        async with self._read(several=selection != "none") as db:
            rows = await fetch_all(db, sql, params)
            return await _envelopes(db, rows, selection)

    async def count_envelopes(self, case_id: str, *, direction: Direction | None = None) -> int:
        sql = "SELECT count(*) FROM envelopes WHERE case_id = ?"
        params: list[object] = [check.case_id(case_id)]
        if direction is not None:
            sql += " AND direction = ?"
            params.append(Direction(direction).value)
        async with self._read() as db:
            row = await fetch_one(db, sql, params)
        return 0 if row is None else int(row[0])

    async def delete_envelope(self, message_id: bytes) -> bool:
        message_id = check.id16(message_id, "message_id")
        async with self._write() as db:
            return (
                await execute(db, "DELETE FROM envelopes WHERE message_id = ?", (message_id,)) > 0
            )

    async def delete_envelopes_before(self, day: date, *, case_id: str | None = None) -> int:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise TypeError("day must be a date")
        sql = "DELETE FROM envelopes WHERE stored_on < ?"
        params: list[object] = [day.isoformat()]
        if case_id is not None:
            sql += " AND case_id = ?"
            params.append(check.case_id(case_id))
        async with self._write() as db:
            return await execute(db, sql, params)

    async def count_envelopes_before(self, day: date) -> int:
        async with self._read() as db:
            row = await fetch_one(
                db, "SELECT count(*) FROM envelopes WHERE stored_on < ?", (_day(day),)
            )
        return 0 if row is None else int(row[0])

    async def count_attachments_before(self, day: date) -> int:
        async with self._read() as db:
            row = await fetch_one(
                db,
                "SELECT count(*) FROM attachments a JOIN envelopes e"
                " ON e.message_id = a.message_id WHERE e.stored_on < ?",
                (_day(day),),
            )
        return 0 if row is None else int(row[0])

    async def last_envelope_seq(self) -> int:
        async with self._read() as db:
            # AUTOINCREMENT remembers the highest seq even after deletions.
            row = await fetch_one(db, "SELECT seq FROM sqlite_sequence WHERE name = 'envelopes'")
        return 0 if row is None else int(row[0])

    # -- wraps -------------------------------------------------------------------

    async def add_wraps(self, message_id: bytes, wraps: Mapping[bytes, bytes]) -> int:
        message_id = check.id16(message_id, "message_id")
        wrap_map = check.wrap_map(wraps)
        async with self._write() as db:
            return await execute_many(
                db,
                "INSERT INTO wraps (message_id, key_id, wrap) VALUES (?, ?, ?)"
                " ON CONFLICT (message_id, key_id) DO NOTHING",
                [(message_id, key_id, wrap) for key_id, wrap in wrap_map.items()],
            )

    async def get_wraps(self, message_id: bytes, key_id: bytes | None = None) -> dict[bytes, bytes]:
        message_id = check.id16(message_id, "message_id")
        selection: WrapSelection = "all" if key_id is None else check.id16(key_id, "key_id")
        async with self._read() as db:
            return (await _load_wraps(db, [message_id], selection))[message_id]

    async def list_envelopes_lacking_wrap(
        self,
        key_id: bytes,
        *,
        case_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[Envelope]:
        sql = (
            "SELECT e.* FROM envelopes e WHERE NOT EXISTS"
            " (SELECT 1 FROM wraps w WHERE w.message_id = e.message_id AND w.key_id = ?)"
        )
        params: list[object] = [check.id16(key_id, "key_id")]
        if case_id is not None:
            sql += " AND e.case_id = ?"
            params.append(check.case_id(case_id))
        after = check.cursor(after_seq, "after_seq")
        if after is not None:
            sql += " AND e.seq > ?"
            params.append(after)
        sql += " ORDER BY e.seq LIMIT ?"
        params.append(check.limit(limit))
        selection = _selection(wraps)
        async with self._read(several=selection != "none") as db:
            rows = await fetch_all(db, sql, params)
            return await _envelopes(db, rows, selection)

    async def delete_wraps(self, key_id: bytes, *, case_id: str | None = None) -> int:
        sql = "DELETE FROM wraps WHERE key_id = ?"
        params: list[object] = [check.id16(key_id, "key_id")]
        if case_id is not None:
            sql += " AND message_id IN (SELECT message_id FROM envelopes WHERE case_id = ?)"
            params.append(check.case_id(case_id))
        async with self._write() as db:
            return await execute(db, sql, params)

    # -- read marks ----------------------------------------------------------------

    async def mark_read(self, case_id: str, handler: str, seq: int) -> None:
        params = (
            check.case_id(case_id),
            check.handler_name(handler),
            check.non_negative(seq, "seq"),
        )
        async with self._write() as db:
            await execute(
                db,
                "INSERT INTO read_marks (case_id, handler, last_read_seq) VALUES (?, ?, ?)"
                " ON CONFLICT (case_id, handler) DO UPDATE"
                " SET last_read_seq = max(last_read_seq, excluded.last_read_seq)",
                params,
            )

    async def get_read_mark(self, case_id: str, handler: str) -> int:
        params = (check.case_id(case_id), check.handler_name(handler))
        async with self._read() as db:
            row = await fetch_one(
                db,
                "SELECT last_read_seq FROM read_marks WHERE case_id = ? AND handler = ?",
                params,
            )
        return 0 if row is None else int(row[0])

    async def read_marks(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]:
        handler, ids = _handler_and_ids(handler, case_ids)
        marks = dict.fromkeys(ids, 0)
        if not ids:
            return marks
        sql = (
            "SELECT case_id, last_read_seq FROM read_marks"  # noqa: S608 (placeholders only)
            f" WHERE handler = ? AND case_id IN ({placeholders(len(ids))})"
        )
        async with self._read() as db:
            for row in await fetch_all(db, sql, [handler, *ids]):
                marks[str(row[0])] = int(row[1])
        return marks

    async def unread_counts(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]:
        handler, ids = _handler_and_ids(handler, case_ids)
        counts = dict.fromkeys(ids, 0)
        if not ids:
            return counts
        sql = (
            "SELECT e.case_id, count(*) FROM envelopes e"  # noqa: S608 (placeholders only)
            " LEFT JOIN read_marks r ON r.case_id = e.case_id AND r.handler = ?"
            f" WHERE e.case_id IN ({placeholders(len(ids))}) AND e.direction = 'in'"
            " AND e.seq > coalesce(r.last_read_seq, 0) GROUP BY e.case_id"
        )
        async with self._read() as db:
            for row in await fetch_all(db, sql, [handler, *ids]):
                counts[str(row[0])] = int(row[1])
        return counts

    # -- attachments ------------------------------------------------------------------

    async def add_attachment_chunk(
        self, attachment_id: bytes, message_id: bytes, index: int, chunk: bytes
    ) -> None:
        attachment_id = check.id16(attachment_id, "attachment_id")
        message_id = check.id16(message_id, "message_id")
        index = check.non_negative(index, "index")
        chunk = check.blob(chunk, "chunk")
        async with self._write(several=True) as db:
            await execute(
                db,
                "INSERT INTO attachments (attachment_id, message_id) VALUES (?, ?)"
                " ON CONFLICT (attachment_id) DO NOTHING",
                (attachment_id, message_id),
            )
            owner = await fetch_one(
                db, "SELECT message_id FROM attachments WHERE attachment_id = ?", (attachment_id,)
            )
            if owner is None or owner[0] != message_id:
                raise IntegrityError("the attachment belongs to another message")
            await execute(
                db,
                "INSERT INTO attachment_chunks (attachment_id, chunk_index, chunk)"
                " VALUES (?, ?, ?)",
                (attachment_id, index, chunk),
            )

    async def list_attachments(self, message_id: bytes) -> list[Attachment]:
        message_id = check.id16(message_id, "message_id")
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT a.attachment_id, a.message_id, count(c.chunk_index) AS chunks,"
                " coalesce(sum(length(c.chunk)), 0) AS size"
                " FROM attachments a LEFT JOIN attachment_chunks c"
                " ON c.attachment_id = a.attachment_id"
                " WHERE a.message_id = ? GROUP BY a.attachment_id ORDER BY min(a.rowid)",
                (message_id,),
            )
        return [
            Attachment(
                attachment_id=row["attachment_id"],
                message_id=row["message_id"],
                chunks=row["chunks"],
                size=row["size"],
            )
            for row in rows
        ]

    async def read_attachment_chunks(
        self, attachment_id: bytes, *, start: int = 0, limit: int = 100
    ) -> list[bytes]:
        params = (
            check.id16(attachment_id, "attachment_id"),
            check.non_negative(start, "start"),
            check.limit(limit),
        )
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT chunk FROM attachment_chunks WHERE attachment_id = ? AND chunk_index >= ?"
                " ORDER BY chunk_index LIMIT ?",
                params,
            )
        return [bytes(row[0]) for row in rows]


def _handler_and_ids(handler: str, case_ids: Sequence[str]) -> tuple[str, list[str]]:
    """A handler name and at most one page of distinct case ids, checked."""
    if isinstance(case_ids, str):
        raise TypeError("case_ids must be a sequence of case ids, not one str")
    ids = list(dict.fromkeys(check.case_id(c) for c in case_ids))
    if len(ids) > check.MAX_PAGE:
        raise ValueError(f"at most {check.MAX_PAGE} case ids at a time")
    return check.handler_name(handler), ids
