"""The hash-chained audit log on SQLite (the chain itself is in store/_audit.py)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Final

import aiosqlite

from .. import _checks as check
from .._audit import ChainChecker, entry_hash
from .._errors import IntegrityError
from .._records import AuditEntry, AuditVerification
from .._time import day_of, now_or, parse_day
from ._base import SqliteBase, execute, fetch_all, fetch_one

__all__ = ["AuditOps", "verify_chain"]

_MAX_DETAIL: Final = 200
_VERIFY_BATCH: Final = 1000


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=parse_day(row["at"]),
        actor=row["actor"],
        action=row["action"],
        case_id=row["case_id"],
        detail=row["detail"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


async def _head(db: aiosqlite.Connection) -> tuple[int, bytes]:
    row = await fetch_one(db, "SELECT seq, hash FROM audit_head WHERE id = 1")
    if row is None:
        raise IntegrityError("the audit head is missing")
    return int(row[0]), bytes(row[1])


async def verify_chain(db: aiosqlite.Connection) -> AuditVerification:
    """Walk the chain in batches inside the caller's read snapshot."""
    checker = ChainChecker()
    after = 0
    while True:
        rows = await fetch_all(
            db, "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after, _VERIFY_BATCH)
        )
        if not rows:
            break
        if not checker.feed(_entry(row) for row in rows):
            break
        after = int(rows[-1]["seq"])
    row = await fetch_one(db, "SELECT seq, hash FROM audit_head WHERE id = 1")
    if row is None:
        return AuditVerification(
            ok=False, checked=checker.checked, first_broken_seq=1, problem="audit head missing"
        )
    return checker.finish(int(row[0]), bytes(row[1]))


class AuditOps(SqliteBase):
    async def append_audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: str | None = None,
        detail: str = "",
        now: datetime | None = None,
    ) -> AuditEntry:
        actor = check.actor(actor)
        action = check.code(action, "action")
        case = None if case_id is None else check.case_id(case_id)
        detail = check.short_text(detail, "detail", max_chars=_MAX_DETAIL)
        at = day_of(now_or(now))
        async with self._write(several=True) as db:
            head_seq, head_hash = await _head(db)
            seq = head_seq + 1
            digest = entry_hash(head_hash, seq, at, actor, action, case, detail)
            await execute(
                db,
                "INSERT INTO audit (seq, at, actor, action, case_id, detail, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, at.isoformat(), actor, action, case, detail, head_hash, digest),
            )
            await execute(db, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))
        return AuditEntry(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            case_id=case,
            detail=detail,
            prev_hash=head_hash,
            hash=digest,
        )

    async def list_audit(
        self,
        *,
        case_id: str | None = None,
        action: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        sql = "SELECT * FROM audit WHERE seq > ?"
        params: list[object] = [check.cursor(after_seq, "after_seq") or 0]
        if case_id is not None:
            sql += " AND case_id = ?"
            params.append(check.case_id(case_id))
        if action is not None:
            sql += " AND action = ?"
            params.append(check.code(action, "action"))
        params.append(check.limit(limit))
        async with self._read() as db:
            rows = await fetch_all(db, sql + " ORDER BY seq LIMIT ?", params)
        return [_entry(row) for row in rows]
