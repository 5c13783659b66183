"""Reading a case: verify and decrypt its envelopes into thread items.

This is where source messages become plaintext, in memory only. Each envelope is
checked before it is opened (crypto.open_envelope): signed by the relay (incoming) or by
a certified handler (replies, notes — revoked handlers' old ones included), sealed for
this case and direction, and wrapped for this officer's key. Anything that fails, or
whose body is not what its direction promises, becomes an *unreadable* item: shown as
such, never half-read.

The thread is read in pages, newest first, so opening a case of 10,000 messages opens
only the screenful the officer sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

import store
from core.payload import AttachmentRef, BodyError, IntakeAnswer, Note, Reply, SourceMessage
from core.payload import decode_body as _decode_body
from crypto import Direction, Envelope, InvalidEnvelope, open_envelope

from .labels import CaseLabel, decode_label
from .session import Session

__all__ = [
    "DIRECTIONS",
    "ThreadItem",
    "ThreadPage",
    "delivery_states",
    "load_intake",
    "load_page",
    "load_thread",
    "open_items",
]

#: The store's direction → the envelope header's.
DIRECTIONS: Final = {
    store.Direction.IN: Direction.IN,
    store.Direction.OUT: Direction.OUT,
    store.Direction.NOTE: Direction.NOTE,
}
_BODY_FOR: Final = {
    store.Direction.IN: SourceMessage,
    store.Direction.OUT: Reply,
    store.Direction.NOTE: Note,
}
_INTAKE_SCAN: Final = 50


@dataclass(frozen=True)
class ThreadItem:
    """One message of a case, opened (or marked unreadable). All text is untrusted."""

    message_id: bytes
    seq: int
    direction: store.Direction
    readable: bool
    created: datetime | None = None
    kind: str = "text"
    text: str = field(default="", repr=False)
    edit: bool = False
    #: The source's Telegram message id an edit refers to.
    ref: int | None = None
    #: A later message in view is an edit of this one.
    edited_later: bool = False
    forward_origin: Mapping[str, object] | None = field(default=None, repr=False)
    attachments: tuple[AttachmentRef, ...] = field(default=(), repr=False)
    answers: tuple[IntakeAnswer, ...] = field(default=(), repr=False)
    #: The handler who signed a reply or note.
    author: str | None = None
    self_destruct_seconds: int | None = None
    #: A reply's delivery: pending, claimed, sent or failed (with the relay's code).
    delivery: str | None = None
    #: A label record (kind ``label``, ADR 0090): the label and tags an officer set.
    label: CaseLabel | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, object]:
        labelled: dict[str, object] = {}
        if self.label is not None:
            labelled = {"label": self.label.label, "tags": list(self.label.tags)}
        return labelled | {
            "id": self.message_id.hex(),
            "seq": self.seq,
            "direction": self.direction.value,
            "kind": self.kind if self.readable else "unreadable",
            "text": self.text,
            "created": None if self.created is None else self.created.isoformat(),
            "edit": self.edit,
            "edited_later": self.edited_later,
            "forward_origin": None if self.forward_origin is None else dict(self.forward_origin),
            "attachments": [
                {"id": a.id, "name": a.name, "size": a.size, "mime": a.mime}
                for a in self.attachments
            ],
            "author": self.author,
            "self_destruct_seconds": self.self_destruct_seconds,
            "delivery": self.delivery,
        }


def _time(created: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _unreadable(envelope: store.Envelope) -> ThreadItem:
    return ThreadItem(
        message_id=envelope.message_id,
        seq=envelope.seq,
        direction=envelope.direction,
        readable=False,
        kind="unreadable",
    )


def open_item(session: Session, envelope: store.Envelope) -> ThreadItem:
    """Verify and decrypt one stored envelope (CPU only: call it off the event loop)."""
    direction = DIRECTIONS[envelope.direction]
    signers = session.workspace.signers
    try:
        opened = open_envelope(
            Envelope(envelope.core, envelope.wraps),
            recipient=session.me.encryption,
            trusted_signers=signers.for_direction(direction, envelope.seq),
            expect_case_id=envelope.case_id,
            expect_direction=direction,
        )
        if opened.header.message_id != envelope.message_id:
            raise InvalidEnvelope  # noqa: TRY301 (the same verdict as every other defect)
        label = decode_label(opened.plaintext) if direction is Direction.NOTE else None
        if label is not None:
            return ThreadItem(
                message_id=envelope.message_id,
                seq=envelope.seq,
                direction=envelope.direction,
                readable=True,
                created=_time(opened.header.created),
                kind="label",
                text=label.words(),
                author=signers.author(opened.header.signer_key_id),
                label=label,
            )
        body = _decode_body(opened.plaintext)
    except (InvalidEnvelope, BodyError, ValueError):
        return _unreadable(envelope)
    if not isinstance(body, _BODY_FOR[envelope.direction]):
        return _unreadable(envelope)
    base = ThreadItem(
        message_id=envelope.message_id,
        seq=envelope.seq,
        direction=envelope.direction,
        readable=True,
        created=_time(opened.header.created),
    )
    if isinstance(body, SourceMessage):
        return replace(
            base,
            kind=body.kind,
            text=body.text,
            edit=body.edit,
            ref=body.ref,
            forward_origin=body.forward_origin,
            attachments=body.attachments,
            answers=body.answers,
        )
    author = signers.author(opened.header.signer_key_id)
    if isinstance(body, Reply):
        return replace(
            base, text=body.text, author=author, self_destruct_seconds=body.self_destruct_seconds
        )
    return replace(base, kind="note", text=body.text, author=author)


def _mark_edits(items: Sequence[ThreadItem]) -> list[ThreadItem]:
    """Flag messages that a later message in view edits (same Telegram ref)."""
    edited: set[int] = set()
    out: list[ThreadItem] = []
    for item in reversed(items):
        if item.ref is not None and item.ref in edited and item.direction is store.Direction.IN:
            item = replace(item, edited_later=True)
        if item.edit and item.ref is not None:
            edited.add(item.ref)
        out.append(item)
    out.reverse()
    return out


async def open_items(
    session: Session, envelopes: Iterable[store.Envelope], deliveries: Mapping[bytes, str]
) -> list[ThreadItem]:
    """Open envelopes in a worker thread, oldest first, with delivery states filled in."""
    batch = list(envelopes)
    items = await asyncio.to_thread(lambda: [open_item(session, e) for e in batch])
    return [
        replace(i, delivery=deliveries[i.message_id]) if i.message_id in deliveries else i
        for i in items
    ]


async def delivery_states(session: Session, case_id: str) -> dict[bytes, str]:
    """Message id → delivery state of the case's replies (from the outbox)."""
    states: dict[bytes, str] = {}
    after: int | None = None
    while True:
        items = await session.reader.list_outbox(case_id, after_id=after, limit=1000)
        for item in items:
            if item.message_id is not None:
                state = item.status.value
                if item.last_error and item.status is store.OutboxStatus.FAILED:
                    state += f" ({item.last_error})"
                states[item.message_id] = state
        if len(items) < 1000:
            return states
        after = items[-1].outbox_id


