"""The officer's cases: access checks, the paginated list, search.

A handler works on the cases assigned to them; everything here reads only metadata
(case ids, status, flags, read marks), never a message. Lists are pages of the store's
keyset pagination (most recently active first), so a console with 100,000 cases reads
one page at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Final

from core.caseid import parse_case_id
from store import Case, CaseFlag, CaseStatus, StoreOperations

from ._errors import NotAssignedError, UnknownCaseError
from .port import Reads
from .session import Session

__all__ = [
    "ATTENTION_SCAN",
    "FILTER_SCAN",
    "PAGE_SIZE",
    "CasePage",
    "CaseSummary",
    "View",
    "canonical_case_id",
    "count_cases",
    "iter_cases",
    "list_cases",
    "list_view",
    "needs_attention",
    "record_reading",
    "require_assigned",
    "search_cases",
]

PAGE_SIZE: Final = 100
#: How many of the most recently active closed cases are looked at for new messages.
ATTENTION_SCAN: Final = 100
_SCAN_PAGE: Final = 1000
#: How many cases one filtered page looks at, at most, before it shows what it found
#: (the next page looks further): a filter never makes the console wait on 100,000 cases.
FILTER_SCAN: Final = 5000


class View(StrEnum):
    """Which of the officer's cases the list shows (ADR 0091), besides status and flag."""

    ALL = "all"
    #: Something the officer has not read.
    UNREAD = "unread"
    #: The newest message (notes aside) is the source's.
    AWAITING = "awaiting"
    #: The officer is the case's only officer.
    MINE = "mine"
    #: The officer shares the case with colleagues.
    TEAM = "team"


@dataclass(frozen=True)
class CaseSummary:
    """One row of the case list."""

    case_id: str
    status: CaseStatus
    unread: int
    last_activity: date
    flags: frozenset[CaseFlag]
    #: The officer has never opened the case.
    new: bool
    assigned: tuple[str, ...]
    language: str
    activity_seq: int

    def flag_names(self) -> list[str]:
        names = ["new"] if self.new else []
        return names + sorted(flag.value for flag in self.flags)

    def to_json(self) -> dict[str, object]:
        return {
            "case_id": self.case_id,
            "status": self.status.value,
            "unread": self.unread,
            "last_activity": self.last_activity.isoformat(),
            "assigned": list(self.assigned),
            "flags": self.flag_names(),
            "language": self.language,
        }


@dataclass(frozen=True)
class CasePage:
    items: tuple[CaseSummary, ...]
    #: Pass as ``before`` for the next page; None on the last page.
    next_cursor: int | None


def canonical_case_id(text: str) -> str:
    """A case id as typed (any case, spaces, look-alike letters) in canonical form."""
    try:
        return parse_case_id(text.strip())
    except ValueError:
        return text.strip()


async def _find_case(db: Reads | StoreOperations, typed: str) -> Case | None:
    """The case a typed id names: exactly as typed, else in canonical form."""
    for candidate in dict.fromkeys((typed.strip(), canonical_case_id(typed))):
        try:
            case = await db.get_case(candidate)
        except ValueError:  # not even shaped like a case id
            continue
        if case is not None:
            return case
    return None


async def require_assigned(
    session: Session, case_id: str, *, ops: StoreOperations | None = None
) -> Case:
    """The case (``case_id`` as typed), if it exists and is assigned to this officer.

    Pass ``ops`` to check inside a transaction.
    """
    db = session.reader if ops is None else ops
    case = await _find_case(db, case_id)
    if case is None:
        raise UnknownCaseError(f"no case {canonical_case_id(case_id)}")
    if ops is None:  # (inside a transaction the caller has refreshed before it began)
        await session.workspace.refresh()  # a colleague may have just handed it over
    if session.name not in session.workspace.trust.assigned(case.case_id):
        raise NotAssignedError(f"case {case.case_id} is not assigned to you")
    return case


async def _summaries(
    session: Session, cases: list[Case], *, with_assigned: bool = True
) -> tuple[CaseSummary, ...]:
    store = session.reader
    trust = session.workspace.trust
    # The store's assignment rows only find candidates: the signed roster decides, so a
    # row written into the store shows no case to an officer it does not assign.
    cases = [c for c in cases if session.name in trust.assigned(c.case_id)]
    ids = [c.case_id for c in cases]
    unread = await store.unread_counts(session.name, ids) if ids else {}
    marks = await store.read_marks(session.name, ids) if ids else {}
    items = []
    for case in cases:
        mark = marks.get(case.case_id, 0)
        assigned = sorted(trust.assigned(case.case_id)) if with_assigned else []
        items.append(
            CaseSummary(
                case_id=case.case_id,
                status=case.status,
                unread=unread.get(case.case_id, 0),
                last_activity=case.last_activity_on,
                flags=case.flags,
                new=mark == 0,
                assigned=tuple(assigned),
                language=case.language,
                activity_seq=case.activity_seq,
            )
        )
    return tuple(items)


async def list_cases(
    session: Session,
    *,
    status: CaseStatus | None = None,
    flag: CaseFlag | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    with_assigned: bool = True,
) -> CasePage:
    """One page of the officer's cases, most recently active first."""
    await session.workspace.refresh()
    cases = await session.reader.list_cases(
        status=status, flag=flag, handler=session.name, before_activity=before, limit=limit
    )
    items = await _summaries(session, cases, with_assigned=with_assigned)
    cursor = cases[-1].activity_seq if len(cases) == limit else None
    return CasePage(items, cursor)


