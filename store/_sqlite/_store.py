"""The SQLite store: two connections, one write lock, explicit transactions.

- The *writer* connection runs every write, always as ``BEGIN IMMEDIATE``
  so a transaction never has to upgrade from a read lock (no mid-way
  SQLITE_BUSY between processes). An asyncio lock gives it to one
  transaction at a time within the process; SQLite's own lock (with the
  busy timeout) does the same between processes.
- The *reader* connection (``query_only``) serves reads made on the store
  outside a transaction, so a console listing cases is not held up by a
  relay transaction in progress (WAL lets readers and a writer overlap).
- ``transaction()`` hands out a :class:`SqliteTransaction` on the writer.
  A call of several writing statements runs in a SAVEPOINT (one statement
  is atomic by itself), so a call that fails (say a ConflictError the
  caller catches) leaves nothing half-done and the transaction can go on.

sqlite3's errors become StoreErrors here, in ``_mapped``, and nowhere else.

A statement that returns rows (``SELECT 1``, a checkpoint) runs as ``execute_fetchall``,
read to its end on the database thread: an unread cursor keeps its statement open, and
a task cancelled just as aiosqlite answered keeps that cursor alive in its traceback.
While one is open on the writer, every COMMIT fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from .._errors import StoreError, TransactionError
from .._records import AuditVerification
from ._auditlog import AuditOps, verify_chain
from ._base import fetch_one
from ._cases import CaseOps
from ._connect import connect, prepare_file, tighten_modes
from ._errors import map_sqlite_error
from ._keys import KeyOps
from ._messages import MessageOps
from ._migrate import check_version, migrate
from ._queues import QueueOps
from ._roster import RosterOps
from ._sealed import SealedOps

__all__ = ["SqliteOperations", "SqliteStore", "SqliteTransaction", "open_sqlite_store"]

# The transaction the current task (and tasks it started) is inside, if any.
_CURRENT: contextvars.ContextVar[SqliteTransaction | None] = contextvars.ContextVar(
    "writein_store_transaction", default=None
)


async def _to_the_end(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to its end even if this task is cancelled meanwhile, again and again.

    It ends a transaction: a second cancel (a stop that cancels what its grace period left)
    landing while a ROLLBACK waits would leave the connection inside the transaction, and
    every later BEGIN on it would fail. A cancel that arrived is passed on afterwards,
    with the work's own failure, if any, as its cause.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
        except BaseException:  # noqa: S110 - the work's failure is read from the task below
            pass
    failure = None if task.cancelled() else task.exception()
    if cancelled:
        raise asyncio.CancelledError from failure
    if failure is not None:
        raise failure


@asynccontextmanager
async def _mapped() -> AsyncIterator[None]:
    """Translate sqlite3 errors raised in the block into StoreErrors."""
    try:
        yield
    except sqlite3.Error as exc:
        raise map_sqlite_error(exc) from exc


class SqliteOperations(CaseOps, MessageOps, QueueOps, KeyOps, RosterOps, AuditOps, SealedOps):
    """Every operation of the store interface, written once for SQLite."""


class SqliteTransaction(SqliteOperations):
    """The ``tx`` of ``async with store.transaction() as tx``: calls share one transaction."""

    def __init__(self, store: SqliteStore, conn: aiosqlite.Connection) -> None:
        self._store = store
        self._conn = conn
        self._open = True
        # Calls on one transaction run one at a time (each is a savepoint).
        self._lock = asyncio.Lock()

    @property
    def store(self) -> SqliteStore:
        return self._store

    @property
    def is_open(self) -> bool:
        return self._open

    def _close(self) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise TransactionError("the transaction has ended; open a new one")

    @asynccontextmanager
    async def _read(self, *, several: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        self._check_open()
        async with self._lock, _mapped():
            self._check_open()
            yield self._conn

    @asynccontextmanager
    async def _write(self, *, several: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        self._check_open()
        async with self._lock:
            self._check_open()
            if not several:
                async with _mapped():
                    yield self._conn
                return
            async with _mapped():
                await self._conn.execute("SAVEPOINT op")
            try:
                async with _mapped():
                    yield self._conn
            except BaseException:
                async with _mapped():
                    await self._conn.execute("ROLLBACK TO op")
                    await self._conn.execute("RELEASE op")
                raise
            async with _mapped():
                await self._conn.execute("RELEASE op")


class SqliteStore(SqliteOperations):
    """A writein case store in one SQLite file. Open it with ``open_store``."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self._path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _check_usable(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")
        current = _CURRENT.get()
        if current is not None and current.is_open and current.store is self:
            raise TransactionError(
                "called on the store inside store.transaction(): call it on the transaction"
            )

    @asynccontextmanager
    async def _read(self, *, several: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        self._check_usable()
        async with self._read_lock:
            if not several:
                async with _mapped():
                    yield self._reader
                return
            try:
                async with _mapped():
                    await self._reader.execute("BEGIN")
                    yield self._reader
            finally:
                await _to_the_end(self._end_snapshot())

    async def _end_snapshot(self) -> None:
        # A cancel may land while BEGIN or a query is still running on aiosqlite's thread;
        # once SELECT 1 returns it has finished, and the snapshot ends.
        async with _mapped():
            await self._reader.execute_fetchall("SELECT 1")
            if self._reader.in_transaction:
                await self._reader.execute("COMMIT")

    @asynccontextmanager
    async def _write(self, *, several: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        self._check_usable()
        async with self._write_lock, self._begin() as conn:
            yield conn

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT on the writer; ROLLBACK if anything fails or is cancelled."""
        try:
            async with _mapped():
                await self._writer.execute("BEGIN IMMEDIATE")
            async with _mapped():
                yield self._writer
            async with _mapped():
                await self._writer.execute("COMMIT")
        except BaseException:
            await _to_the_end(self._abandon())
            raise

    async def _abandon(self) -> None:
        """Leave the writer outside any transaction, whatever state a failure left it in."""
        async with _mapped():
            # aiosqlite runs statements in order: once this returns, any statement
            # still in flight (say, from a cancelled call) has finished.
            await self._writer.execute_fetchall("SELECT 1")
            if self._writer.in_transaction:
                await self._writer.execute("ROLLBACK")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteOperations]:
        self._check_usable()
        async with self._write_lock, self._begin() as conn:
            tx = SqliteTransaction(self, conn)
            token = _CURRENT.set(tx)
            try:
                yield tx
            finally:
                tx._close()
                _CURRENT.reset(token)

    async def schema_version(self) -> int:
        async with self._read() as db:
            row = await fetch_one(db, "SELECT max(version) FROM schema_version")
        return 0 if row is None else int(row[0])

    async def verify_audit_chain(self) -> AuditVerification:
        async with self._read(several=True) as db:
            return await verify_chain(db)

    async def checkpoint(self) -> None:
        self._check_usable()
        async with self._write_lock, _mapped():
            await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._write_lock, self._read_lock:
            try:
                await self._reader.close()
                # Let SQLite refresh its planner statistics if they are stale.
                with contextlib.suppress(sqlite3.Error):
                    await self._writer.execute_fetchall("PRAGMA optimize")
            finally:
                await self._writer.close()


async def open_sqlite_store(path: Path, *, create: bool = True) -> SqliteStore:
    """Open (creating if needed) and migrate the SQLite store at ``path``.

    ``create=False``: only an existing store at the latest schema, left as it is
    (StoreMissingError if there is none).
    """
    prepare_file(path, create=create)
    async with _mapped():
        writer = await connect(path)
        try:
            await (migrate(writer) if create else check_version(writer))
            tighten_modes(path)
            reader = await connect(path, read_only=True)
        except BaseException:
            await writer.close()
            raise
    return SqliteStore(path, writer, reader)
