"""Labels and tags: officers' own words for a case, sealed like a note (ADR 0090).

A label is a short line ("Ministry tender") and a few tags ("procurement", "urgent") that
the officers of a case give it so they can tell 33 cases apart. It is a *label record*: a
note (direction NOTE, signed by the officer, wrapped for the case's assigned officers
only, never for the relay) whose body is :class:`CaseLabel` instead of
``core.payload.Note``. It goes through the port's existing note path (``Port.note``: the
store transaction on this box, ``POST /v1/cases/{case}/notes`` through the gateway, with
the gateway's signature and roster checks), so no store table, column or endpoint is new.
The newest label record of a case is its label; a record with an empty label and no tags
clears it. The thread shows each record ("label set by …"), so changes are visible.

Finding the current label reads the case's notes newest first (``Port.notes``: one indexed
count for a case without a note) and opens them until a label record appears. What was
found is kept in the session's memory (:class:`~handlers.session.SessionMemory`) with the
case's activity counter: a case whose activity has not moved is not read again, one that
has is read only above what was read.
Nothing of it is written anywhere; locking the console drops it with the session.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._errors import UsageError
from .cases import require_assigned
from .session import Session

__all__ = [
    "MAX_LABEL",
    "MAX_TAG",
    "MAX_TAGS",
    "CaseLabel",
    "KnownLabel",
    "current_labels",
    "decode_label",
    "encode_label",
    "label_of",
    "parse_tags",
    "set_label",
]

MAX_LABEL: Final = 60
MAX_TAG: Final = 24
MAX_TAGS: Final = 8
_PAGE: Final = 100
_MESSAGE_ID_SIZE: Final = 16


def _printable(text: str) -> bool:
    return all(ch.isprintable() for ch in text)


class CaseLabel(BaseModel):
    """The body of a label record (JSON, like every body: docs/protocol.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    type: Literal["label"] = "label"
    label: Annotated[str, Field(max_length=MAX_LABEL)] = ""
    tags: Annotated[tuple[str, ...], Field(max_length=MAX_TAGS)] = ()

    @field_validator("label")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not _printable(value) or value != value.strip():
            raise ValueError("a label is one line of printable text")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if (
                not 1 <= len(tag) <= MAX_TAG
                or not _printable(tag)
                or any(ch.isspace() or ch == "," for ch in tag)
            ):
                raise ValueError("a tag is 1-24 printable characters, no spaces or commas")
        if len({t.casefold() for t in value}) != len(value):
            raise ValueError("a tag appears twice")
        return value

    @property
    def empty(self) -> bool:
        return not self.label and not self.tags

    def words(self) -> str:
        """The label and its tags as one line: ``Ministry tender · #procurement #urgent``."""
        tags = " ".join(f"#{t}" for t in self.tags)
        return " · ".join(part for part in (self.label, tags) if part)


def encode_label(label: CaseLabel) -> bytes:
    return json.dumps(
        label.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"), sort_keys=True
    ).encode("utf-8")


def decode_label(plaintext: bytes) -> CaseLabel | None:
    """The label record in a decrypted note body; None if the body is not one (a plain note,
    or anything that does not match: never half-read)."""
    try:
        raw = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict) or raw.get("type") != "label":
        return None
    try:
        return CaseLabel.model_validate(raw)
    except ValidationError:
        return None


def parse_tags(text: str | Iterable[str]) -> tuple[str, ...]:
    """Tags as typed (``"urgent, procurement"`` or a list), without ``#``, in order, once
    each (case-insensitively)."""
    parts = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    seen: dict[str, str] = {}
    for part in parts:
        tag = part.strip().lstrip("#")
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return tuple(seen.values())


def make_label(label: str, tags: str | Iterable[str]) -> CaseLabel:
    """A label record from what the officer typed; UsageError says what is wrong."""
    try:
        return CaseLabel(label=" ".join(label.split()), tags=parse_tags(tags))
    except ValidationError:
        raise UsageError(
            f"a label is one line of printable text (no control or direction characters), "
            f"at most {MAX_LABEL} characters; at most {MAX_TAGS} tags of 1-{MAX_TAG} "
            "such characters each, without spaces or commas"
        ) from None


async def set_label(
    session: Session, case_id: str, label: str, tags: str | Iterable[str] = ()
) -> CaseLabel:
    """Seal a label record for the case's officers and store it through the note path.
    An empty label with no tags clears the case's label."""
    record = make_label(label, tags)
    case = await require_assigned(session, case_id)
    await session.workspace.refresh()
    message_id = secrets.token_bytes(_MESSAGE_ID_SIZE)
    await session.workspace.port.note(session, case.case_id, encode_label(record), message_id)
    session.memory.labels.pop(case.case_id, None)  # read it again, with its seq
    return record


@dataclass(frozen=True)
class KnownLabel:
    """What the session knows of a case's label: as of ``activity`` (the case's activity
    counter when it was read), everything up to envelope ``seq`` read."""

    activity: int
    seq: int
    label: CaseLabel | None
    author: str | None = None


async def _newest_label(
    session: Session, case_id: str, above: int
) -> tuple[int, CaseLabel | None, str | None]:
    """(highest note seq seen, the newest label record above ``above``, its author)."""
    from .thread import open_items  # (thread imports labels for label items)

    highest = above
    before: int | None = None
    while True:
        notes = await session.workspace.port.notes(
            session, case_id, after_seq=above or None, before_seq=before, limit=_PAGE
        )
        if notes:
            highest = max(highest, notes[0].seq)
        for item in await open_items(session, notes, {}):  # newest first, as listed
            if item.readable and item.label is not None:
                return highest, item.label, item.author
        if len(notes) < _PAGE:
            return highest, None, None
        before = notes[-1].seq


async def label_of(session: Session, case_id: str, activity: int) -> KnownLabel:
    """The case's current label (``activity``: the case's activity counter now), read only
    as far as the session does not know it yet."""
    known = session.memory.labels.get(case_id)
    if known is not None and known.activity == activity:
        return known
    above = 0 if known is None else known.seq
    highest, found, author = await _newest_label(session, case_id, above)
    if found is None and known is not None:
        fresh = KnownLabel(activity, highest, known.label, known.author)
    else:
        fresh = KnownLabel(activity, highest, found, author)
    if not session.memory.closed:
        session.memory.labels[case_id] = fresh
    return fresh


async def current_labels(
    session: Session, cases: Iterable[tuple[str, int]]
) -> dict[str, CaseLabel]:
    """Case id → its label, for those of ``(case id, activity counter)`` that have one."""
    out: dict[str, CaseLabel] = {}
    for case_id, activity in cases:
        known = await label_of(session, case_id, activity)
        if known.label is not None and not known.label.empty:
            out[case_id] = known.label
    return out
