"""The relay's supervisor: a failing loop is logged, backed off and retried, never lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.supervise import Backoff, TaskFailed, retry_until_done, supervise
from store import StoreUnavailableError

QUICK = Backoff(first=0.001, cap=0.004, give_up_after=4)


async def test_a_failing_step_is_logged_retried_and_recovers(caplog):
    caplog.set_level(logging.INFO, logger="writein.supervise")
    stop = asyncio.Event()
    calls = 0

    async def step() -> float:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise StoreUnavailableError("database is locked: secret-looking detail")
        if calls == 5:
            stop.set()
        return 0.0

    await asyncio.wait_for(supervise("delivery", step, stop, QUICK), timeout=5)
    assert calls == 5
    lines = [r.getMessage() for r in caplog.records]
    failed = [line for line in lines if "failed" in line]
    assert len(failed) == 2
    assert all("task delivery" in line and "StoreUnavailableError" in line for line in failed)
    assert not any("secret-looking" in line for line in lines)  # only the type is logged
    assert any("recovered after 2 failures" in line for line in lines)


async def test_one_task_failing_does_not_stop_another():
    stop = asyncio.Event()
    healthy_rounds = 0

    async def broken() -> float:
        raise RuntimeError("boom")

    async def healthy() -> float:
        nonlocal healthy_rounds
        healthy_rounds += 1
        if healthy_rounds == 50:
            stop.set()
        return 0.0

    slow = Backoff(first=0.01, cap=0.01, give_up_after=1000)
    await asyncio.wait_for(
        asyncio.gather(
            supervise("broken", broken, stop, slow), supervise("healthy", healthy, stop, slow)
        ),
        timeout=10,
    )
    assert healthy_rounds == 50


async def test_a_step_that_never_recovers_ends_in_task_failed(caplog):
    stop = asyncio.Event()

    async def step() -> float:
        raise OSError("disk full")

    with pytest.raises(TaskFailed) as failed:
        await asyncio.wait_for(supervise("process", step, stop, QUICK), timeout=5)
    assert failed.value.name == "process"
    assert failed.value.failures == QUICK.give_up_after
    assert "OSError" in str(failed.value)
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)


async def test_a_stop_ends_the_backoff_at_once():
    stop = asyncio.Event()
    failed_once = asyncio.Event()

    async def step() -> float:
        failed_once.set()
        raise RuntimeError("boom")

    task = asyncio.create_task(supervise("poll", step, stop, Backoff(first=3600, cap=3600)))
    await failed_once.wait()
    stop.set()
    await asyncio.wait_for(task, timeout=5)  # not an hour


async def test_retry_until_done_retries_then_reports_done():
    stop = asyncio.Event()
    tries = 0

    async def action() -> None:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise ConnectionError("Telegram unreachable")

    assert await asyncio.wait_for(retry_until_done("start", action, stop, QUICK), timeout=5)
    assert tries == 3


async def test_retry_until_done_gives_way_to_a_stop():
    stop = asyncio.Event()

    async def action() -> None:
        stop.set()
        raise ConnectionError("Telegram unreachable")

    waiting = Backoff(first=3600, cap=3600, give_up_after=100)
    done = await asyncio.wait_for(retry_until_done("start", action, stop, waiting), timeout=5)
    assert done is False


def test_backoff_doubles_up_to_its_cap():
    backoff = Backoff(first=1.0, cap=30.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
