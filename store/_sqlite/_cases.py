"""Settings, cases and handler assignments on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Final

import aiosqlite

from .. import _checks as check
from .._errors import NotFoundError
from .._records import Case, CaseFlag, CaseStatus
from .._time import day_of, now_or, parse_day
from ._base import Params, SqliteBase, execute, fetch_all, fetch_one

__all__ = ["CaseOps", "case_count_query", "case_list_query"]

# Flag → column. Column names only ever come from this table, never from input.
_FLAG_COLUMN: Final = {
    CaseFlag.FORGOTTEN: "forgotten",
    CaseFlag.UNREACHABLE: "unreachable",
    CaseFlag.NEEDS_REASSIGNMENT: "needs_reassignment",
}
_MAX_SETTING_CHARS: Final = 4096


def _case(row: sqlite3.Row) -> Case:
    return Case(
        case_id=row["case_id"],
        status=CaseStatus(row["status"]),
        created_on=parse_day(row["created_on"]),
        language=row["language"],
        lookup_hash=row["lookup_hash"],
        sealed_chat_ref=row["sealed_chat_ref"],
        recovery_hash=row["recovery_hash"],
        flags=frozenset(flag for flag, column in _FLAG_COLUMN.items() if row[column]),
        last_activity_on=parse_day(row["last_activity_on"]),
        activity_seq=row["activity_seq"],
    )


def _case_filters(
    status: CaseStatus | None, flag: CaseFlag | None, handler: str | None
) -> tuple[str, str, list[object]]:
    """FROM-and-WHERE text, the column that orders by activity, and the parameters."""
    params: list[object] = []
    if handler is not None:
        sql = "FROM case_handlers h JOIN cases c ON c.case_id = h.case_id WHERE h.handler = ?"
        params.append(check.handler_name(handler))
        order = "h.activity_seq"
    else:
        sql = "FROM cases c WHERE 1 = 1"
        order = "c.activity_seq"
    if status is not None:
        sql += " AND c.status = ?"
        params.append(CaseStatus(status).value)
    if flag is not None:
        sql += f" AND c.{_FLAG_COLUMN[CaseFlag(flag)]} = 1"
    return sql, order, params


def case_list_query(
    *,
    status: CaseStatus | None = None,
    flag: CaseFlag | None = None,
    handler: str | None = None,
    before_activity: int | None = None,
    limit: int = 50,
) -> tuple[str, Params]:
    """The SQL of ``list_cases`` (a function so tests can EXPLAIN it)."""
    where, order, params = _case_filters(status, flag, handler)
    before = check.cursor(before_activity, "before_activity")
    if before is not None:
        where += f" AND {order} < ?"
        params.append(before)
    params.append(check.limit(limit))
    return f"SELECT c.* {where} ORDER BY {order} DESC LIMIT ?", params


def case_count_query(
    *,
    status: CaseStatus | None = None,
    flag: CaseFlag | None = None,
    handler: str | None = None,
) -> tuple[str, Params]:
    where, _order, params = _case_filters(status, flag, handler)
    return f"SELECT count(*) {where}", params


def _inactive(before: date, status: CaseStatus | None) -> tuple[str, list[object]]:
    if not isinstance(before, date) or isinstance(before, datetime):
        raise TypeError("before must be a date")
    where = "last_activity_on < ?"
    params: list[object] = [before.isoformat()]
    if status is not None:
        where += " AND status = ?"
        params.append(CaseStatus(status).value)
    return where, params


# The next activity number. max() on the unique index is one lookup; SQLite has
# one writer at a time, so two statements never take the same number. (A
# trigger copies the number to case_handlers.)
_NEXT_ACTIVITY: Final = "(SELECT coalesce(max(activity_seq), 0) + 1 FROM cases)"


async def touch(db: aiosqlite.Connection, case_id: str, now: datetime) -> int:
    """Give the case the next activity number; NotFoundError if there is no such case."""
    row = await fetch_one(
        db,
        f"UPDATE cases SET activity_seq = {_NEXT_ACTIVITY}, last_activity_on = ?"  # noqa: S608
        " WHERE case_id = ? RETURNING activity_seq",
        (day_of(now).isoformat(), case_id),
    )
    if row is None:
        raise NotFoundError("no such case")
    return int(row[0])


class CaseOps(SqliteBase):
    # -- settings ---------------------------------------------------------------

    async def get_setting(self, key: str) -> str | None:
        key = check.setting_key(key)
        async with self._read() as db:
            row = await fetch_one(db, "SELECT value FROM settings WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_setting(self, key: str, value: str) -> None:
        key = check.setting_key(key)
        value = check.short_text(value, "setting value", max_chars=_MAX_SETTING_CHARS)
        async with self._write() as db:
            await execute(
                db,
                "INSERT INTO settings (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def delete_setting(self, key: str) -> bool:
        key = check.setting_key(key)
        async with self._write() as db:
            return await execute(db, "DELETE FROM settings WHERE key = ?", (key,)) > 0

    # -- cases -----------------------------------------------------------------

    async def create_case(
        self,
        case_id: str,
        *,
        language: str,
        lookup_hash: bytes | None = None,
        sealed_chat_ref: bytes | None = None,
        recovery_hash: bytes | None = None,
        now: datetime | None = None,
    ) -> Case:
        params_case_id = check.case_id(case_id)
        params_language = check.language(language)
        params_lookup = None if lookup_hash is None else check.lookup_hash(lookup_hash)
        chat_ref = check.optional_blob(sealed_chat_ref, "sealed_chat_ref")
        recovery = check.optional_blob(recovery_hash, "recovery_hash")
        day = day_of(now_or(now)).isoformat()
        async with self._write() as db:
            row = await fetch_one(
                db,
                "INSERT INTO cases (case_id, status, created_on, language, lookup_hash,"  # noqa: S608
                " sealed_chat_ref, recovery_hash, last_activity_on, activity_seq)"
                f" VALUES (?, 'open', ?, ?, ?, ?, ?, ?, {_NEXT_ACTIVITY}) RETURNING *",
                (params_case_id, day, params_language, params_lookup, chat_ref, recovery, day),
            )
        assert row is not None
        return _case(row)

    async def get_case(self, case_id: str) -> Case | None:
        case_id = check.case_id(case_id)
        async with self._read() as db:
            row = await fetch_one(db, "SELECT * FROM cases WHERE case_id = ?", (case_id,))
        return None if row is None else _case(row)

    async def get_case_by_lookup_hash(self, lookup_hash: bytes) -> Case | None:
        lookup = check.lookup_hash(lookup_hash)
        async with self._read() as db:
            row = await fetch_one(db, "SELECT * FROM cases WHERE lookup_hash = ?", (lookup,))
        return None if row is None else _case(row)

    async def get_case_by_recovery_hash(self, recovery_hash: bytes) -> Case | None:
        digest = check.blob(recovery_hash, "recovery_hash")
        async with self._read() as db:
            row = await fetch_one(db, "SELECT * FROM cases WHERE recovery_hash = ?", (digest,))
        return None if row is None else _case(row)

    async def list_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
        before_activity: int | None = None,
        limit: int = 50,
    ) -> list[Case]:
        sql, params = case_list_query(
            status=status,
            flag=flag,
            handler=handler,
            before_activity=before_activity,
            limit=limit,
        )
        async with self._read() as db:
            rows = await fetch_all(db, sql, params)
        return [_case(row) for row in rows]

    async def count_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
    ) -> int:
        sql, params = case_count_query(status=status, flag=flag, handler=handler)
        async with self._read() as db:
            row = await fetch_one(db, sql, params)
        return 0 if row is None else int(row[0])

    async def list_inactive_cases(
        self, *, before: date, status: CaseStatus | None = None, limit: int = 100
    ) -> list[Case]:
        where, params = _inactive(before, status)
        params.append(check.limit(limit))
        async with self._read() as db:
            rows = await fetch_all(
                db,
                f"SELECT * FROM cases WHERE {where}"  # noqa: S608 (fixed text, placeholders)
                " ORDER BY last_activity_on, case_id LIMIT ?",
                params,
            )
        return [_case(row) for row in rows]

    async def count_inactive_cases(self, *, before: date, status: CaseStatus | None = None) -> int:
        where, params = _inactive(before, status)
        async with self._read() as db:
            row = await fetch_one(db, f"SELECT count(*) FROM cases WHERE {where}", params)  # noqa: S608
        return 0 if row is None else int(row[0])

    async def _update_case(self, case_id: str, assignment: str, value: object) -> None:
        """``UPDATE cases SET <assignment>`` for one case; NotFoundError if it is missing."""
        case_id = check.case_id(case_id)
        async with self._write() as db:
            changed = await execute(
                db,
                f"UPDATE cases SET {assignment} WHERE case_id = ?",  # noqa: S608
                (value, case_id),
            )
        if not changed:
            raise NotFoundError("no such case")

    async def set_case_status(self, case_id: str, status: CaseStatus) -> None:
        await self._update_case(case_id, "status = ?", CaseStatus(status).value)

    async def set_case_flag(self, case_id: str, flag: CaseFlag, on: bool = True) -> None:
        column = _FLAG_COLUMN[CaseFlag(flag)]
        await self._update_case(case_id, f"{column} = ?", 1 if on else 0)

    async def set_case_chat_ref(self, case_id: str, sealed_chat_ref: bytes | None) -> None:
        value = check.optional_blob(sealed_chat_ref, "sealed_chat_ref")
        await self._update_case(case_id, "sealed_chat_ref = ?", value)

    async def set_case_lookup_hash(self, case_id: str, lookup_hash: bytes | None) -> None:
        value = None if lookup_hash is None else check.lookup_hash(lookup_hash)
        await self._update_case(case_id, "lookup_hash = ?", value)

    async def set_case_language(self, case_id: str, language: str) -> None:
        await self._update_case(case_id, "language = ?", check.language(language))

    async def set_case_recovery_hash(self, case_id: str, recovery_hash: bytes | None) -> None:
        value = check.optional_blob(recovery_hash, "recovery_hash")
        await self._update_case(case_id, "recovery_hash = ?", value)

    async def touch_case(self, case_id: str, *, now: datetime | None = None) -> int:
        case_id = check.case_id(case_id)
        moment = now_or(now)
        async with self._write() as db:
            return await touch(db, case_id, moment)

    async def delete_case(self, case_id: str) -> bool:
        case_id = check.case_id(case_id)
        async with self._write() as db:
            return await execute(db, "DELETE FROM cases WHERE case_id = ?", (case_id,)) > 0

    # -- assignments -------------------------------------------------------------

    async def assign_handler(self, case_id: str, handler: str) -> bool:
        case_id = check.case_id(case_id)
        handler = check.handler_name(handler)
        async with self._write() as db:
            added = await execute(
                db,
                "INSERT INTO case_handlers (case_id, handler, activity_seq)"
                " SELECT case_id, ?, activity_seq FROM cases WHERE case_id = ?"
                " ON CONFLICT (case_id, handler) DO NOTHING",
                (handler, case_id),
            )
            if not added:
                found = await fetch_one(db, "SELECT 1 FROM cases WHERE case_id = ?", (case_id,))
                if found is None:
                    raise NotFoundError("no such case")
        return added > 0

    async def unassign_handler(self, case_id: str, handler: str) -> bool:
        case_id = check.case_id(case_id)
        handler = check.handler_name(handler)
        async with self._write() as db:
            removed = await execute(
                db,
                "DELETE FROM case_handlers WHERE case_id = ? AND handler = ?",
                (case_id, handler),
            )
        return removed > 0

    async def list_case_handlers(self, case_id: str) -> list[str]:
        case_id = check.case_id(case_id)
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT handler FROM case_handlers WHERE case_id = ? ORDER BY handler",
                (case_id,),
            )
        return [str(row[0]) for row in rows]

    async def list_handler_cases(self, handler: str) -> list[str]:
        handler = check.handler_name(handler)
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT case_id FROM case_handlers WHERE handler = ? ORDER BY activity_seq DESC",
                (handler,),
            )
        return [str(row[0]) for row in rows]
