"""Handlers and the relay's own keys on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from .. import _checks as check
from .._errors import ConflictError, NotFoundError
from .._records import Handler, HandlerStatus, KeyPurpose, KeyStatus, PastCertificate, RelayKey
from .._time import day_of, now_or, parse_day
from ._base import SqliteBase, execute, fetch_all, fetch_one

__all__ = ["KeyOps"]

_MAX_CERTIFICATE = 64 * 1024


def _handler(row: sqlite3.Row) -> Handler:
    return Handler(
        name=row["name"],
        certificate=row["certificate"],
        status=HandlerStatus(row["status"]),
        default_intake=bool(row["default_intake"]),
        added_on=parse_day(row["added_on"]),
    )


def _relay_key(row: sqlite3.Row) -> RelayKey:
    return RelayKey(
        purpose=KeyPurpose(row["purpose"]),
        version=row["version"],
        public=row["public"],
        status=KeyStatus(row["status"]),
        created_on=parse_day(row["created_on"]),
        last_seq=row["last_seq"],
    )


def _version(value: object) -> int:
    version = check.non_negative(value, "version")
    if version < 1:
        raise ValueError("key versions start at 1")
    return version


class KeyOps(SqliteBase):
    # -- handlers -------------------------------------------------------------------

    async def add_handler(
        self,
        name: str,
        certificate: bytes,
        *,
        default_intake: bool = False,
        now: datetime | None = None,
    ) -> Handler:
        params = (
            check.handler_name(name),
            check.blob(certificate, "certificate", max_size=_MAX_CERTIFICATE),
            1 if default_intake else 0,
            day_of(now_or(now)).isoformat(),
        )
        async with self._write() as db:
            row = await fetch_one(
                db,
                "INSERT INTO handlers (name, certificate, status, default_intake, added_on)"
                " VALUES (?, ?, 'active', ?, ?) RETURNING *",
                params,
            )
        assert row is not None
        return _handler(row)

    async def get_handler(self, name: str) -> Handler | None:
        name = check.handler_name(name)
        async with self._read() as db:
            row = await fetch_one(db, "SELECT * FROM handlers WHERE name = ?", (name,))
        return None if row is None else _handler(row)

    async def list_handlers(self, *, status: HandlerStatus | None = None) -> list[Handler]:
        sql = "SELECT * FROM handlers"
        params: list[object] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(HandlerStatus(status).value)
        async with self._read() as db:
            rows = await fetch_all(db, sql + " ORDER BY name", params)
        return [_handler(row) for row in rows]

    async def revoke_handler(self, name: str) -> None:
        name = check.handler_name(name)
        async with self._write() as db:
            changed = await execute(
                db,
                "UPDATE handlers SET status = 'revoked', default_intake = 0 WHERE name = ?",
                (name,),
            )
        if not changed:
            raise NotFoundError("no such handler")

    async def _update_active_handler(self, name: str, assignment: str, value: object) -> None:
        name = check.handler_name(name)
        async with self._write() as db:
            changed = await execute(
                db,
                f"UPDATE handlers SET {assignment} WHERE name = ? AND status = 'active'",  # noqa: S608
                (value, name),
            )
            if not changed:
                found = await fetch_one(db, "SELECT 1 FROM handlers WHERE name = ?", (name,))
                if found is None:
                    raise NotFoundError("no such handler")
                raise ConflictError("the handler is revoked")

    async def set_handler_default_intake(self, name: str, on: bool) -> None:
        if on:
            await self._update_active_handler(name, "default_intake = ?", 1)
            return
        name = check.handler_name(name)
        async with self._write() as db:
            changed = await execute(
                db, "UPDATE handlers SET default_intake = 0 WHERE name = ?", (name,)
            )
        if not changed:
            raise NotFoundError("no such handler")

    async def set_handler_certificate(self, name: str, certificate: bytes) -> None:
        name = check.handler_name(name)
        value = check.blob(certificate, "certificate", max_size=_MAX_CERTIFICATE)
        today = day_of(now_or(None)).isoformat()
        async with self._write(several=True) as db:
            found = await fetch_one(db, "SELECT status FROM handlers WHERE name = ?", (name,))
            if found is None:
                raise NotFoundError("no such handler")
            if found[0] != HandlerStatus.ACTIVE.value:
                raise ConflictError("the handler is revoked")
            await execute(
                db,
                "INSERT INTO handler_certificate_history (name, certificate, replaced_on)"
                " SELECT name, certificate, ? FROM handlers WHERE name = ? AND certificate <> ?",
                (today, name, value),
            )
            await execute(db, "UPDATE handlers SET certificate = ? WHERE name = ?", (value, name))

    async def list_past_certificates(self, *, name: str | None = None) -> list[PastCertificate]:
        sql = "SELECT * FROM handler_certificate_history"
        params: list[object] = []
        if name is not None:
            sql += " WHERE name = ?"
            params.append(check.handler_name(name))
        async with self._read() as db:
            rows = await fetch_all(db, sql + " ORDER BY seq", params)
        return [
            PastCertificate(
                name=row["name"],
                certificate=row["certificate"],
                replaced_on=parse_day(row["replaced_on"]),
            )
            for row in rows
        ]

    # -- relay keys --------------------------------------------------------------------

    async def add_relay_key(
        self,
        purpose: KeyPurpose,
        version: int,
        public: bytes,
        *,
        status: KeyStatus = KeyStatus.ACTIVE,
        now: datetime | None = None,
    ) -> RelayKey:
        params = (
            KeyPurpose(purpose).value,
            _version(version),
            check.blob(public, "public", max_size=_MAX_CERTIFICATE),
            KeyStatus(status).value,
            day_of(now_or(now)).isoformat(),
        )
        async with self._write() as db:
            row = await fetch_one(
                db,
                "INSERT INTO relay_keys (purpose, version, public, status, created_on)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                params,
            )
        assert row is not None
        return _relay_key(row)

    async def get_relay_key(self, purpose: KeyPurpose, version: int) -> RelayKey | None:
        params = (KeyPurpose(purpose).value, _version(version))
        async with self._read() as db:
            row = await fetch_one(
                db, "SELECT * FROM relay_keys WHERE purpose = ? AND version = ?", params
            )
        return None if row is None else _relay_key(row)

    async def list_relay_keys(
        self, *, purpose: KeyPurpose | None = None, status: KeyStatus | None = None
    ) -> list[RelayKey]:
        sql = "SELECT * FROM relay_keys WHERE 1 = 1"
        params: list[object] = []
        if purpose is not None:
            sql += " AND purpose = ?"
            params.append(KeyPurpose(purpose).value)
        if status is not None:
            sql += " AND status = ?"
            params.append(KeyStatus(status).value)
        async with self._read() as db:
            rows = await fetch_all(db, sql + " ORDER BY purpose, version", params)
        return [_relay_key(row) for row in rows]

    async def set_relay_key_status(
        self,
        purpose: KeyPurpose,
        version: int,
        status: KeyStatus,
        *,
        last_seq: int | None = None,
    ) -> None:
        params = (
            KeyStatus(status).value,
            None if last_seq is None else check.non_negative(last_seq, "last_seq"),
            KeyPurpose(purpose).value,
            _version(version),
        )
        async with self._write() as db:
            changed = await execute(
                db,
                "UPDATE relay_keys SET status = ?, last_seq = coalesce(last_seq, ?)"
                " WHERE purpose = ? AND version = ?",
                params,
            )
        if not changed:
            raise NotFoundError("no such relay key")
