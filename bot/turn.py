"""One update's worth of work: store writes that commit together, then Telegram effects.

The relay never holds a database transaction open across a network call. A step decides
what to write (sealed envelopes, state changes) and what to say; the relay commits the
writes together with the inbox row's deletion, and only then talks to Telegram. A crash
before the commit replays the update; a crash after it loses at most what the turn was
about to say (bot/outgoing.py sends it, per chat and in order).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.incoming import Incoming
from store import StoreOperations

Write = Callable[[StoreOperations], Awaitable[object]]
Effect = Callable[[], Awaitable[object]]


@dataclass
class Turn:
    incoming: Incoming
    lookup_hash: bytes
    writes: list[Write] = field(default_factory=list)
    effects: list[tuple[Effect, str | None]] = field(default_factory=list)

    def write(self, op: Write) -> None:
        self.writes.append(op)

    def then(self, effect: Effect, *, coalesce: str | None = None) -> None:
        """Do ``effect`` once the writes committed; ``coalesce`` merges a burst's twins."""
        self.effects.append((effect, coalesce))
