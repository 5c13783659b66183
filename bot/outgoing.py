"""What the relay says in a source's chat, sent in order per chat and never blocking intake.

A turn's Telegram effects (prompts, the case ID, the phrase, acknowledgements, deletions
of what was just stored) run after the turn has committed. They used to run in-line, so
one chat's 429 or the one-message-a-second pace of one chat held up every other source.
Now each chat has its own queue and worker: effects for one chat keep their order, chats
do not wait for each other, and the inbox is processed at full speed meanwhile.

Acknowledgements coalesce: an acknowledgement waits until the chat has been quiet for
``quiet`` seconds, and any further one queued meanwhile merges into it, so a burst of
messages (a pasted text, an album) is answered once.

The queues live in memory. A crash after a turn committed and before its effects ran
loses those effects (docs/decisions/0073): the messages themselves are stored, and the
deletions that matter are durable rows of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger("writein.relay")

Effect = Callable[[], Awaitable[object]]
ACK_QUIET_SECONDS = 2.0


@dataclass
class _Job:
    effect: Effect
    key: str | None
    due: float


class Outgoing:
    def __init__(self, *, quiet: float = ACK_QUIET_SECONDS) -> None:
        self.quiet = quiet
        self._queues: dict[int, deque[_Job]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._flushing = asyncio.Event()
        self.failed = 0

    def send(self, chat_id: int, effect: Effect, *, coalesce: str | None = None) -> None:
        """Queue ``effect`` for ``chat_id``; with ``coalesce``, merge into a waiting twin."""
        queue = self._queues.setdefault(chat_id, deque())
        now = time.monotonic()
        if coalesce is not None:
            for job in queue:
                if job.key == coalesce:
                    job.due = now + self.quiet  # the burst goes on: wait for it to end
                    return
        queue.append(_Job(effect, coalesce, now + self.quiet if coalesce else now))
        self._idle.clear()
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.create_task(self._work(chat_id), name="outgoing")

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing being sent (a job leaves its queue as its send starts)."""
        return not self._workers

    async def drain(self, *, flush: bool = True) -> None:
        """Wait until every queue is empty; ``flush`` sends coalesced ones without waiting."""
        if flush:
            self._flushing.set()
        try:
            await self._idle.wait()
        finally:
            self._flushing.clear()

    async def close(self) -> None:
        """Cancel whatever is still queued (after a grace period spent in :meth:`drain`)."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for result in await asyncio.gather(*workers, return_exceptions=True):
            if isinstance(result, Exception):  # _work catches its sends' errors itself
                log.error("an outgoing queue ended with %s", type(result).__name__)
        self._queues.clear()
        self._workers.clear()
        self._idle.set()

    async def _work(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                job = queue[0]
                # Wait out an acknowledgement's quiet time; ``due`` moves on while the
                # burst goes on, and a flush (drain) ends the wait at once.
                while not self._flushing.is_set() and (wait := job.due - time.monotonic()) > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._flushing.wait(), timeout=wait)
                queue.popleft()
                try:
                    await job.effect()
                except Exception as exc:
                    # TelegramIO has retried what can be retried; this one is lost, and said so.
                    self.failed += 1
                    log.warning("a message to a source was not sent: %s", type(exc).__name__)
        finally:
            if not queue:
                self._queues.pop(chat_id, None)
            self._workers.pop(chat_id, None)
            if not self._workers:
                self._idle.set()
