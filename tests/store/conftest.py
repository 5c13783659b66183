"""One store test suite for every backend.

Each test takes the ``store`` fixture (or ``backend`` to open more stores on
the same database, or to reach under the store like an attacker with raw
database access would). Both are parametrised by ``backend``'s params, so a
PostgreSQL backend is one more entry in BACKENDS and one more Backend class.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from store import Case, Store, open_store

BACKENDS = ["sqlite"]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Backend:
    """What the shared tests need from a backend besides the Store interface."""

    name: str

    async def open(self) -> Store:
        raise NotImplementedError

    def raw(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run SQL straight on the database, bypassing the store, and commit."""
        raise NotImplementedError

    def drop_audit_guards(self) -> None:
        """Remove the database's own append-only guard, as an attacker could."""
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "data" / "writein.db"

    async def open(self) -> Store:
        return await open_store(self.path)

    def raw(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()
        finally:
            conn.close()
        return rows

    def drop_audit_guards(self) -> None:
        self.raw("DROP TRIGGER audit_no_update")
        self.raw("DROP TRIGGER audit_no_delete")
        self.raw("DROP TRIGGER audit_head_forward")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    raise AssertionError(f"unknown backend {request.param}")


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    opened = await backend.open()
    try:
        yield opened
    finally:
        await opened.close()


def new_id() -> bytes:
    """A random 16-byte id (message, key or attachment id)."""
    return os.urandom(16)


def case_ids(count: int, prefix: str = "CASE") -> list[str]:
    return [f"{prefix}-{i:04d}-TEST" for i in range(count)]


async def new_case(store: Store, case_id: str = "7KQ2-M9XD-3HVA", **kwargs: Any) -> Case:
    kwargs.setdefault("language", "en")
    kwargs.setdefault("now", NOW)
    return await store.create_case(case_id, **kwargs)
