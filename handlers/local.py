"""The console's writes on this box: store transactions on the store file (one-box deployment).

The code the console always ran (handlers.compose, .manage, .export, the read marks), moved
here behind :class:`~handlers.port.Port`; ``handlers.remote.GatewayPort`` is the other side.
Every transaction checks the assignment inside itself, so a hand-over that commits meanwhile
is seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import store
from core import caseview
from crypto import Direction, EncryptionPublicKey, Envelope, seal
from store import Case, CaseStatus, NotCancellableError, NotFoundError, Store, StoreOperations

from ._errors import ConsoleError, NotAssignedError, UnknownCaseError
from .cases import require_assigned
from .compose import SHORTEST_ID, cancel_refusal, handler_keys
from .manage import rewrap_pass, sign_statement
from .port import CaseEvent, Pulse
from .session import Session

__all__ = ["LocalPort", "awaiting_reply", "case_marker", "case_notes", "source_events"]

_SCAN: Final = 1000


async def source_events(db: StoreOperations, case_id: str) -> list[CaseEvent]:
    """The case's audit entries meant for its officers (EVENT_ACTIONS), oldest first."""
    return [CaseEvent(e.seq, e.at, e.action) for e in await caseview.source_events(db, case_id)]


async def case_marker(db: StoreOperations, case: Case) -> str:
    """One case's state as a string that changes when anything the officer sees of it does
    (the gateway computes the same, core.caseview)."""
    return await caseview.case_marker(db, case)


async def awaiting_reply(db: StoreOperations, case_ids: Sequence[str]) -> set[str]:
    """The cases whose newest message, notes left out, came from the source."""
    waiting: set[str] = set()
    for case_id in case_ids:
        newest = await db.list_envelopes(case_id, newest_first=True, limit=5, wraps="none")
        said = [e.direction for e in newest if e.direction is not store.Direction.NOTE]
        if said and said[0] is store.Direction.IN:
            waiting.add(case_id)
    return waiting


