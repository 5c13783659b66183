"""Search in decrypted content, in memory only (ADR 0091).

The store holds ciphertext, so only the console can search what was said. It looks at the
officer's :data:`RECENT_CASES` most recently active cases (any status): each case's
envelopes are verified and decrypted exactly as the thread does (handlers.thread), and
their text (messages, replies, notes, labels, attachment names, intake answers) is kept
in the session's memory (:class:`~handlers.session.SessionMemory`) so the next search
decrypts only what arrived since. Nothing is written: no index file, no cache, no temp
file, no log line with a term or a text. Locking the console drops the index with the
session; the process's memory is the one place it lives (an honest limit: memory can be
swapped out by the operating system, as the thread shown on screen can).

Decrypting a case is reading it: the first search of the day records a ``read`` audit
entry for each case it opens (handlers.cases.record_reading), as opening the case would.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import store

from ._errors import UsageError
from .cases import record_reading
from .session import Session
from .thread import ThreadItem, open_items

__all__ = [
    "RECENT_CASES",
    "CaseTexts",
    "Hit",
    "SearchResult",
    "search_content",
]

#: How many of the officer's most recently active cases a search looks in.
RECENT_CASES: Final = 200
#: The most hits a search returns (newest first).
MAX_HITS: Final = 200
_PAGE: Final = 500
_SNIPPET: Final = 60


@dataclass(frozen=True)
class Entry:
    """One message's searchable text, as decrypted, on one line (untrusted: render before
    showing); ``folded`` is it case-folded, what a query is matched against."""

    seq: int
    direction: store.Direction
    kind: str
    created: datetime | None
    author: str | None
    text: str = field(repr=False)
    folded: str = field(repr=False)


@dataclass
class CaseTexts:
    """A case's decrypted text, in memory: every envelope up to ``seq`` is in ``entries``,
    read when the case's activity counter was ``activity``."""

    seq: int = 0
    activity: int = -1
    entries: list[Entry] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Hit:
    case_id: str
    seq: int
    direction: store.Direction
    kind: str
    created: datetime | None
    author: str | None
    #: Some text around the first match (untrusted).
    snippet: str = field(repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "case_id": self.case_id,
            "seq": self.seq,
            "direction": self.direction.value,
            "kind": self.kind,
            "created": None if self.created is None else self.created.isoformat(),
            "author": self.author,
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...]
    cases: int
    messages: int
    #: More hits than MAX_HITS: the oldest were left out.
    truncated: bool
    seconds: float


def _searchable(item: ThreadItem) -> str:
    parts = [item.text]
    parts += [ref.name for ref in item.attachments if ref.name]
    parts += [a.answer or a.choice or "" for a in item.answers]
    return "\n".join(p for p in parts if p)


def _entries(items: Iterable[ThreadItem]) -> list[Entry]:
    out = []
    for item in items:
        if not item.readable:
            continue
        text = " ".join(_searchable(item).split())  # one line: runs of whitespace as one
        if text:
            out.append(
                Entry(
                    item.seq,
                    item.direction,
                    item.kind,
                    item.created,
                    item.author,
                    text,
                    text.casefold(),
                )
            )
    return out


async def _case_texts(session: Session, case: store.Case) -> CaseTexts:
    """The case's text, decrypting only the envelopes the session has not read yet (none if
    nothing happened in the case since: every message touches its case's activity)."""
    case_id = case.case_id
    known = session.memory.texts.get(case_id)
    if known is not None and known.activity == case.activity_seq:
        return known
    if known is None:
        await record_reading(session, case_id)  # before anything of it is decrypted
        known = CaseTexts()
    activity = case.activity_seq
    while True:
        page = await session.reader.list_envelopes(
            case_id, after_seq=known.seq or None, limit=_PAGE, wraps=session.me.key_id
        )
        if page:
            items = await open_items(session, page, {})
            known.entries += _entries(items)
            known.seq = page[-1].seq
        if len(page) < _PAGE:
            break
    # Only now: a read that failed halfway must be read again next time, not taken as done.
    known.activity = activity
    if not session.memory.closed:  # (locked meanwhile: forget it)
        session.memory.texts[case_id] = known
    return known


def _snippet(entry: Entry, at: int, length: int) -> str:
    start = max(0, at - _SNIPPET // 2)
    end = min(len(entry.text), at + length + _SNIPPET // 2)
    text = entry.text[start:end]
    return ("…" if start else "") + text + ("…" if end < len(entry.text) else "")


async def search_content(
    session: Session, query: str, *, recent: int = RECENT_CASES, max_hits: int = MAX_HITS
) -> SearchResult:
    """Messages of the officer's ``recent`` most recently active cases whose decrypted
    text contains ``query`` (ignoring case), newest case first, newest message first."""
    wanted = " ".join(query.split()).casefold()
    if len(wanted) < 2:
        raise UsageError("type at least 2 characters to search for")
    began = time.perf_counter()
    await session.workspace.refresh()
    cases = await session.reader.list_cases(handler=session.name, limit=recent)
    mine = [c for c in cases if session.name in session.workspace.trust.assigned(c.case_id)]
    hits: list[Hit] = []
    messages = 0
    for case in mine:
        texts = await _case_texts(session, case)
        messages += len(texts.entries)
        for entry in reversed(texts.entries):
            at = entry.folded.find(wanted)
            if at < 0:
                continue
            hits.append(
                Hit(
                    case.case_id,
                    entry.seq,
                    entry.direction,
                    entry.kind,
                    entry.created,
                    entry.author,
                    _snippet(entry, at, len(wanted)),
                )
            )
    return SearchResult(
        query=query,
        hits=tuple(hits[:max_hits]),
        cases=len(mine),
        messages=messages,
        truncated=len(hits) > max_hits,
        seconds=time.perf_counter() - began,
    )
