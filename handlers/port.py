"""The console's two ways to reach the store: what it reads, and the one port it writes through.

- :class:`Reads` — the store's read methods the console calls, exactly as
  ``store.StoreOperations`` has them: the local store is one, ``handlers.remote.RemoteStore``
  (the console gateway, ADR 0079) the other.
- :class:`Port` — every write, and the reads that need more than the store's signature
  (an attachment's chunks, found through its message): ``handlers.local.LocalPort`` runs the
  store transactions on this box, ``handlers.remote.GatewayPort`` sends one signed request.

Both sides check what the officer may do against the verified roster; the port only carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

# The audit actions meant for a case's officers: what the source did (ADR 0084).
from core.caseview import EVENT_ACTIONS
from crypto import EncryptionPublicKey
from store import Case, CaseFlag, CaseStatus, Envelope, OutboxItem, WrapSelection

if TYPE_CHECKING:
    from .session import Session

__all__ = ["EVENT_ACTIONS", "CaseEvent", "Port", "Pulse", "Reads"]


@dataclass(frozen=True)
class Pulse:
    """What changed, cheaply: compared with the last one, it says whether to load again.

    ``activity`` is the newest activity among the officer's cases (a message in or out),
    ``roster`` the length of the signed roster (assignments, enrolments), ``case`` an
    opaque marker of one case's state (status, flags, delivery states, source events).
    """

    activity: int
    roster: int
    case: str = ""


@dataclass(frozen=True)
class CaseEvent:
    """Something the source did, from the audit log (which keeps the UTC day only)."""

    seq: int
    on: date
    action: str


class Reads(Protocol):
    """What the console reads; the signatures are ``store.StoreOperations``'s."""

    async def get_setting(self, key: str) -> str | None: ...

    async def list_roster(self, *, after: int = 0, limit: int = 1000) -> list[bytes]: ...

    async def get_case(self, case_id: str) -> Case | None: ...

    async def list_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
        before_activity: int | None = None,
        limit: int = 50,
    ) -> list[Case]: ...

    async def count_cases(
        self,
        *,
        status: CaseStatus | None = None,
        flag: CaseFlag | None = None,
        handler: str | None = None,
    ) -> int: ...

    async def unread_counts(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]: ...

    async def read_marks(self, handler: str, case_ids: Sequence[str]) -> dict[str, int]: ...

    async def list_envelopes(
        self,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[Envelope]: ...

    async def list_envelopes_lacking_wrap(
        self,
        key_id: bytes,
        *,
        case_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        wraps: WrapSelection = "all",
    ) -> list[Envelope]: ...

    async def list_outbox(
        self, case_id: str, *, after_id: int | None = None, limit: int = 100
    ) -> list[OutboxItem]: ...

    async def close(self) -> None: ...


class Port(Protocol):
    """Every write of the console, on this box or through the gateway.

    Each method checks the officer's assignment itself (handlers.cases.require_assigned,
    against the verified roster) and raises ConsoleErrors only.
    """

    #: Where the store is, for messages: the store's URL, or the gateway's.
    where: str

    async def reply(
        self,
        session: Session,
        case_id: str,
        body: bytes,
        relay_key: EncryptionPublicKey,
        message_id: bytes,
    ) -> Case:
        """Seal, store and queue a reply; the case as it was when it was stored."""
        ...

    async def note(self, session: Session, case_id: str, body: bytes, message_id: bytes) -> str:
        """Seal and store a note; the case's canonical id."""
        ...

    async def cancel(self, session: Session, case_id: str, message_id: bytes) -> bool:
        """Withdraw the officer's own queued reply; True if an earlier attempt to send it
        was cut off on the network (it may have arrived)."""
        ...

    async def assign(
        self,
        session: Session,
        case_id: str,
        handler: str,
        target: EncryptionPublicKey,
        *,
        hand_over: bool,
    ) -> tuple[int, int, bool]:
        """Re-wrap the case for ``handler`` and record it: (re-wrapped, unreadable, added)."""
        ...

    async def set_status(self, session: Session, case_id: str, status: CaseStatus) -> bool: ...

    async def mark_read(self, session: Session, case_id: str, seq: int) -> None: ...

    async def attachment_known(self, attachment_id: bytes) -> bool | None:
        """Whether the store holds the attachment anywhere (None: this port cannot tell)."""
        ...

    async def read_chunks(
        self,
        case_id: str,
        message_id: bytes | None,
        attachment_id: bytes,
        *,
        start: int,
        limit: int,
    ) -> list[bytes]: ...

    async def exported(
        self, session: Session, case_id: str, message_id: bytes | None, attachment_id: bytes
    ) -> None:
        """The audit entry of an export."""
        ...

    async def pulse(self, session: Session, case_id: str | None = None) -> Pulse:
        """What changed since the last look (one small read; ``case_id``: also that case's
        marker, if it is assigned to the officer)."""
        ...

    async def awaiting(self, session: Session, case_ids: Sequence[str]) -> set[str]:
        """Those of the officer's cases whose newest message (notes aside) is the source's."""
        ...

    async def case_events(self, session: Session, case_id: str) -> list[CaseEvent]:
        """What the source did in the case (``EVENT_ACTIONS``), oldest first."""
        ...

    async def opened(self, session: Session, case_id: str) -> None:
        """The audit entry of the officer reading the case."""
        ...

    async def notes(
        self,
        session: Session,
        case_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[Envelope]:
        """The case's NOTE envelopes (notes and label records, ADR 0090) between the two
        seqs, newest first, with the officer's wrap only; the case must be theirs."""
        ...
