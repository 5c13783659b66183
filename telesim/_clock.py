"""The simulator's clock: wall time plus an offset you can advance."""

from __future__ import annotations

import time


class Clock:
    """Unix time as the simulator sees it.

    By default it follows the wall clock; ``advance()`` moves it forward (message
    ages, the 48-hour deletion limit, file link expiry, update retention). With
    ``start`` it starts at that Unix time and stands still unless advanced, for
    fully reproducible dates. Long-poll and webhook waits use real time.
    """

    def __init__(self, start: float | None = None) -> None:
        self._frozen = start is not None
        self._base = float(start) if start is not None else 0.0
        self._offset = 0.0

    def now(self) -> float:
        """Current simulated Unix time, in seconds."""
        base = self._base if self._frozen else time.time()
        return base + self._offset

    def timestamp(self) -> int:
        """Current simulated Unix time as Telegram's integer ``date``."""
        return int(self.now())

    def advance(
        self, *, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> float:
        """Move the clock forward; returns the new time."""
        delta = seconds + 60 * minutes + 3600 * hours + 86400 * days
        if delta < 0:
            raise ValueError("the clock only moves forward")
        self._offset += delta
        return self.now()
