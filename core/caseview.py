"""What a case officer sees change in a case, read from the store: one definition for the
console on the store (handlers/local.py) and for the gateway that serves remote consoles.

Both compute the same things from the same rows, so they live here, in the room both may
import: the source's events (which audit actions are meant for the case's officers) and a
case's marker (a string that changes when anything an officer sees of the case does).
"""

from __future__ import annotations

from typing import Final

from store import AuditEntry, Case, StoreOperations

__all__ = ["EVENT_ACTIONS", "case_marker", "source_events"]

#: Audit actions of a case meant for its officers: what the source did. Who replied, read
#: or exported stays in the admin's audit log.
EVENT_ACTIONS: Final = (
    "source-forgot",
    "source-recovered",
    "source-recover-refused",
    "source-language",
)
_SCAN: Final = 1000


async def source_events(ops: StoreOperations, case_id: str) -> list[AuditEntry]:
    """The case's audit entries with one of ``EVENT_ACTIONS``, oldest first."""
    found: list[AuditEntry] = []
    for action in EVENT_ACTIONS:
        after: int | None = None
        while True:
            page = await ops.list_audit(
                case_id=case_id, action=action, after_seq=after, limit=_SCAN
            )
            found += page
            if len(page) < _SCAN:
                break
            after = page[-1].seq
    return sorted(found, key=lambda e: e.seq)


async def case_marker(ops: StoreOperations, case: Case) -> str:
    """One case's state as a string that changes when anything the officer sees of it does:
    status, flags, activity, delivery states of its replies, source events."""
    outbox: list[str] = []
    after: int | None = None
    while True:
        items = await ops.list_outbox(case.case_id, after_id=after, limit=_SCAN)
        outbox += [f"{i.outbox_id}:{i.status.value}:{i.attempts}" for i in items]
        if len(items) < _SCAN:
            break
        after = items[-1].outbox_id
    events = await source_events(ops, case.case_id)
    flags = ",".join(sorted(f.value for f in case.flags))
    last = events[-1].seq if events else 0
    return f"{case.status.value}|{flags}|{case.activity_seq}|{';'.join(outbox)}|{last}"
