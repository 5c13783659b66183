"""The relay's working queues on SQLite: inbox, dialogues, outbox, scheduled deletions."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Final, NoReturn

import aiosqlite

from .. import _checks as check
from .._errors import LeaseLostError, NotCancellableError, NotFoundError
from .._records import Dialogue, InboxItem, OutboxItem, OutboxStatus, ScheduledDeletion
from .._time import day_of, epoch, from_epoch, lease_end, now_or, parse_day
from ._base import Params, SqliteBase, execute, execute_many, fetch_all, fetch_one

__all__ = ["QueueOps", "outbox_claim_query"]

_TOKEN_SIZE: Final = 16
_DAY: Final = 86_400


def _optional_time(value: int | None) -> datetime | None:
    return None if value is None else from_epoch(value)


def _outbox(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        outbox_id=row["id"],
        case_id=row["case_id"],
        message_id=row["message_id"],
        envelope=row["envelope"],
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        not_before=from_epoch(row["not_before"]),
        claimed_until=_optional_time(row["claimed_until"]),
        claim_token=row["claim_token"],
        last_error=row["last_error"],
        sent_ref=row["sent_ref"],
        self_destruct_at=_optional_time(row["self_destruct_at"]),
        author=row["author"],
    )


def _deletion(row: sqlite3.Row) -> ScheduledDeletion:
    return ScheduledDeletion(
        deletion_id=row["id"],
        case_id=row["case_id"],
        sealed_ref=row["sealed_ref"],
        due_at=from_epoch(row["due_at"]),
        claimed_until=_optional_time(row["claimed_until"]),
    )


def _update_id(value: object) -> int:
    return check.non_negative(value, "update_id")


# The next due item whose case has no earlier item still pending or claimed:
# replies to one source leave in the order they were queued.
_OUTBOX_DUE: Final = (
    "SELECT o.id FROM outbox o"
    " WHERE o.status IN ('pending', 'claimed') AND o.not_before <= :now"
    " AND (o.status = 'pending' OR o.claimed_until <= :now)"
    " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status IN ('pending', 'claimed')"
    " AND p.case_id = o.case_id AND p.id < o.id)"
    " ORDER BY o.not_before, o.id LIMIT 1"
)


def outbox_claim_query() -> str:
    """The SQL that claims one outbox item (a function so tests can EXPLAIN it)."""
    return (
        "UPDATE outbox SET status = 'claimed', claimed_until = :until, claim_token = :token,"  # noqa: S608
        f" attempts = attempts + 1 WHERE id = ({_OUTBOX_DUE}) RETURNING *"
    )


class QueueOps(SqliteBase):
    # -- inbox ---------------------------------------------------------------------

    async def put_inbox(
        self, update_id: int, sealed_update: bytes, *, now: datetime | None = None
    ) -> bool:
        params = (
            _update_id(update_id),
            check.blob(sealed_update, "sealed_update"),
            epoch(now_or(now)),
        )
        async with self._write() as db:
            added = await execute(
                db,
                "INSERT INTO inbox (update_id, sealed_update, received_at) SELECT ?, ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM processed_updates WHERE update_id = ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (*params, params[0]),
            )
        return added > 0

    async def put_inbox_many(
        self, updates: Sequence[tuple[int, bytes]], *, now: datetime | None = None
    ) -> int:
        # One statement for a getUpdates batch: the writer is held for one round trip to
        # SQLite's thread instead of three per update.
        received = epoch(now_or(now))
        rows: list[Params] = []
        for update_id, sealed_update in updates:
            checked = _update_id(update_id)
            rows.append((checked, check.blob(sealed_update, "sealed_update"), received, checked))
        if not rows:
            return 0
        async with self._write() as db:
            return await execute_many(
                db,
                "INSERT INTO inbox (update_id, sealed_update, received_at) SELECT ?, ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM processed_updates WHERE update_id = ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                rows,
            )

    async def list_inbox(self, *, limit: int = 100) -> list[InboxItem]:
        async with self._read() as db:
            rows = await fetch_all(
                db, "SELECT * FROM inbox ORDER BY update_id LIMIT ?", (check.limit(limit),)
            )
        return [
            InboxItem(
                update_id=row["update_id"],
                sealed_update=row["sealed_update"],
                received_at=from_epoch(row["received_at"]),
            )
            for row in rows
        ]

    async def count_inbox(self) -> int:
        async with self._read() as db:
            row = await fetch_one(db, "SELECT count(*) FROM inbox")
        return 0 if row is None else int(row[0])

    async def finish_inbox(self, update_id: int, *, now: datetime | None = None) -> bool:
        update_id = _update_id(update_id)
        day = day_of(now_or(now)).isoformat()
        async with self._write(several=True) as db:
            removed = await execute(db, "DELETE FROM inbox WHERE update_id = ?", (update_id,))
            await execute(
                db,
                "INSERT INTO processed_updates (update_id, processed_on) VALUES (?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (update_id, day),
            )
        return removed > 0

    async def is_update_processed(self, update_id: int) -> bool:
        update_id = _update_id(update_id)
        async with self._read() as db:
            row = await fetch_one(
                db, "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
            )
        return row is not None

    async def prune_processed_updates(self, *, before: date) -> int:
        if not isinstance(before, date) or isinstance(before, datetime):
            raise TypeError("before must be a date")
        async with self._write() as db:
            return await execute(
                db, "DELETE FROM processed_updates WHERE processed_on < ?", (before.isoformat(),)
            )

    async def last_processed_update_on(self) -> date | None:
        async with self._read() as db:
            row = await fetch_one(db, "SELECT max(processed_on) FROM processed_updates")
        return None if row is None or row[0] is None else parse_day(row[0])

    # -- dialogues -------------------------------------------------------------------

    async def put_dialogue(
        self, lookup_hash: bytes, sealed_state: bytes, *, expires_at: datetime
    ) -> None:
        params = (
            check.lookup_hash(lookup_hash),
            check.blob(sealed_state, "sealed_state"),
            epoch(expires_at),
        )
        async with self._write() as db:
            await execute(
                db,
                "INSERT INTO dialogues (lookup_hash, sealed_state, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (lookup_hash) DO UPDATE"
                " SET sealed_state = excluded.sealed_state, expires_at = excluded.expires_at",
                params,
            )

    async def get_dialogue(
        self, lookup_hash: bytes, *, now: datetime | None = None
    ) -> Dialogue | None:
        params = (check.lookup_hash(lookup_hash), epoch(now_or(now)))
        async with self._read() as db:
            row = await fetch_one(
                db, "SELECT * FROM dialogues WHERE lookup_hash = ? AND expires_at > ?", params
            )
        if row is None:
            return None
        return Dialogue(
            lookup_hash=row["lookup_hash"],
            sealed_state=row["sealed_state"],
            expires_at=from_epoch(row["expires_at"]),
        )

    async def delete_dialogue(self, lookup_hash: bytes) -> bool:
        lookup = check.lookup_hash(lookup_hash)
        async with self._write() as db:
            return await execute(db, "DELETE FROM dialogues WHERE lookup_hash = ?", (lookup,)) > 0

    async def delete_expired_dialogues(self, *, now: datetime | None = None) -> int:
        moment = epoch(now_or(now))
        async with self._write() as db:
            return await execute(db, "DELETE FROM dialogues WHERE expires_at <= ?", (moment,))

    # -- outbox -------------------------------------------------------------------------

    async def enqueue_outbox(
        self,
        case_id: str,
        envelope: bytes,
        *,
        message_id: bytes | None = None,
        author: str | None = None,
        not_before: datetime | None = None,
        now: datetime | None = None,
    ) -> OutboxItem:
        params = (
            check.case_id(case_id),
            None if message_id is None else check.id16(message_id, "message_id"),
            check.blob(envelope, "envelope"),
            epoch(now_or(now) if not_before is None else not_before),
            None if author is None else check.handler_name(author),
        )
        async with self._write() as db:
            row = await fetch_one(
                db,
                "INSERT INTO outbox (case_id, message_id, envelope, status, not_before, author)"
                " VALUES (?, ?, ?, 'pending', ?, ?) RETURNING *",
                params,
            )
        assert row is not None
        return _outbox(row)

    async def claim_outbox(
        self, *, lease: timedelta, now: datetime | None = None
    ) -> OutboxItem | None:
        moment = now_or(now)
        params = {
            "now": epoch(moment),
            "until": lease_end(moment, lease),
            "token": secrets.token_bytes(_TOKEN_SIZE),
        }
        async with self._write() as db:
            row = await fetch_one(db, outbox_claim_query(), params)
        return None if row is None else _outbox(row)

    async def _finish_claim(
        self, outbox_id: int, claim_token: bytes, assignments: str, values: tuple[object, ...]
    ) -> None:
        """Apply ``assignments`` to a claimed item if ``claim_token`` still holds it."""
        outbox_id = check.non_negative(outbox_id, "outbox_id")
        token = check.blob(claim_token, "claim_token")
        async with self._write() as db:
            changed = await execute(
                db,
                f"UPDATE outbox SET {assignments}, claim_token = NULL, claimed_until = NULL"  # noqa: S608
                " WHERE id = ? AND status = 'claimed' AND claim_token = ?",
                (*values, outbox_id, token),
            )
            if not changed:
                exists = await fetch_one(db, "SELECT 1 FROM outbox WHERE id = ?", (outbox_id,))
                if exists is None:
                    raise NotFoundError("no such outbox item")
                raise LeaseLostError("the outbox claim was lost: its lease ran out")

    async def mark_outbox_sent(
        self,
        outbox_id: int,
        claim_token: bytes,
        *,
        sent_ref: bytes,
        self_destruct_at: datetime | None = None,
    ) -> None:
        ref = check.blob(sent_ref, "sent_ref")
        destruct = None if self_destruct_at is None else epoch(self_destruct_at)
        await self._finish_claim(
            outbox_id,
            claim_token,
            "status = 'sent', envelope = NULL, last_error = NULL, sent_ref = ?,"
            f" self_destruct_at = ?, not_before = not_before - not_before % {_DAY}",
            (ref, destruct),
        )

    async def retry_outbox(
        self, outbox_id: int, claim_token: bytes, *, not_before: datetime, error: str
    ) -> None:
        await self._finish_claim(
            outbox_id,
            claim_token,
            "status = 'pending', not_before = ?, last_error = ?",
            (epoch(not_before), check.code(error, "error")),
        )

    async def forget_chat_links(self, case_id: str, *, now: datetime | None = None) -> int:
        case_id = check.case_id(case_id)
        moment = epoch(now_or(now))
        async with self._write(several=True) as db:
            moved = await _sent_replies_leave_now(db, case_id, moment)
            await execute(
                db,
                "UPDATE outbox SET status = 'failed', envelope = NULL, last_error = 'forgotten',"  # noqa: S608 (_DAY is a constant)
                f" not_before = not_before - not_before % {_DAY}"
                " WHERE case_id = ? AND status = 'pending'",
                (case_id,),
            )
            await _deletions_due_now(db, case_id, moment)
        return moved

    async def fail_outbox(self, outbox_id: int, claim_token: bytes, *, error: str) -> None:
        await self._finish_claim(
            outbox_id,
            claim_token,
            "status = 'failed', envelope = NULL, last_error = ?,"
            f" not_before = not_before - not_before % {_DAY}",
            (check.code(error, "error"),),
        )

    async def cancel_outbox(self, case_id: str, message_id: bytes, *, author: str) -> OutboxItem:
        # One write transaction (BEGIN IMMEDIATE, or a savepoint in the caller's): a claim
        # is another write, so it runs wholly before or wholly after this. The DELETE takes
        # only a pending item, so a reply is either cancelled or claimed, never both.
        params = (
            check.case_id(case_id),
            check.id16(message_id, "message_id"),
            check.handler_name(author),
        )
        async with self._write(several=True) as db:
            row = await fetch_one(
                db,
                "DELETE FROM outbox WHERE case_id = ? AND message_id = ? AND status = 'pending'"
                " AND author = ? RETURNING *",
                params,
            )
            if row is None:
                await self._why_not_cancelled(db, params)
            # The stored copy goes too, unless another outbox item (an earlier attempt
            # that was sent or failed) still refers to it.
            await execute(
                db,
                "DELETE FROM envelopes WHERE message_id = ? AND case_id = ? AND direction = 'out'"
                " AND NOT EXISTS (SELECT 1 FROM outbox WHERE message_id = ?)",
                (params[1], params[0], params[1]),
            )
        return _outbox(row)

    @staticmethod
    async def _why_not_cancelled(
        db: aiosqlite.Connection, params: tuple[str, bytes, str]
    ) -> NoReturn:
        case_id, message_id, author = params
        row = await fetch_one(
            db,
            "SELECT status, author FROM outbox WHERE case_id = ? AND message_id = ?"
            " ORDER BY status = 'pending' DESC, id DESC LIMIT 1",
            (case_id, message_id),
        )
        if row is None:
            raise NotFoundError("no reply with this id is queued in this case")
        if row["author"] != author:
            raise NotCancellableError("not_author", author=row["author"])
        raise NotCancellableError(row["status"], author=row["author"])

    async def get_outbox(self, outbox_id: int) -> OutboxItem | None:
        outbox_id = check.non_negative(outbox_id, "outbox_id")
        async with self._read() as db:
            row = await fetch_one(db, "SELECT * FROM outbox WHERE id = ?", (outbox_id,))
        return None if row is None else _outbox(row)

    async def list_outbox(
        self, case_id: str, *, after_id: int | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        params = (
            check.case_id(case_id),
            check.cursor(after_id, "after_id") or 0,
            check.limit(limit),
        )
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT * FROM outbox WHERE case_id = ? AND id > ? ORDER BY id LIMIT ?",
                params,
            )
        return [_outbox(row) for row in rows]

    async def count_outbox_backlog(self) -> int:
        async with self._read() as db:
            row = await fetch_one(
                db, "SELECT count(*) FROM outbox WHERE status IN ('pending', 'claimed')"
            )
        return 0 if row is None else int(row[0])

    async def list_outbox_backlog(
        self, *, after_id: int | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        params = (check.cursor(after_id, "after_id") or 0, check.limit(limit))
        async with self._read() as db:
            rows = await fetch_all(
                db,
                "SELECT * FROM outbox WHERE status IN ('pending', 'claimed') AND id > ?"
                " ORDER BY id LIMIT ?",
                params,
            )
        return [_outbox(row) for row in rows]

    async def replace_outbox_envelope(self, outbox_id: int, old: bytes, new: bytes) -> bool:
        params = (
            check.blob(new, "new"),
            check.non_negative(outbox_id, "outbox_id"),
            check.blob(old, "old"),
        )
        async with self._write() as db:
            changed = await execute(
                db,
                "UPDATE outbox SET envelope = ? WHERE id = ? AND envelope = ?"
                " AND status IN ('pending', 'claimed')",
                params,
            )
        return changed > 0

    # -- scheduled deletions -------------------------------------------------------------

    async def add_scheduled_deletion(
        self, case_id: str, sealed_ref: bytes, *, due_at: datetime, pinned: bool = False
    ) -> ScheduledDeletion:
        params = (
            check.case_id(case_id),
            check.blob(sealed_ref, "sealed_ref"),
            epoch(due_at),
            1 if pinned else 0,
        )
        async with self._write() as db:
            row = await fetch_one(
                db,
                "INSERT INTO scheduled_deletions (case_id, sealed_ref, due_at, pinned)"
                " VALUES (?, ?, ?, ?) RETURNING *",
                params,
            )
        assert row is not None
        return _deletion(row)

    async def claim_due_deletions(
        self, *, lease: timedelta, limit: int = 50, now: datetime | None = None
    ) -> list[ScheduledDeletion]:
        moment = now_or(now)
        params = {
            "now": epoch(moment),
            "until": lease_end(moment, lease),
            "limit": check.limit(limit),
        }
        async with self._write() as db:
            rows = await fetch_all(
                db,
                "UPDATE scheduled_deletions SET claimed_until = :until WHERE id IN"
                " (SELECT id FROM scheduled_deletions WHERE due_at <= :now"
                " AND (claimed_until IS NULL OR claimed_until <= :now)"
                " ORDER BY due_at, id LIMIT :limit) RETURNING *",
                params,
            )
        return sorted((_deletion(row) for row in rows), key=lambda d: (d.due_at, d.deletion_id))

    async def delete_scheduled_deletion(self, deletion_id: int) -> bool:
        deletion_id = check.non_negative(deletion_id, "deletion_id")
        async with self._write() as db:
            return (
                await execute(db, "DELETE FROM scheduled_deletions WHERE id = ?", (deletion_id,))
                > 0
            )

    async def count_scheduled_deletions(self, *, case_id: str | None = None) -> int:
        sql = "SELECT count(*) FROM scheduled_deletions"
        params: list[object] = []
        if case_id is not None:
            sql += " WHERE case_id = ?"
            params.append(check.case_id(case_id))
        async with self._read() as db:
            row = await fetch_one(db, sql, params)
        return 0 if row is None else int(row[0])

    async def clear_chat(self, case_id: str, *, now: datetime | None = None) -> int:
        # /panic (ADR 0087): what the relay knows it left in the chat goes now; the links
        # to the chat stay (unlike forget_chat_links), and replies still pending stay too.
        case_id = check.case_id(case_id)
        moment = epoch(now_or(now))
        async with self._write(several=True) as db:
            moved = await _sent_replies_leave_now(db, case_id, moment)
            await _deletions_due_now(db, case_id, moment)
        return moved


async def _sent_replies_leave_now(db: aiosqlite.Connection, case_id: str, moment: int) -> int:
    """Every delivered reply's chat reference becomes a deletion due ``moment``; the
    outbox forgets it. Returns how many."""
    moved = await execute(
        db,
        "INSERT INTO scheduled_deletions (case_id, sealed_ref, due_at)"
        " SELECT case_id, sent_ref, ? FROM outbox"
        " WHERE case_id = ? AND sent_ref IS NOT NULL",
        (moment, case_id),
    )
    await execute(
        db,
        "UPDATE outbox SET sent_ref = NULL, self_destruct_at = NULL"
        " WHERE case_id = ? AND sent_ref IS NOT NULL",
        (case_id,),
    )
    return moved


async def _deletions_due_now(db: aiosqlite.Connection, case_id: str, moment: int) -> None:
    await execute(
        db,
        "UPDATE scheduled_deletions SET due_at = min(due_at, ?) WHERE case_id = ? AND pinned = 0",
        (moment, case_id),
    )
