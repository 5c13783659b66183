"""Key rotation on SQLite: find and replace values of an older relay key version.

Each :class:`~store.SealedKind` is one column. Its values start with the u32 key
version that made them, so "not at version v" is a comparison of the first four
bytes, done by SQLite without reading the rest into Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from .. import _checks as check
from .._records import SealedItem, SealedKind
from ._base import Params, SqliteBase, execute_many, fetch_all, fetch_one

__all__ = ["SealedOps"]

_TAG_SIZE: Final = 4
_TAGGED_LOOKUP_SIZE: Final = 36


@dataclass(frozen=True)
class _Column:
    table: str
    column: str
    key: str
    key_type: Literal["text", "int", "blob"]
    context: str


# Kind → where its values live. Table and column names come only from here.
_COLUMNS: Final = {
    SealedKind.LOOKUP_HASH: _Column("cases", "lookup_hash", "case_id", "text", "case_id"),
    SealedKind.CHAT_REF: _Column("cases", "sealed_chat_ref", "case_id", "text", "case_id"),
    SealedKind.DELETION_REF: _Column("scheduled_deletions", "sealed_ref", "id", "int", "case_id"),
    SealedKind.SENT_REF: _Column("outbox", "sent_ref", "id", "int", "case_id"),
    SealedKind.INBOX: _Column("inbox", "sealed_update", "update_id", "int", "update_id"),
    SealedKind.DIALOGUE: _Column("dialogues", "sealed_state", "lookup_hash", "blob", "lookup_hash"),
}


def _tag(version: object) -> bytes:
    value = check.non_negative(version, "version")
    if not 1 <= value <= 0xFFFF_FFFF:
        raise ValueError("key versions are 1 to 2**32 - 1")
    return value.to_bytes(_TAG_SIZE, "big")


def _not_at_version(kind: SealedKind, col: _Column) -> str:
    at = f"substr({col.column}, 1, {_TAG_SIZE}) = :tag"
    if kind is SealedKind.LOOKUP_HASH:
        at += f" AND length({col.column}) = {_TAGGED_LOOKUP_SIZE}"
    return f"{col.column} IS NOT NULL AND NOT ({at})"


def _text(value: object, key_type: str) -> str:
    if key_type == "blob":
        assert isinstance(value, bytes)
        return value.hex()
    return str(value)


def _key(text: object, col: _Column) -> object:
    if not isinstance(text, str):
        raise TypeError("a sealed item's key is a str")
    if col.key_type == "int":
        return check.non_negative(int(text), "key")
    if col.key_type == "blob":
        return check.lookup_hash(bytes.fromhex(text))
    return check.case_id(text)


def _item(kind: SealedKind, row: sqlite3.Row, col: _Column) -> SealedItem:
    return SealedItem(
        kind=kind,
        key=_text(row["key"], col.key_type),
        context=_text(row["context"], col.key_type if col.context == col.key else "text"),
        value=row["value"],
        position=row["position"],
    )


class SealedOps(SqliteBase):
    async def list_sealed(
        self,
        kind: SealedKind,
        *,
        except_version: int,
        after: int | None = None,
        limit: int = 100,
    ) -> list[SealedItem]:
        kind = SealedKind(kind)
        col = _COLUMNS[kind]
        params = {
            "tag": _tag(except_version),
            "after": check.cursor(after, "after") or 0,
            "limit": check.limit(limit),
        }
        sql = (
            f"SELECT rowid AS position, {col.key} AS key, {col.context} AS context,"  # noqa: S608
            f" {col.column} AS value FROM {col.table}"
            f" WHERE {_not_at_version(kind, col)} AND rowid > :after ORDER BY rowid LIMIT :limit"
        )
        async with self._read() as db:
            rows = await fetch_all(db, sql, params)
        return [_item(kind, row, col) for row in rows]

    async def count_sealed(self, kind: SealedKind, *, except_version: int) -> int:
        kind = SealedKind(kind)
        col = _COLUMNS[kind]
        sql = f"SELECT count(*) FROM {col.table} WHERE {_not_at_version(kind, col)}"  # noqa: S608
        async with self._read() as db:
            row = await fetch_one(db, sql, {"tag": _tag(except_version)})
        return 0 if row is None else int(row[0])

    async def replace_sealed(
        self, kind: SealedKind, changes: Sequence[tuple[str, bytes, bytes]]
    ) -> int:
        kind = SealedKind(kind)
        col = _COLUMNS[kind]
        new_check = check.lookup_hash if kind is SealedKind.LOOKUP_HASH else _new_blob
        rows: list[Params] = [
            (new_check(new), _key(key, col), check.blob(old, "old")) for key, old, new in changes
        ]
        if not rows:
            return 0
        # OR IGNORE: a lookup hash another case already holds is left as it was.
        sql = (
            f"UPDATE OR IGNORE {col.table} SET {col.column} = ?"  # noqa: S608
            f" WHERE {col.key} = ? AND {col.column} = ?"
        )
        async with self._write(several=True) as db:
            return await execute_many(db, sql, rows)


def _new_blob(value: object) -> bytes:
    return check.blob(value, "new")
