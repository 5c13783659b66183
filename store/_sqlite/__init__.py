"""The SQLite backend of writein's store (aiosqlite, one file, WAL)."""

from ._store import SqliteStore, SqliteTransaction, open_sqlite_store

__all__ = ["SqliteStore", "SqliteTransaction", "open_sqlite_store"]
