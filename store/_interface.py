"""The one interface every store backend implements.

Two protocols:

- :class:`StoreOperations` — every read and write. A :class:`Store` offers
  them directly (each call is its own transaction), and so does the object
  ``async with store.transaction() as tx`` yields (every call joins one
  transaction that commits at the end of the block, or rolls back entirely
  if the block raises). Each call is atomic on its own, also inside a
  transaction: a call that fails leaves nothing half-done, and the
  transaction can go on.
- :class:`Store` — the operations plus the lifecycle: ``transaction()``,
  ``verify_audit_chain()``, ``checkpoint()``, ``close()``.

Conventions:

- Nothing here sees plaintext or a Telegram id: only pseudonyms (case ids,
  handler names), keyed hashes and sealed bytes.
- ``now`` arguments are aware datetimes; None means the current time.
  Long-lived rows keep only the UTC day.
- ``get_*`` returns None for a missing row; ``set_*``/state changes raise
  :class:`~store.NotFoundError`; ``delete_*`` returns whether (or how many)
  rows went away.
- Lists are keyset-paginated: pass the last item's ``seq`` /
  ``activity_seq`` / ``outbox_id`` back as the cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from ._records import (
    Attachment,
    AuditEntry,
    AuditVerification,
    Case,
    CaseFlag,
    CaseStatus,
    Dialogue,
    Direction,
    Envelope,
    Handler,
    HandlerStatus,
    InboxItem,
    KeyPurpose,
    KeyStatus,
    OutboxItem,
    PastCertificate,
    RelayKey,
    ScheduledDeletion,
    SealedItem,
    SealedKind,
    WrapSelection,
)

__all__ = ["Store", "StoreOperations"]


class StoreOperations(Protocol):
    """Every read and write of the case store (see the module docstring)."""

    # -- settings ---------------------------------------------------------------

    async def get_setting(self, key: str) -> str | None:
        """A relay setting such as ``telegram.offset``; None when unset."""
        ...

    async def set_setting(self, key: str, value: str) -> None: ...

    async def delete_setting(self, key: str) -> bool: ...

    # -- cases -----------------------------------------------------------------

    async def create_case(
        self,
        case_id: str,
        *,
        language: str,
        lookup_hash: bytes | None = None,
        sealed_chat_ref: bytes | None = None,
        recovery_hash: bytes | None = None,
        now: datetime | None = None,
    ) -> Case:
        """A new open case. ConflictError if the case id or lookup hash is taken."""
        ...

    async def get_case(self, case_id: str) -> Case | None: ...

    async def get_case_by_lookup_hash(self, lookup_hash: bytes) -> Case | None: ...

    async def get_case_by_recovery_hash(self, recovery_hash: bytes) -> Case | None:
        """The case whose recovery hash (deterministic per deployment) is this one."""
        ...

    async def list_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
        before_activity: int | None = None,
        limit: int = 50,
    ) -> list[Case]:
        """Cases, most recently active first.

        Filters combine: ``status``, a ``flag`` that must be set, and a
        ``handler`` the case must be assigned to. For the next page pass the
        last case's ``activity_seq`` as ``before_activity``.
        """
        ...

    async def count_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
    ) -> int: ...

    async def list_inactive_cases(
        self, *, before: date, status: CaseStatus | None = None, limit: int = 100
    ) -> list[Case]:
        """Retention: cases last active before ``before`` (a UTC day), least recent first."""
        ...

    async def count_inactive_cases(
        self, *, before: date, status: CaseStatus | None = None
    ) -> int: ...

    async def set_case_status(self, case_id: str, status: CaseStatus) -> None: ...

    async def set_case_flag(self, case_id: str, flag: CaseFlag, on: bool = True) -> None: ...

    async def set_case_chat_ref(self, case_id: str, sealed_chat_ref: bytes | None) -> None: ...

    async def set_case_lookup_hash(self, case_id: str, lookup_hash: bytes | None) -> None:
        """Set or (``None``, for /forget) clear the lookup hash. ConflictError if taken."""
        ...

    async def set_case_language(self, case_id: str, language: str) -> None: ...

    async def set_case_recovery_hash(self, case_id: str, recovery_hash: bytes | None) -> None: ...

    async def touch_case(self, case_id: str, *, now: datetime | None = None) -> int:
        """Move the case to the top of "last activity"; returns its new ``activity_seq``."""
        ...

    async def delete_case(self, case_id: str) -> bool:
        """Delete a case and everything of it (envelopes, wraps, attachments, outbox, ...).

        Audit entries naming it stay: the audit log is append-only.
        """
        ...

    # -- assignments -------------------------------------------------------------

    async def assign_handler(self, case_id: str, handler: str) -> bool:
        """Assign a known handler to a case; False if already assigned."""
        ...

    async def unassign_handler(self, case_id: str, handler: str) -> bool:
        """Remove an assignment (delete the handler's wraps with ``delete_wraps`` too)."""
        ...

    async def list_case_handlers(self, case_id: str) -> list[str]:
        """Names of the handlers assigned to a case, sorted."""
        ...

    async def list_handler_cases(self, handler: str) -> list[str]:
        """Case ids assigned to a handler, most recently active first."""
        ...

    # -- envelopes and wraps -------------------------------------------------------

    async def add_envelope(
        self,
        message_id: bytes,
        case_id: str,
        direction: Direction,
        core: bytes,
        wraps: Mapping[bytes, bytes],
        *,
        now: datetime | None = None,
    ) -> Envelope:
        """Store a sealed message (core once, one wrap per key id) and touch the case.

        ConflictError if the message id exists; IntegrityError for an unknown case.
        """
        ...

    async def get_envelope(
        self, message_id: bytes, *, wraps: WrapSelection = "all"
    ) -> Envelope | None:
        """One envelope with the wraps selected: ``"all"``, ``"none"`` or one key id."""
        ...

    async def list_envelopes(
        self,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[Envelope]:
        """A case's envelopes in ``seq`` order (oldest first unless ``newest_first``)."""
        ...

    async def count_envelopes(self, case_id: str, *, direction: Direction | None = None) -> int: ...

    async def delete_envelope(self, message_id: bytes) -> bool:
        """Delete one envelope with its wraps and attachments."""
        ...

    async def delete_envelopes_before(self, day: date, *, case_id: str | None = None) -> int:
        """Retention: delete envelopes stored before ``day`` (all cases, or one)."""
        ...

    async def count_envelopes_before(self, day: date) -> int:
        """Retention, dry run: how many envelopes were stored before ``day``."""
        ...

    async def count_attachments_before(self, day: date) -> int:
        """Retention, dry run: attachments of the envelopes stored before ``day``."""
        ...

    async def last_envelope_seq(self) -> int:
        """The highest envelope ``seq`` handed out so far (0 in a new store)."""
        ...

    async def add_wraps(self, message_id: bytes, wraps: Mapping[bytes, bytes]) -> int:
        """Add wraps for more key ids; existing key ids are kept. Returns how many were new."""
        ...

    async def get_wraps(self, message_id: bytes, key_id: bytes | None = None) -> dict[bytes, bytes]:
        """key id → wrap for a message (all of them, or only ``key_id``'s)."""
        ...

    async def list_envelopes_lacking_wrap(
        self,
        key_id: bytes,
        *,
        case_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[Envelope]:
        """Envelopes (of one case, or all) with no wrap for ``key_id``, in seq order.

        This drives re-wrapping for a newly assigned handler or a rotated key.
        """
        ...

    async def delete_wraps(self, key_id: bytes, *, case_id: str | None = None) -> int:
        """Delete the wraps for a key id (everywhere, or in one case): revocation, rotation."""
        ...

    # -- read marks ----------------------------------------------------------------

    async def mark_read(self, case_id: str, handler: str, seq: int) -> None:
        """The handler has read the case up to ``seq``; a mark never moves back."""
        ...

    async def get_read_mark(self, case_id: str, handler: str) -> int:
        """The last ``seq`` the handler has read in the case; 0 if none."""
        ...

    async def read_marks(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]:
        """Per case: the last ``seq`` the handler has read (0 if none); one query."""
        ...

    async def unread_counts(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]:
        """Per case: messages from the source (direction ``in``) after the handler's mark."""
        ...

    # -- attachments -----------------------------------------------------------------

    async def add_attachment_chunk(
        self, attachment_id: bytes, message_id: bytes, index: int, chunk: bytes
    ) -> None:
        """Store one sealed chunk; all chunks of an attachment belong to one message."""
        ...

    async def list_attachments(self, message_id: bytes) -> list[Attachment]: ...

    async def read_attachment_chunks(
        self, attachment_id: bytes, *, start: int = 0, limit: int = 100
    ) -> list[bytes]:
        """Sealed chunks in index order, from chunk ``start``."""
        ...

    # -- durable intake: inbox ---------------------------------------------------------

    async def put_inbox(
        self, update_id: int, sealed_update: bytes, *, now: datetime | None = None
    ) -> bool:
        """Keep a sealed raw update; False if it is already held or was processed."""
        ...

    async def put_inbox_many(
        self, updates: Sequence[tuple[int, bytes]], *, now: datetime | None = None
    ) -> int:
        """``put_inbox`` for a whole batch, as one statement; returns how many were added."""
        ...

    async def list_inbox(self, *, limit: int = 100) -> list[InboxItem]:
        """Pending updates, lowest update id first."""
        ...

    async def count_inbox(self) -> int: ...

    async def finish_inbox(self, update_id: int, *, now: datetime | None = None) -> bool:
        """Delete the inbox row and remember the update id as processed.

        Call it in the transaction that applies the update's state change.
        Returns whether a row was there.
        """
        ...

    async def is_update_processed(self, update_id: int) -> bool: ...

    async def prune_processed_updates(self, *, before: date) -> int:
        """Forget processed update ids recorded before ``before``."""
        ...

    async def last_processed_update_on(self) -> date | None:
        """The UTC day the newest remembered update was processed, or None."""
        ...

    # -- dialogues -----------------------------------------------------------------

    async def put_dialogue(
        self, lookup_hash: bytes, sealed_state: bytes, *, expires_at: datetime
    ) -> None:
        """Create or replace the sealed dialogue state of a source."""
        ...

    async def get_dialogue(
        self, lookup_hash: bytes, *, now: datetime | None = None
    ) -> Dialogue | None:
        """The dialogue state, or None if there is none or it has expired."""
        ...

    async def delete_dialogue(self, lookup_hash: bytes) -> bool: ...

    async def delete_expired_dialogues(self, *, now: datetime | None = None) -> int: ...

    # -- reply delivery: outbox -------------------------------------------------------

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
        """Queue a reply sealed to the bot's delivery key (``message_id``: its stored copy;
        ``author``: the handler who wrote it, the only one who may cancel it)."""
        ...

    async def cancel_outbox(self, case_id: str, message_id: bytes, *, author: str) -> OutboxItem:
        """Withdraw a reply the relay has not claimed: delete its outbox item and its
        stored ``out`` envelope (kept only if an earlier outbox item of the same message,
        sent or failed, still refers to it). Returns the deleted item.

        Atomic against ``claim_outbox``: only a *pending* item is taken, in one write, so
        a reply ends up either cancelled or claimed, never both. A claimed item is refused
        even when its lease has run out, since a slow relay worker may still be sending
        it. NotFoundError if the case has no outbox item for ``message_id``;
        NotCancellableError (``reason``: claimed, sent, failed, not_author) otherwise.
        """
        ...

    async def claim_outbox(
        self, *, lease: timedelta, now: datetime | None = None
    ) -> OutboxItem | None:
        """Claim the next due item for ``lease``; None if nothing is due.

        Due: pending with ``not_before`` passed, or claimed with an expired
        lease. Items of one case go out in order: an item waits while an
        earlier item of its case is pending or claimed. Two claimers never
        hold the same item; the returned ``claim_token`` proves the claim.
        """
        ...

    async def mark_outbox_sent(
        self,
        outbox_id: int,
        claim_token: bytes,
        *,
        sent_ref: bytes,
        self_destruct_at: datetime | None = None,
    ) -> None:
        """Delivered: keep the sealed sent reference, wipe the envelope.

        LeaseLostError if the claim is no longer this one.
        """
        ...

    async def retry_outbox(
        self, outbox_id: int, claim_token: bytes, *, not_before: datetime, error: str
    ) -> None:
        """Back to pending until ``not_before``, with a short error code (e.g. ``http_429``)."""
        ...

    async def fail_outbox(self, outbox_id: int, claim_token: bytes, *, error: str) -> None:
        """Given up: status failed, envelope wiped, error code kept for the handler."""
        ...

    async def forget_chat_links(self, case_id: str, *, now: datetime | None = None) -> int:
        """The source ran /forget: every reference to their chat is to leave the store.

        Delivered replies' references become deletions due ``now`` (the bot's messages
        leave the chat, and their rows leave with them); the case's other deletions fall
        due now; pending replies fail as ``forgotten``. Returns the replies moved.
        """
        ...

    async def get_outbox(self, outbox_id: int) -> OutboxItem | None: ...

    async def list_outbox(
        self, case_id: str, *, after_id: int | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        """A case's outbox items, oldest first: delivery state for the console."""
        ...

    async def count_outbox_backlog(self) -> int:
        """Items still to deliver (pending or claimed)."""
        ...

    async def list_outbox_backlog(
        self, *, after_id: int | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        """Items still to deliver (pending or claimed), by ``outbox_id``: key rotation."""
        ...

    async def replace_outbox_envelope(self, outbox_id: int, old: bytes, new: bytes) -> bool:
        """Swap an undelivered item's envelope if it is still ``old`` (compare-and-set).

        A key rotation re-wraps replies for the relay's new delivery key this way.
        """
        ...

    # -- scheduled deletions ------------------------------------------------------------

    async def add_scheduled_deletion(
        self, case_id: str, sealed_ref: bytes, *, due_at: datetime, pinned: bool = False
    ) -> ScheduledDeletion:
        """A bot message to delete at ``due_at``. ``pinned``: only the clock makes it due;
        /panic, /forget and a move (``clear_chat``, ``forget_chat_links``) leave it be."""
        ...

    async def claim_due_deletions(
        self, *, lease: timedelta, limit: int = 50, now: datetime | None = None
    ) -> list[ScheduledDeletion]:
        """Due deletions (not claimed, or lease expired), claimed for ``lease``."""
        ...

    async def delete_scheduled_deletion(self, deletion_id: int) -> bool: ...

    async def count_scheduled_deletions(self, *, case_id: str | None = None) -> int: ...

    # -- handlers ------------------------------------------------------------------------

    async def add_handler(
        self,
        name: str,
        certificate: bytes,
        *,
        default_intake: bool = False,
        now: datetime | None = None,
    ) -> Handler:
        """ConflictError if the name is taken (also by a revoked handler)."""
        ...

    async def get_handler(self, name: str) -> Handler | None: ...

    async def list_handlers(self, *, status: HandlerStatus | None = None) -> list[Handler]:
        """Handlers sorted by name."""
        ...

    async def revoke_handler(self, name: str) -> None:
        """Status revoked and no longer a default intake handler; assignments stay."""
        ...

    async def set_handler_default_intake(self, name: str, on: bool) -> None:
        """Only an active handler can become a default intake handler."""
        ...

    async def set_handler_certificate(self, name: str, certificate: bytes) -> None:
        """A new certificate for an active handler (key rotation).

        The certificate it replaces is kept (``list_past_certificates``), so what the
        handler signed with the earlier key still verifies.
        """
        ...

    async def list_past_certificates(self, *, name: str | None = None) -> list[PastCertificate]:
        """Replaced handler certificates (all handlers, or one), oldest first."""
        ...

    # -- the signed roster -------------------------------------------------------------------

    async def list_roster(self, *, after: int = 0, limit: int = 1000) -> list[bytes]:
        """Roster entries after seq ``after``, in order (the first is seq after + 1).

        Unverified: readers verify them (core/roster.py) before they act on any.
        """
        ...

    async def roster_length(self) -> int:
        """The seq of the last roster entry (0 for none)."""
        ...

    async def append_roster(self, seq: int, entry: bytes) -> None:
        """Append entry ``seq``; ConflictError unless it directly follows the last one."""
        ...

    # -- relay keys ------------------------------------------------------------------------

    async def add_relay_key(
        self,
        purpose: KeyPurpose,
        version: int,
        public: bytes,
        *,
        status: KeyStatus = KeyStatus.ACTIVE,
        now: datetime | None = None,
    ) -> RelayKey:
        """ConflictError if this purpose already has this version."""
        ...

    async def get_relay_key(self, purpose: KeyPurpose, version: int) -> RelayKey | None: ...

    async def list_relay_keys(
        self, *, purpose: KeyPurpose | None = None, status: KeyStatus | None = None
    ) -> list[RelayKey]:
        """Sorted by purpose, then version."""
        ...

    async def set_relay_key_status(
        self,
        purpose: KeyPurpose,
        version: int,
        status: KeyStatus,
        *,
        last_seq: int | None = None,
    ) -> None:
        """Change a key's status; ``last_seq`` (kept once set) bounds a retired signing key."""
        ...

    # -- key rotation: values sealed under one relay key version -------------------------

    async def list_sealed(
        self,
        kind: SealedKind,
        *,
        except_version: int,
        after: int | None = None,
        limit: int = 100,
    ) -> list[SealedItem]:
        """Values of ``kind`` that are not at key version ``except_version``.

        A value is at version v when it starts with v as a u32 (big-endian); a lookup
        hash also has to be 36 bytes long. Pass the last item's ``position`` as
        ``after`` for the next page.
        """
        ...

    async def count_sealed(self, kind: SealedKind, *, except_version: int) -> int: ...

    async def replace_sealed(
        self, kind: SealedKind, changes: Sequence[tuple[str, bytes, bytes]]
    ) -> int:
        """Compare-and-set many values: ``(key, old, new)``; a row whose value is no
        longer ``old`` is left alone, and so is a lookup hash another case already
        has. Returns how many were replaced."""
        ...

    # -- audit -------------------------------------------------------------------------------

    async def append_audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: str | None = None,
        detail: str = "",
        now: datetime | None = None,
    ) -> AuditEntry:
        """Append to the hash-chained audit log.

        ``detail`` is one short line (≤ 200 characters) — never message
        content or a Telegram id.
        """
        ...

    async def list_audit(
        self,
        *,
        case_id: str | None = None,
        action: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries (of one case, of one action), oldest first."""
        ...

    async def clear_chat(self, case_id: str, *, now: datetime | None = None) -> int:
        """The source pressed /panic: every bot message the store knows of is to leave the
        chat now. Delivered replies' references become deletions due ``now`` (and leave
        the outbox); the case's other deletions fall due now. Unlike `forget_chat_links`,
        the case keeps its chat and pending replies stay pending. Returns the replies moved.
        """
        ...


class Store(StoreOperations, Protocol):
    """A case store: the operations plus transactions and lifecycle."""

    def transaction(self) -> AbstractAsyncContextManager[StoreOperations]:
        """``async with store.transaction() as tx:`` — all of ``tx``'s calls commit together.

        The block rolls back entirely if it raises. Transactions do not nest,
        and inside one, calls must go through ``tx``, not the store
        (TransactionError).
        """
        ...

    async def schema_version(self) -> int: ...

    async def verify_audit_chain(self) -> AuditVerification:
        """Walk the whole audit chain; report the first altered or missing entry."""
        ...

    async def checkpoint(self) -> None:
        """Flush write-ahead data into the main file and empty the log, so deleted
        rows do not linger there (a no-op where the backend has no such log)."""
        ...

    async def close(self) -> None:
        """Close the store; waits for a transaction in progress. Idempotent."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the store."""
        ...
