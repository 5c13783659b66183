"""Time at the store's border: aware UTC datetimes in, coarse values on disk.

Long-lived rows (cases, envelopes, audit, keys) keep only the UTC day, so a
seized database cannot be lined up against Telegram's own timestamps; order
comes from sequence numbers instead (docs/decisions/0011-coarse-time.md).
Short-lived operational rows (inbox, dialogues, outbox leases) keep epoch
seconds, because leases and back-off need them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

__all__ = ["day_of", "epoch", "from_epoch", "lease_end", "now_or", "parse_day"]


def now_or(now: datetime | None) -> datetime:
    """``now`` checked to be aware, or the current UTC time when it is None."""
    if now is None:
        return datetime.now(UTC)
    return _aware(now)


def _aware(value: datetime) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes given to the store must be timezone-aware")
    return value


def epoch(value: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime (rounded down)."""
    return int(_aware(value).timestamp() // 1)


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def day_of(value: datetime) -> date:
    """The UTC calendar day of an aware datetime."""
    return _aware(value).astimezone(UTC).date()


def parse_day(text: str) -> date:
    return date.fromisoformat(text)


def lease_end(now: datetime, lease: timedelta) -> int:
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValueError("a lease must be a positive timedelta")
    return epoch(now + lease)
