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
import stat
from pathlib import Path
from typing import Final

import aiosqlite

from .._errors import StoreMissingError, StoreUnavailableError

__all__ = ["BUSY_TIMEOUT_SECONDS", "connect", "prepare_file", "tighten_modes"]

BUSY_TIMEOUT_SECONDS: Final = 10.0
FILE_MODE: Final = 0o600
_COMPANIONS: Final = ("", "-wal", "-shm", "-journal")


def prepare_file(path: Path, *, create: bool = True) -> None:
    """Create the database file owner-only if it is missing (``create``); tighten it if not.

    The file must be a regular file that belongs to the user running writein: a command
    run as another user (root, say) would leave companion files the relay cannot open.
    """
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        if create:
            if not path.parent.exists():
                path.parent.mkdir(mode=0o700, parents=True)
            flags |= os.O_CREAT
        fd = os.open(path, flags, FILE_MODE)
    except FileNotFoundError:
        raise StoreMissingError(
            f"no store at {path}: check store.url and paths.data_dir, or run `writein init`"
        ) from None
    except NotADirectoryError:
        raise StoreMissingError(
            f"{path}: a folder on its path is a file (check paths.data_dir and store.url)"
        ) from None
    except OSError as exc:
        raise StoreUnavailableError(
            f"cannot open the store {path}: {_reason(exc)}; check that it and its folder "
            "belong to the user running writein"
        ) from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(info.st_mode):
        raise StoreMissingError(f"{path} is not a store file")
    if info.st_uid != os.geteuid():
        raise StoreUnavailableError(
            f"{path} belongs to uid {info.st_uid}, not to this user (uid "
            f"{os.geteuid()}): run writein as the user that owns it (sudo -u …)"
        )
    tighten_modes(path)


def _reason(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def tighten_modes(path: Path) -> None:
    """chmod 0600 the database and whichever companion files exist."""
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            if companion.stat().st_mode & 0o777 != FILE_MODE:
                companion.chmod(FILE_MODE)


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
    if not rows or str(rows[0][0]).lower() != "wal":
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
