"""The bot's update queue: kept until confirmed, filtered by ``allowed_updates``."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telesim._clock import Clock
from telesim._errors import conflict

# Sent unless asked for explicitly (Update's documentation in api.json).
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
RETENTION = 24 * 3600.0  # Telegram keeps unconfirmed updates for 24 hours


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update_id: int
    kind: str
    payload: dict[str, Any]
    created: float

    def to_json(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.kind: self.payload}


class UpdateQueue:
    """Updates waiting for the bot, with long polling and Telegram's conflict rules."""

    def __init__(self, clock: Clock, first_update_id: int = 1) -> None:
        self._clock = clock
        self._next_id = first_update_id
        self._pending: deque[PendingUpdate] = deque()
        self._allowed: frozenset[str] | None = None
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closed = False

    @property
    def polls(self) -> int:
        """How many ``getUpdates`` calls have started (a test waits on it for a poller)."""
        return self._poll_generation

    # -- producers ------------------------------------------------------------

    def push(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update; ``None`` if the bot's ``allowed_updates`` filter it out."""
        if not self.wants(kind):
            return None
        update = PendingUpdate(self._next_id, kind, payload, self._clock.now())
        self._next_id += 1
        self._pending.append(update)
        self._wake()
        return update.update_id

    def wants(self, kind: str) -> bool:
        if self._allowed is None:
            return kind not in OPT_IN_UPDATES
        return kind in self._allowed

    def set_allowed(self, allowed: Iterable[str] | None) -> None:
        """Apply ``allowed_updates``: ``None`` keeps the setting, empty restores the default."""
        if allowed is None:
            return
        chosen = frozenset(allowed)
        self._allowed = chosen or None

    @property
    def allowed(self) -> list[str] | None:
        return sorted(self._allowed) if self._allowed is not None else None

    # -- consumers ------------------------------------------------------------

    @property
    def pending(self) -> list[PendingUpdate]:
        self._expire()
        return list(self._pending)

    def __len__(self) -> int:
        self._expire()
        return len(self._pending)

    def first(self) -> PendingUpdate | None:
        self._expire()
        return self._pending[0] if self._pending else None

    def confirm(self, offset: int) -> None:
        """Forget updates with ``update_id < offset``; a negative offset keeps the last -offset."""
        if offset < 0:
            keep = -offset
            while len(self._pending) > keep:
                self._pending.popleft()
            return
        while self._pending and self._pending[0].update_id < offset:
            self._pending.popleft()

    def drop_all(self) -> None:
        self._pending.clear()

    def pop_first(self, update_id: int) -> None:
        if self._pending and self._pending[0].update_id == update_id:
            self._pending.popleft()

    async def get_updates(self, limit: int, wait: float) -> list[PendingUpdate]:
        """Up to ``limit`` pending updates, waiting up to ``wait`` seconds for one.

        A newer ``getUpdates`` call ends a waiting one with 409 Conflict, as Telegram does.
        """
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # let an older waiter notice it has been superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait, 0.0)
        while True:
            self._expire()
            if self._pending or self._closed:
                return list(itertools.islice(self._pending, limit))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                return []
            if generation != self._poll_generation:
                raise conflict(
                    "terminated by other getUpdates request; "
                    "make sure that only one bot instance is running"
                )

    async def wait_for_any(self) -> None:
        """Until there is at least one pending update (for webhook delivery)."""
        while not self._pending and not self._closed:
            await self._changed.wait()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release every waiter (the simulator is stopping)."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _expire(self) -> None:
        horizon = self._clock.now() - RETENTION
        while self._pending and self._pending[0].created < horizon:
            self._pending.popleft()