async def case_notes(
    db: StoreOperations,
    case_id: str,
    key_id: bytes,
    *,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[store.Envelope]:
    """A case's NOTE envelopes, newest first, with ``key_id``'s wrap only. A case without a
    note is one indexed count; otherwise the case is walked newest first (metadata only)
    until ``limit`` notes, or the notes the count promised, were found."""
    left = await db.count_envelopes(case_id, direction=store.Direction.NOTE)
    found: list[store.Envelope] = []
    cursor = before_seq
    while left and len(found) < limit:
        page = await db.list_envelopes(
            case_id,
            after_seq=after_seq,
            before_seq=cursor,
            newest_first=True,
            limit=_SCAN,
            wraps="none",
        )
        notes = [e for e in page if e.direction is store.Direction.NOTE]
        found += notes
        left -= len(notes)
        if len(page) < _SCAN:
            break
        cursor = page[-1].seq
    found = found[:limit]
    return [e.model_copy(update={"wraps": await db.get_wraps(e.message_id, key_id)}) for e in found]


class LocalPort:
    """:class:`~handlers.port.Port` over the store on this box."""

    def __init__(self, db: Store, where: str) -> None:
        self.store = db
        self.where = where

    async def reply(
        self,
        session: Session,
        case_id: str,
        body: bytes,
        relay_key: EncryptionPublicKey,
        message_id: bytes,
    ) -> Case:
        async with self.store.transaction() as tx:
            case = await require_assigned(session, case_id, ops=tx)
            if case.status is CaseStatus.CLOSED:
                raise ConsoleError(f"case {case.case_id} is closed: reopen it to reply")
            handlers = handler_keys(session, case.case_id)
            sealed = seal(
                body,
                case_id=case.case_id,
                direction=Direction.OUT,
                recipients=[relay_key, *handlers],
                signer=session.me.signing,
                message_id=message_id,
            )
            relay_id = relay_key.key_id
            handler_wraps = {k: w for k, w in sealed.wraps.items() if k != relay_id}
            for_relay = Envelope(sealed.core, {relay_id: sealed.wraps[relay_id]})
            await tx.add_envelope(
                message_id, case.case_id, store.Direction.OUT, sealed.core, handler_wraps
            )
            await tx.enqueue_outbox(
                case.case_id, for_relay.to_bytes(), message_id=message_id, author=session.name
            )
            await tx.append_audit(session.actor, "reply", case_id=case.case_id)
        return case

    async def note(self, session: Session, case_id: str, body: bytes, message_id: bytes) -> str:
        async with self.store.transaction() as tx:
            case = await require_assigned(session, case_id, ops=tx)
            sealed = seal(
                body,
                case_id=case.case_id,
                direction=Direction.NOTE,
                recipients=handler_keys(session, case.case_id),
                signer=session.me.signing,
                message_id=message_id,
            )
            await tx.add_envelope(
                message_id, case.case_id, store.Direction.NOTE, sealed.core, dict(sealed.wraps)
            )
            await tx.append_audit(session.actor, "note", case_id=case.case_id)
        return case.case_id

    async def cancel(self, session: Session, case_id: str, message_id: bytes) -> bool:
        async with self.store.transaction() as tx:
            case = await require_assigned(session, case_id, ops=tx)
            try:
                item = await tx.cancel_outbox(case.case_id, message_id, author=session.name)
            except NotFoundError:
                short = message_id.hex()[:SHORTEST_ID]
                raise UnknownCaseError(f"no queued reply {short} in case {case.case_id}") from None
            except NotCancellableError as exc:
                raise cancel_refusal(exc, case.case_id, message_id) from None
            await tx.append_audit(
                session.actor,
                "reply-cancel",
                case_id=case.case_id,
                detail=f"reply {message_id.hex()}",
            )
        return bool(item.attempts and item.last_error == "network")

    async def assign(
        self,
        session: Session,
        case_id: str,
        handler: str,
        target: EncryptionPublicKey,
        *,
        hand_over: bool,
    ) -> tuple[int, int, bool]:
        # The last re-wrap pass, the assignment and the audit entry share one transaction,
        # so a message the relay stores meanwhile is re-wrapped here or wrapped by the relay.
        done, failed, cursor = await rewrap_pass(session, self.store, case_id, target, None)
        async with self.store.transaction() as tx:
            await require_assigned(session, case_id, ops=tx)
            more, more_failed, _ = await rewrap_pass(session, tx, case_id, target, cursor)
            added = handler not in session.workspace.trust.assigned(case_id)
            if added:
                await sign_statement(session, tx, "assign", case_id=case_id, name=handler)
                await tx.assign_handler(case_id, handler)
                await tx.append_audit(session.actor, "assign", case_id=case_id, detail=handler)
            if hand_over:
                await sign_statement(session, tx, "leave", case_id=case_id, name=session.name)
                await tx.unassign_handler(case_id, session.name)
                await tx.delete_wraps(session.me.key_id, case_id=case_id)
                await tx.append_audit(session.actor, "hand-over", case_id=case_id, detail=handler)
        return done + more, failed + more_failed, added

    async def set_status(self, session: Session, case_id: str, status: CaseStatus) -> bool:
        async with self.store.transaction() as tx:
            case = await require_assigned(session, case_id, ops=tx)
            if case.status is status:
                return False
            await tx.set_case_status(case.case_id, status)
            action = "close" if status is CaseStatus.CLOSED else "reopen"
            await tx.append_audit(session.actor, action, case_id=case.case_id)
        return True

    async def mark_read(self, session: Session, case_id: str, seq: int) -> None:
        await self.store.mark_read(case_id, session.name, seq)

    async def attachment_known(self, attachment_id: bytes) -> bool | None:
        return bool(await self.store.read_attachment_chunks(attachment_id, limit=1))

    async def read_chunks(
        self,
        case_id: str,
        message_id: bytes | None,
        attachment_id: bytes,
        *,
        start: int,
        limit: int,
    ) -> list[bytes]:
        del case_id, message_id  # the store finds chunks by the attachment id alone
        return await self.store.read_attachment_chunks(attachment_id, start=start, limit=limit)

    async def exported(
        self, session: Session, case_id: str, message_id: bytes | None, attachment_id: bytes
    ) -> None:
        del message_id
        await self.store.append_audit(
            session.actor, "export", case_id=case_id, detail=f"attachment {attachment_id.hex()}"
        )

    async def pulse(self, session: Session, case_id: str | None = None) -> Pulse:
        newest = await self.store.list_cases(handler=session.name, limit=1)
        activity = newest[0].activity_seq if newest else 0
        roster = await self.store.roster_length()
        marker = ""
        if case_id is not None and session.name in session.workspace.trust.assigned(case_id):
            case = await self.store.get_case(case_id)
            marker = "gone" if case is None else await case_marker(self.store, case)
        return Pulse(activity, roster, marker)

    async def awaiting(self, session: Session, case_ids: Sequence[str]) -> set[str]:
        mine = [c for c in case_ids if session.name in session.workspace.trust.assigned(c)]
        return await awaiting_reply(self.store, mine)

    async def case_events(self, session: Session, case_id: str) -> list[CaseEvent]:
        case = await require_assigned(session, case_id)
        return await source_events(self.store, case.case_id)

    async def opened(self, session: Session, case_id: str) -> None:
        await self.store.append_audit(session.actor, "read", case_id=case_id)

    async def notes(
        self,
        session: Session,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[store.Envelope]:
        if session.name not in session.workspace.trust.assigned(case_id):
            raise NotAssignedError(f"case {case_id} is not assigned to you")
        return await case_notes(
            self.store,
            case_id,
            session.me.key_id,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=limit,
        )
