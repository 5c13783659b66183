"""Versioned schema migrations for the SQLite backend.

Migrations are the ``NNNN_name.sql`` files in ``migrations/``, applied in
order, each recorded in ``schema_version``, all in one write transaction so
two processes starting at once cannot both apply them. A database written
by a newer writein (a version above the last file here) is refused.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources

import aiosqlite

from .._errors import SchemaError, SchemaTooNewError, StoreMissingError

__all__ = [
    "Migration",
    "check_version",
    "latest_version",
    "load_migrations",
    "migrate",
    "split_statements",
]

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(script: str) -> tuple[str, ...]:
    """Split an SQL script into complete statements (triggers stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if _has_code(statement):
                statements.append(statement)
            buffer = ""
    if _has_code(buffer):
        raise SchemaError("a migration ends with an incomplete SQL statement")
    return tuple(statements)


def _has_code(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())


@cache
def load_migrations() -> tuple[Migration, ...]:
    folder = resources.files("store._sqlite").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match:
            statements = split_statements(entry.read_text(encoding="utf-8"))
            found.append(Migration(int(match.group(1)), entry.name, statements))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations must be numbered 1, 2, 3, ... without gaps: {versions}")
    return tuple(found)


def latest_version() -> int:
    return load_migrations()[-1].version


async def _scalar(conn: aiosqlite.Connection, sql: str) -> object:
    rows = list(await conn.execute_fetchall(sql))
    return rows[0][0] if rows else None


async def _current_version(conn: aiosqlite.Connection, code_version: int) -> int:
    """The database's schema version (creating the version table in a new file)."""
    has_table = await _scalar(
        conn, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    )
    if not has_table:
        if await _scalar(conn, "SELECT count(*) FROM sqlite_master"):
            raise SchemaError("the database file holds tables but is not a writein store")
        await conn.execute(
            "CREATE TABLE schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_on TEXT NOT NULL)"
        )
    current = await _scalar(conn, "SELECT coalesce(max(version), 0) FROM schema_version")
    if not isinstance(current, int):
        raise SchemaError("the schema_version table is damaged")
    if current > code_version:
        raise SchemaTooNewError(current, code_version)
    return current


async def migrate(conn: aiosqlite.Connection) -> int:
    """Bring the database up to the latest schema; returns the version it is at."""
    migrations = load_migrations()
    code_version = migrations[-1].version
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await _current_version(conn, code_version)
        today = datetime.now(UTC).date().isoformat()
        for migration in migrations:
            if migration.version <= current:
                continue
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_on) VALUES (?, ?, ?)",
                (migration.version, migration.name, today),
            )
        await conn.execute("COMMIT")
    except BaseException:
        # aiosqlite runs statements in order: once this returns, a statement still in
        # flight (a COMMIT whose await was cancelled) has finished.
        await conn.execute_fetchall("SELECT 1")
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise
    return code_version


async def check_version(conn: aiosqlite.Connection) -> int:
    """The version of an existing store that is at the latest schema; changes nothing.

    Raises StoreMissingError for a file that holds no writein store (an empty one, made
    by a typo in a URL), SchemaError for an older store (the relay migrates it when it
    starts) and SchemaTooNewError for a newer one.
    """
    code_version = latest_version()
    has_table = await _scalar(
        conn, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    )
    if not has_table:
        if await _scalar(conn, "SELECT count(*) FROM sqlite_master"):
            raise SchemaError("the database file holds tables but is not a writein store")
        raise StoreMissingError(
            "the database file is empty, not a writein store: check store.url and "
            "paths.data_dir, or run `writein init`"
        )
    current = await _scalar(conn, "SELECT coalesce(max(version), 0) FROM schema_version")
    if not isinstance(current, int):
        raise SchemaError("the schema_version table is damaged")
    if current > code_version:
        raise SchemaTooNewError(current, code_version)
    if current < code_version:
        raise SchemaError(
            f"the store has schema version {current} and this writein needs {code_version}: "
            "start the relay (`writein bot`) once, it migrates the store"
        )
    return current