@dataclass(frozen=True)
class ThreadPage:
    items: tuple[ThreadItem, ...]  # oldest first
    #: Pass as ``before_seq`` for the page before this one; None when this is the start.
    older_cursor: int | None


async def load_page(
    session: Session,
    case_id: str,
    *,
    before_seq: int | None = None,
    limit: int = 50,
    deliveries: Mapping[bytes, str] | None = None,
) -> ThreadPage:
    """The ``limit`` messages before ``before_seq`` (the newest ones by default)."""
    envelopes = await session.reader.list_envelopes(
        case_id,
        before_seq=before_seq,
        newest_first=True,
        limit=limit + 1,
        wraps=session.me.key_id,
    )
    more = len(envelopes) > limit
    envelopes = envelopes[:limit][::-1]
    if deliveries is None:
        deliveries = await delivery_states(session, case_id)
    items = _mark_edits(await open_items(session, envelopes, deliveries))
    return ThreadPage(tuple(items), envelopes[0].seq if more and envelopes else None)


async def load_thread(session: Session, case_id: str, *, page_size: int = 500) -> list[ThreadItem]:
    """The whole thread, oldest first (for ``show``; the TUI reads pages)."""
    deliveries = await delivery_states(session, case_id)
    items: list[ThreadItem] = []
    after: int | None = None
    while True:
        envelopes = await session.reader.list_envelopes(
            case_id, after_seq=after, limit=page_size, wraps=session.me.key_id
        )
        items += await open_items(session, envelopes, deliveries)
        if len(envelopes) < page_size:
            return _mark_edits(items)
        after = envelopes[-1].seq


async def load_intake(session: Session, case_id: str) -> tuple[IntakeAnswer, ...]:
    """The intake answers.

    The relay seals them one per question (kind ``intake``) right after consent, so
    only the start of the case is read: up to the first other incoming message.
    """
    envelopes = await session.reader.list_envelopes(
        case_id, limit=_INTAKE_SCAN, wraps=session.me.key_id
    )
    answers: list[IntakeAnswer] = []
    for envelope in envelopes:
        if envelope.direction is not store.Direction.IN:
            continue
        [item] = await open_items(session, [envelope], {})
        if item.readable and not item.answers and item.kind != "intake":
            break
        answers += item.answers
    return tuple(answers)
