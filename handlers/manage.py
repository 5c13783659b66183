"""Managing a case: assign a colleague, hand it over, close and reopen it.

Access is cryptographic (DESIGN P4): a handler can read a message only with a wrap of
its data key for their own key. Assigning therefore means the assigning officer — who
can open the case — re-wraps every envelope of it for the colleague (crypto.rewrap:
same signed core, one new wrap), then records the assignment. The last re-wrap pass,
the assignment and the audit entry share one transaction, so a message the relay stores
meanwhile is either re-wrapped here or wrapped by the relay for the new assignee.

Handing over is assigning plus leaving: the officer's assignment and wraps for the case
are deleted, so their key no longer opens it.

The re-wrapping is done here, on the officer's machine, either way; the port writes it
(handlers.local: in the store's transaction; handlers.remote: the roster entry first, then
the new wraps, which the gateway takes only for a colleague the roster assigns).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import store
from core.roster import RosterError, Signer
from core.rosterlog import append_statement
from crypto import EncryptionPublicKey, Envelope, InvalidEnvelope, rewrap
from store import CaseStatus, StoreOperations

from ._errors import NotAssignedError, NotCertifiedError, UnknownCaseError, UsageError
from .cases import require_assigned
from .session import Session
from .thread import DIRECTIONS

__all__ = [
    "BATCH",
    "Assigned",
    "assign",
    "rewrap_batch",
    "rewrap_pass",
    "set_status",
    "sign_statement",
]

BATCH: Final = 200


@dataclass(frozen=True)
class Assigned:
    case_id: str
    handler: str
    #: Envelopes given a new wrap for the handler.
    rewrapped: int
    #: Envelopes this officer could not open, so could not pass on.
    unreadable: int
    already_assigned: bool
    handed_over: bool


def rewrap_batch(
    session: Session, envelopes: Sequence[store.Envelope], target: EncryptionPublicKey
) -> tuple[dict[bytes, bytes], int]:
    """Message id → the target's new wrap; and how many could not be opened."""
    wraps: dict[bytes, bytes] = {}
    failed = 0
    for envelope in envelopes:
        direction = DIRECTIONS[envelope.direction]
        try:
            new = rewrap(
                Envelope(envelope.core, envelope.wraps),
                recipient=session.me.encryption,
                new_recipients=[target],
                trusted_signers=session.workspace.signers.for_direction(direction, envelope.seq),
            )
        except InvalidEnvelope:
            failed += 1
            continue
        wraps[envelope.message_id] = new.wraps[target.key_id]
    return wraps, failed


async def rewrap_pass(
    session: Session,
    ops: StoreOperations,
    case_id: str,
    target: EncryptionPublicKey,
    after_seq: int | None,
) -> tuple[int, int, int | None]:
    """Re-wrap, one batch at a time, what the target lacks after ``after_seq``.

    Returns (re-wrapped, unreadable, last seq seen). Batches commit one by one
    unless ``ops`` is a transaction.
    """
    done = failed = 0
    cursor = after_seq
    while True:
        envelopes = await ops.list_envelopes_lacking_wrap(
            target.key_id,
            case_id=case_id,
            after_seq=cursor,
            limit=BATCH,
            wraps=session.me.key_id,
        )
        if not envelopes:
            return done, failed, cursor
        wraps, bad = await asyncio.to_thread(rewrap_batch, session, envelopes, target)
        for message_id, wrap in wraps.items():
            await ops.add_wraps(message_id, {target.key_id: wrap})
        done += len(wraps)
        failed += bad
        cursor = envelopes[-1].seq


async def _target_key(session: Session, handler: str) -> EncryptionPublicKey:
    key = session.workspace.encryption_key(handler)
    if key is None:  # enrolled since the console started?
        await session.workspace.reload()
        key = session.workspace.encryption_key(handler)
    if key is None:
        raise UnknownCaseError(f"no active, certified case officer named {handler!r}")
    return key


async def sign_statement(session: Session, tx: StoreOperations, kind: str, **fields: str) -> None:
    """Append a roster statement this officer signs, within the organisation's rules."""
    roster = session.workspace.trust.roster
    if roster is None:
        raise NotCertifiedError("the store holds no roster: ask an admin")
    try:
        await append_statement(
            tx, roster, Signer("handler", name=session.name), session.me.signing, kind, **fields
        )
    except RosterError as exc:
        raise NotAssignedError(f"the roster refuses this: {exc}") from None


async def assign(
    session: Session, case_id: str, handler: str, *, hand_over: bool = False
) -> Assigned:
    """Give ``handler`` access to the case (and, with ``hand_over``, leave it)."""
    case = await require_assigned(session, case_id)
    handler = handler.strip()
    if handler == session.name:
        raise UsageError("you are already assigned to this case")
    target = await _target_key(session, handler)
    rewrapped, unreadable, added = await session.workspace.port.assign(
        session, case.case_id, handler, target, hand_over=hand_over
    )
    return Assigned(
        case_id=case.case_id,
        handler=handler,
        rewrapped=rewrapped,
        unreadable=unreadable,
        already_assigned=not added,
        handed_over=hand_over,
    )


async def set_status(session: Session, case_id: str, status: CaseStatus) -> bool:
    """Close or reopen a case; False if it already had that status."""
    return await session.workspace.port.set_status(session, case_id, status)
