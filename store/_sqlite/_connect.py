"""Opening an SQLite database file the way writein needs it.

The file (and its ``-wal``/``-shm`` companions, which SQLite creates with
the database's own mode) is owner-only, 0600. Every connection gets the
same pragmas: WAL, ``synchronous=FULL``, foreign keys, a busy timeout,
``secure_delete`` (deleted rows are zeroed, not left in free pages) and
temporary tables in memory (no stray temp files).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Final

import aiosqlite

from .._errors import StoreUnavailableError

__all__ = ["BUSY_TIMEOUT_SECONDS", "connect", "prepare_file", "tighten_modes"]

BUSY_TIMEOUT_SECONDS: Final = 10.0
FILE_MODE: Final = 0o600
_COMPANIONS: Final = ("", "-wal", "-shm", "-journal")


def prepare_file(path: Path) -> None:
    """Create the database file owner-only if it is missing; tighten it if not."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.close(fd)
    tighten_modes(path)


def tighten_modes(path: Path) -> None:
    """chmod 0600 the database and whichever companion files exist."""
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if companion.stat().st_mode & 0o777 != FILE_MODE:
                companion.chmod(FILE_MODE)


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
        row = await cursor.fetchone()
    if row is None or str(row[0]).lower() != "wal":
        raise StoreUnavailableError("the database cannot use write-ahead logging here")


async def connect(path: Path, *, read_only: bool = False) -> aiosqlite.Connection:
    """An aiosqlite connection in autocommit mode (transactions are explicit)."""
    conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        if not read_only:
            await _enable_wal(conn)
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA secure_delete = ON")
        await conn.execute("PRAGMA temp_store = MEMORY")
        if read_only:
            await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn
