"""Retention run by the relay itself (config ``retention.days``)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from admin.retention import cutoff_day, purge, retention_step, run_retention
from bot.supervise import Backoff, supervise
from core.config import parse_config
from store import CaseStatus, Direction, open_store

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def config(tmp_path, days: int):
    data = {"paths": {"data_dir": "data"}, "retention": {"days": days}}
    return parse_config(data, base_dir=tmp_path, source=tmp_path / "writein.toml")


@pytest.fixture
async def store(tmp_path):
    opened = await open_store(tmp_path / "data" / "writein.db")
    yield opened
    await opened.close()


async def fill(store):
    old = NOW - timedelta(days=100)
    for case_id, status in (("KEEP-0001", CaseStatus.OPEN), ("GONE-0001", CaseStatus.CLOSED)):
        await store.create_case(case_id, language="en", now=old)
        await store.add_envelope(os.urandom(16), case_id, Direction.IN, b"core", {}, now=old)
        await store.set_case_status(case_id, status)
    await store.add_envelope(os.urandom(16), "KEEP-0001", Direction.IN, b"new", {}, now=NOW)


async def test_the_relay_applies_the_configured_retention(tmp_path, store):
    await fill(store)
    assert await run_retention(store, config(tmp_path, 0), now=NOW) is None
    assert await store.count_envelopes("KEEP-0001") == 2
    report = await run_retention(store, config(tmp_path, 30), now=NOW)
    assert (report.envelopes, report.cases, report.dry_run) == (2, 1, False)
    assert await store.count_envelopes("KEEP-0001") == 1  # the recent one stays
    assert await store.get_case("GONE-0001") is None
    last = (await store.list_audit(limit=100))[-1]
    assert (last.actor, last.action) == ("relay", "purge")


async def test_the_loop_runs_at_once_and_stops(tmp_path, store):
    await fill(store)
    stop = asyncio.Event()
    step = lambda: retention_step(store, config(tmp_path, 30))  # noqa: E731
    task = asyncio.create_task(supervise("retention", step, stop, Backoff()))
    deadline = time.monotonic() + 30  # generous: a busy machine, not a slow product
    while await store.get_case("GONE-0001") is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert await store.get_case("GONE-0001") is None


async def test_a_dry_run_changes_nothing(store):
    await fill(store)
    report = await purge(store, older_than_days=30, dry_run=True, now=NOW)
    assert (report.envelopes, report.attachments, report.cases) == (2, 0, 1)
    assert await store.get_case("GONE-0001") is not None
    assert await store.list_audit() == []


def test_retention_keeps_at_least_a_day():
    assert cutoff_day(1, NOW) == (NOW - timedelta(days=1)).date()
    with pytest.raises(ValueError):
        cutoff_day(0, NOW)