async def count_cases(
    session: Session, *, status: CaseStatus | None = None, flag: CaseFlag | None = None
) -> int:
    return await session.reader.count_cases(status=status, flag=flag, handler=session.name)


async def iter_cases(
    session: Session,
    *,
    status: CaseStatus | None = None,
    flag: CaseFlag | None = None,
    page_size: int = _SCAN_PAGE,
) -> AsyncIterator[CaseSummary]:
    """Every case of the officer, page by page."""
    await session.workspace.refresh()
    cursor: int | None = None
    while True:
        cases = await session.reader.list_cases(
            status=status, flag=flag, handler=session.name, before_activity=cursor, limit=page_size
        )
        for item in await _summaries(session, cases):
            yield item
        if len(cases) < page_size:
            return
        cursor = cases[-1].activity_seq


async def search_cases(
    session: Session,
    query: str,
    *,
    status: CaseStatus | None = None,
    flag: CaseFlag | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[CaseSummary, ...]:
    """Cases whose id contains ``query`` (ignoring case and dashes), most recent first.

    A complete case id is one lookup; a fragment walks the officer's case ids a
    thousand at a time, without reading anything else.
    """
    wanted = "".join(ch for ch in query.upper() if ch.isalnum())
    if not wanted:
        return ()
    try:
        case = await _find_case(session.reader, query)
    except NotAssignedError:  # a gateway says so at once: nothing of it to list
        return ()
    if case is not None:
        if (
            (status is None or case.status is status)
            and (flag is None or flag in case.flags)
            and session.name in session.workspace.trust.assigned(case.case_id)
        ):
            return await _summaries(session, [case])
        return ()
    found: list[Case] = []
    cursor: int | None = None
    while len(found) < limit:
        cases = await session.reader.list_cases(
            status=status,
            flag=flag,
            handler=session.name,
            before_activity=cursor,
            limit=_SCAN_PAGE,
        )
        found += [c for c in cases if wanted in c.case_id.replace("-", "")]
        if len(cases) < _SCAN_PAGE:
            break
        cursor = cases[-1].activity_seq
    return await _summaries(session, found[:limit])


async def needs_attention(
    session: Session, *, limit: int = ATTENTION_SCAN
) -> tuple[CaseSummary, ...]:
    """Closed cases of the officer that received a message they have not read (ADR 0084).

    A message moves its case to the top of "last activity", so the most recently active
    closed cases are where such a case is: the first ``limit`` of them are looked at.
    """
    cases = await session.reader.list_cases(
        status=CaseStatus.CLOSED, handler=session.name, limit=limit
    )
    return tuple(item for item in await _summaries(session, cases) if item.unread)


async def record_reading(session: Session, case_id: str) -> None:
    """The audit entry of the officer opening the case, before anything of it is decrypted:
    once a UTC day per case and console (the audit log keeps the day only, ADR 0084).
    If it cannot be written, the case is not opened (the error goes to the caller)."""
    today = datetime.now(UTC).date()
    logged = session.workspace.read_logged
    if (case_id, today) in logged:
        return
    await session.workspace.port.opened(session, case_id)
    logged.add((case_id, today))


async def _matching(session: Session, view: View, cases: list[Case]) -> dict[str, CaseSummary]:
    """Those of ``cases`` (one store page) in ``view``, by case id."""
    trust = session.workspace.trust
    if view is View.MINE:
        cases = [c for c in cases if trust.assigned(c.case_id) == {session.name}]
    elif view is View.TEAM:
        cases = [c for c in cases if trust.assigned(c.case_id) - {session.name}]
    items = await _summaries(session, cases) if cases else ()
    if view is View.UNREAD:
        items = tuple(item for item in items if item.unread)
    elif view is View.AWAITING and items:
        waiting = await session.workspace.port.awaiting(session, [i.case_id for i in items])
        items = tuple(item for item in items if item.case_id in waiting)
    return {item.case_id: item for item in items}


async def list_view(
    session: Session,
    view: View,
    *,
    status: CaseStatus | None = None,
    flag: CaseFlag | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    scan: int = FILTER_SCAN,
) -> CasePage:
    """One page of the officer's cases in ``view``, most recently active first.

    The store keeps no unread, awaiting or team column, so the cases are walked in order of
    last activity, a thousand at a time, and kept if they match: until ``limit`` match or
    ``scan`` were looked at. ``next_cursor`` then continues after the last one looked at
    (None: there are no more).
    """
    if view is View.ALL:
        return await list_cases(session, status=status, flag=flag, before=before, limit=limit)
    await session.workspace.refresh()
    found: list[CaseSummary] = []
    cursor = before
    looked = 0
    while True:
        size = min(_SCAN_PAGE, scan - looked)
        cases = await session.reader.list_cases(
            status=status, flag=flag, handler=session.name, before_activity=cursor, limit=size
        )
        matching = await _matching(session, view, cases)
        for case in cases:
            looked += 1
            cursor = case.activity_seq
            if case.case_id in matching:
                found.append(matching[case.case_id])
                if len(found) == limit:
                    return CasePage(tuple(found), cursor)
        if len(cases) < size:
            return CasePage(tuple(found), None)
        if looked >= scan:
            return CasePage(tuple(found), cursor)
