"""The one place where sqlite3's errors become writein's StoreError tree."""

from __future__ import annotations

import sqlite3

from .._errors import (
    ConflictError,
    IntegrityError,
    StoreError,
    StoreUnavailableError,
)

__all__ = ["map_sqlite_error"]


def map_sqlite_error(exc: sqlite3.Error) -> StoreError:
    """The StoreError to raise (``from exc``) for a sqlite3 error.

    Messages name the constraint kind only, never the values involved.
    """
    if isinstance(exc, sqlite3.IntegrityError):
        text = str(exc)
        if text.startswith("UNIQUE constraint failed") or "PRIMARY KEY" in text:
            # "UNIQUE constraint failed: cases.lookup_hash" names a column, not a value.
            return ConflictError(f"already exists ({text.partition(': ')[2] or 'unique key'})")
        if text.startswith("FOREIGN KEY"):
            return IntegrityError("refers to a row that does not exist")
        return IntegrityError(f"constraint failed: {text}")
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreUnavailableError("the database stayed locked past the busy timeout")
        return StoreUnavailableError(f"database error: {text}")
    if isinstance(exc, sqlite3.DatabaseError):
        return StoreUnavailableError(f"database error: {exc}")
    return StoreError(f"database error: {exc}")
