"""Telegram's sending limits: about one message a second per chat, about 30 a second overall."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator

PER_CHAT_INTERVAL = 1.0
# Telegram tolerates short bursts to one chat: onboarding says two things at a time.
PER_CHAT_BURST = 3
GLOBAL_PER_SECOND = 30


class Pace:
    """Keeps to Telegram's limits: one message a second per chat, 30 a second overall.

    A chat may get ``per_chat_burst`` messages at once, but never more than that many in
    ``per_chat_burst`` intervals, so it averages one a second. Intervals are counted from
    the moment a send *finished*, so however long a request takes, the pace holds where
    Telegram receives them.
    """

    def __init__(
        self,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        global_per_second: int = GLOBAL_PER_SECOND,
        per_chat_burst: int = PER_CHAT_BURST,
    ) -> None:
        self.per_chat_interval = per_chat_interval
        self.global_per_second = global_per_second
        self.per_chat_burst = per_chat_burst
        self._chat_sent: dict[int, deque[float]] = {}
        self._sent: deque[float] = deque()

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for a free slot for ``chat_id``, send inside, and count the send at exit."""
        while True:
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            recent = self._chat_sent.get(chat_id) or deque()
            window = self.per_chat_interval * self.per_chat_burst
            chat_wait = recent[0] + window - now if len(recent) >= self.per_chat_burst else 0.0
            global_wait = (
                (self._sent[0] + 1.0 - now) if len(self._sent) >= self.global_per_second else 0.0
            )
            delay = max(chat_wait, global_wait)
            if delay <= 0:
                break
            await asyncio.sleep(delay)
        try:
            yield
        finally:
            done = time.monotonic()
            if len(self._chat_sent) > 10_000:  # forget chats that are free again
                since = done - self.per_chat_interval * self.per_chat_burst
                self._chat_sent = {c: d for c, d in self._chat_sent.items() if d[-1] > since}
            sent = self._chat_sent.setdefault(chat_id, deque(maxlen=self.per_chat_burst))
            sent.append(done)
            self._sent.append(done)
