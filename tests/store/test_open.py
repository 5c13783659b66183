"""Opening a store: URLs, migrations at start, refusing a newer schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import SchemaError, SchemaTooNewError, StoreError, StoreURLError, open_store
from store._open import sqlite_path
from store._sqlite._migrate import latest_version, load_migrations, split_statements

from .conftest import Backend, new_case


async def test_new_store_is_migrated_to_the_latest_version(store):
    assert await store.schema_version() == latest_version()


async def test_reopening_keeps_data_and_version(backend: Backend):
    first = await backend.open()
    await new_case(first)
    await first.close()
    second = await backend.open()
    try:
        assert await second.schema_version() == latest_version()
        assert await second.get_case("7KQ2-M9XD-3HVA") is not None
    finally:
        await second.close()
    versions = backend.raw("SELECT version FROM schema_version ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in load_migrations()]


async def test_newer_schema_is_refused_naming_both_versions(backend: Backend):
    opened = await backend.open()
    await opened.close()
    newer = latest_version() + 7
    backend.raw(
        "INSERT INTO schema_version (version, name, applied_on) VALUES (?, 'future', '2030-01-01')",
        (newer,),
    )
    with pytest.raises(SchemaTooNewError) as info:
        await backend.open()
    assert info.value.database_version == newer
    assert info.value.code_version == latest_version()
    assert str(newer) in str(info.value)
    assert str(latest_version()) in str(info.value)
    assert isinstance(info.value, StoreError)


async def test_a_database_that_is_not_a_store_is_refused(tmp_path: Path):
    import sqlite3

    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE something (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="not a writein store"):
        await open_store(path)


async def test_open_store_accepts_a_path_and_a_sqlite_url(tmp_path: Path, monkeypatch):
    for target in (tmp_path / "a.db", str(tmp_path / "b.db"), f"sqlite:///{tmp_path}/c.db"):
        opened = await open_store(target)
        await opened.close()
    assert {p.name for p in tmp_path.iterdir()} >= {"a.db", "b.db", "c.db"}
    monkeypatch.chdir(tmp_path)
    opened = await open_store("sqlite:///rel/d.db")
    await opened.close()
    assert (tmp_path / "rel" / "d.db").exists()


async def test_async_with_closes_and_close_is_idempotent(tmp_path: Path):
    async with await open_store(tmp_path / "s.db") as opened:
        await new_case(opened)
    await opened.close()
    with pytest.raises(StoreError, match="closed"):
        await opened.get_case("7KQ2-M9XD-3HVA")


@pytest.mark.parametrize(
    "url",
    ["postgresql://writein@db/writein", "postgres://db/x", "postgresql+asyncpg://db/x"],
)
async def test_postgresql_is_not_supported_yet(url: str):
    with pytest.raises(StoreURLError, match="not supported yet"):
        await open_store(url)


@pytest.mark.parametrize(
    "url", ["", "mysql://db/x", "sqlite://host/x.db", "sqlite:///", ":memory:", "sqlite:///x?y=1"]
)
def test_unusable_urls_are_refused(url: str):
    with pytest.raises(StoreURLError):
        sqlite_path(url)


def test_sqlite_url_forms():
    assert sqlite_path("sqlite:///data/w.db") == Path("data/w.db")
    assert sqlite_path("sqlite:////var/lib/w.db") == Path("/var/lib/w.db")
    assert sqlite_path("data/w.db") == Path("data/w.db")


def test_migration_statements_split_whole_triggers():
    statements = split_statements(
        "-- a comment\nCREATE TABLE t (x);\n"
        "CREATE TRIGGER g BEFORE DELETE ON t\nBEGIN\n  SELECT RAISE(ABORT, 'no');\nEND;\n"
    )
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")


def test_incomplete_migration_is_an_error():
    with pytest.raises(SchemaError):
        split_statements("CREATE TABLE t (x);\nCREATE TABLE u (")
