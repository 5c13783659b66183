"""Supervised tasks: a relay loop that fails is logged, backed off and retried, never lost.

Each long-running part of the relay (poll, process, delivery, deletions, housekeeping,
retention, the key and token watchers) is a *step* run again and again. A step that
raises is logged on one line (the task's name and the exception's type, never its text,
which could quote content), and tried again after a capped exponential backoff while the
other tasks go on. A step that keeps failing ``give_up_after`` times in a row cannot
recover on its own (a full disk, a broken database file): :class:`TaskFailed` then stops
the whole relay with a non-zero exit, so that the service manager restarts it. A relay
that is half alive -- polling while nothing is delivered -- never happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("writein.supervise")

# A step returns how long to rest before it runs again (0: at once).
Step = Callable[[], Awaitable[float]]


class TaskFailed(Exception):
    """A supervised task failed too often in a row; the relay must stop and be restarted."""

    def __init__(self, name: str, failures: int, cause: BaseException) -> None:
        super().__init__(f"task {name} failed {failures} times in a row ({type(cause).__name__})")
        self.name = name
        self.failures = failures
        self.cause_name = type(cause).__name__


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff: first, 2*first, 4*first, ... up to ``cap`` seconds."""

    first: float = 1.0
    cap: float = 30.0
    give_up_after: int = 10  # about 3 minutes of failing without a single success

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.first * 2 ** max(failures - 1, 0)))


async def rest(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if the relay is told to stop meanwhile."""
    if seconds <= 0 or stop.is_set():
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def supervise(name: str, step: Step, stop: asyncio.Event, backoff: Backoff) -> None:
    """Run ``step`` until ``stop`` is set; raise :class:`TaskFailed` if it cannot recover."""
    failures = 0
    while not stop.is_set():
        try:
            pause = await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            if failures >= backoff.give_up_after:
                log.critical(
                    "task %s failed %d times in a row (%s): stopping the relay",
                    name,
                    failures,
                    type(exc).__name__,
                )
                raise TaskFailed(name, failures, exc) from exc
            delay = backoff.delay(failures)
            log.error(  # noqa: TRY400
                "task %s failed (%s); retry %d in %.1f s", name, type(exc).__name__, failures, delay
            )
            await rest(stop, delay)
            continue
        if failures:
            log.warning("task %s recovered after %d failures", name, failures)
            failures = 0
        await rest(stop, pause)


async def retry_until_done(
    name: str, action: Callable[[], Awaitable[object]], stop: asyncio.Event, backoff: Backoff
) -> bool:
    """A one-off start-up action under the same rules; False if a stop came first."""
    done = False

    async def once() -> float:
        nonlocal done
        await action()
        done = True
        stop_now.set()
        return 0.0

    # The action ends its own supervision by setting a private event; a real stop ends it
    # too, and is seen by the caller.
    stop_now = asyncio.Event()
    watcher = asyncio.create_task(_follow(stop, stop_now))
    try:
        await supervise(name, once, stop_now, backoff)
    finally:
        watcher.cancel()
    return done


async def _follow(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
