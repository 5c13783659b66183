"""The rows the store hands out: frozen pydantic records and their enums.

Records hold only what the store holds: pseudonyms (case ids, handler
names), keyed hashes and sealed bytes. Dates are UTC days; operational
times (leases, expiry, back-off) are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Attachment",
    "AuditEntry",
    "AuditVerification",
    "Case",
    "CaseFlag",
    "CaseStatus",
    "Dialogue",
    "Direction",
    "Envelope",
    "Handler",
    "HandlerStatus",
    "InboxItem",
    "KeyPurpose",
    "KeyStatus",
    "OutboxItem",
    "OutboxStatus",
    "PastCertificate",
    "RelayKey",
    "ScheduledDeletion",
    "SealedItem",
    "SealedKind",
    "WrapSelection",
]


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CaseFlag(StrEnum):
    FORGOTTEN = "forgotten"  # the source ran /forget: no lookup hash any more
    UNREACHABLE = "unreachable"  # Telegram said 403: the source blocked the bot
    NEEDS_REASSIGNMENT = "needs_reassignment"  # no active handler can read it


class Direction(StrEnum):
    IN = "in"  # from the source
    OUT = "out"  # a handler's reply
    NOTE = "note"  # a handler's internal note, never sent


class OutboxStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"


class HandlerStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class KeyPurpose(StrEnum):
    SIGNING = "signing"
    DELIVERY = "delivery"
    PEPPER = "pepper"
    AT_REST = "at_rest"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


class SealedKind(StrEnum):
    """The relay's values that name their key version in their first four bytes.

    A key rotation lists those of an older version and replaces them
    (``list_sealed`` / ``replace_sealed``).
    """

    #: ``cases.lookup_hash``: a keyed hash, u32 pepper version first (36 bytes);
    #: a 32-byte hash is from version 1, before hashes were tagged.
    LOOKUP_HASH = "lookup_hash"
    CHAT_REF = "chat_ref"  # cases.sealed_chat_ref
    DELETION_REF = "deletion_ref"  # scheduled_deletions.sealed_ref
    SENT_REF = "sent_ref"  # outbox.sent_ref
    INBOX = "inbox"  # inbox.sealed_update
    DIALOGUE = "dialogue"  # dialogues.sealed_state


#: Which wraps to load with an envelope: every one, none, or one key id's.
WrapSelection: TypeAlias = bytes | Literal["all", "none"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Case(_Record):
    case_id: str
    status: CaseStatus
    created_on: date
    language: str
    lookup_hash: bytes | None
    sealed_chat_ref: bytes | None
    recovery_hash: bytes | None
    flags: frozenset[CaseFlag]
    last_activity_on: date
    #: Grows on every touch, store-wide: the order of "last activity" and the
    #: cursor for ``list_cases(before_activity=...)``.
    activity_seq: int


class Envelope(_Record):
    message_id: bytes
    case_id: str
    direction: Direction
    #: Store-wide, strictly increasing: the order of messages and the paging cursor.
    seq: int
    stored_on: date
    core: bytes
    #: key id → wrap, as selected by the ``wraps`` argument of the call.
    wraps: dict[bytes, bytes] = Field(default_factory=dict)


class Attachment(_Record):
    attachment_id: bytes
    message_id: bytes
    chunks: int
    size: int


class InboxItem(_Record):
    update_id: int
    sealed_update: bytes
    received_at: datetime


class Dialogue(_Record):
    lookup_hash: bytes
    sealed_state: bytes
    expires_at: datetime


class OutboxItem(_Record):
    outbox_id: int
    case_id: str
    #: The handler's stored ``out`` envelope this delivers, if any.
    message_id: bytes | None
    #: Sealed to the bot's delivery key; wiped once sent or failed.
    envelope: bytes | None
    status: OutboxStatus
    attempts: int
    not_before: datetime
    claimed_until: datetime | None
    #: Proof of the current claim: pass it back to mark_outbox_sent/retry/fail.
    claim_token: bytes | None
    last_error: str | None
    sent_ref: bytes | None
    self_destruct_at: datetime | None
    #: The handler who queued the reply (the only one who may cancel it); None for items
    #: queued before the store kept it.
    author: str | None = None


class ScheduledDeletion(_Record):
    deletion_id: int
    case_id: str
    sealed_ref: bytes
    due_at: datetime
    claimed_until: datetime | None


class Handler(_Record):
    name: str
    certificate: bytes
    status: HandlerStatus
    default_intake: bool
    added_on: date


class RelayKey(_Record):
    purpose: KeyPurpose
    version: int
    public: bytes
    status: KeyStatus
    created_on: date
    #: For a retired key: the last envelope ``seq`` stored while it was in use.
    last_seq: int | None = None


class PastCertificate(_Record):
    """A certificate a handler had before their key was rotated (public data only)."""

    name: str
    certificate: bytes
    replaced_on: date


class SealedItem(_Record):
    """One value a key rotation re-seals (see :class:`SealedKind`)."""

    kind: SealedKind
    #: The row: a case id, an outbox or deletion id, an update id, or a lookup hash (hex).
    key: str
    #: What the seal is bound to: the case id, the update id, or the lookup hash (hex).
    context: str
    value: bytes
    #: Paging cursor: pass the last item's back as ``after``.
    position: int


class AuditEntry(_Record):
    seq: int
    at: date
    actor: str
    action: str
    case_id: str | None
    detail: str
    prev_hash: bytes
    hash: bytes


class AuditVerification(_Record):
    ok: bool
    #: Entries whose hash was checked before the first problem (or all of them).
    checked: int
    #: The first sequence number that is altered, missing or out of place.
    first_broken_seq: int | None = None
    problem: str | None = None
