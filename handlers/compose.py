"""Writing to a case: replies for the source, internal notes for colleagues.

A reply is a ``Reply`` body sealed as direction OUT, signed by the officer, for the
relay's newest delivery key and every assigned handler. One transaction stores it in
the case (handlers' wraps only: the thread shows it), queues it in the outbox (the
relay's wrap only: the relay delivers it) and writes the audit entry — so a reply is
either in the thread and on its way, or nowhere.

A note is a ``Note`` body sealed as direction NOTE for the assigned handlers only; it
never reaches the relay's outbox.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

import store
from core.i18n import catalog
from core.payload import Note, Reply, encode_body
from crypto import Direction, EncryptionPublicKey, Envelope, seal
from store import CaseFlag, CaseStatus, StoreOperations

from ._errors import ConsoleError, UsageError
from .cases import require_assigned
from .session import Session

__all__ = [
    "MAX_SELF_DESTRUCT_SECONDS",
    "Sent",
    "format_duration",
    "parse_duration",
    "preview",
    "send_note",
    "send_reply",
]

MAX_SELF_DESTRUCT_SECONDS: Final = 47 * 3600
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION: Final = re.compile(r"(\d{1,6})\s*([smhd])")
_MESSAGE_ID_SIZE: Final = 16


@dataclass(frozen=True)
class Sent:
    message_id: bytes
    #: Something the officer should know: the source blocked the bot, or ran /forget.
    warning: str | None = None


def parse_duration(text: str) -> int:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1h30m"``, ``"1d"`` → seconds (1 s … 47 h)."""
    compact = text.strip().lower().replace(" ", "")
    if compact.isdigit():
        compact += "s"
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise UsageError("a self-destruct time looks like 90s, 30m, 1h or 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if not 1 <= seconds <= MAX_SELF_DESTRUCT_SECONDS:
        raise UsageError("a self-destruct time is between 1 second and 47 hours")
    return seconds


def format_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes else []
    parts += [f"{secs}s"] if secs or not parts else []
    return "".join(parts)


def preview(language: str, text: str) -> str:
    """What the source will see, in their language (plain text, before any escaping)."""
    return catalog(language).plain("reply.body", text=text)


def _reply_body(text: str, self_destruct_seconds: int | None) -> Reply:
    if not text.strip():
        raise UsageError("the reply is empty")
    try:
        return Reply(text=text, self_destruct_seconds=self_destruct_seconds)
    except ValidationError:
        raise UsageError(
            "a reply is 1–4000 characters, and self-destructs within 47 hours"
        ) from None


def _note_body(text: str) -> Note:
    if not text.strip():
        raise UsageError("the note is empty")
    try:
        return Note(text=text)
    except ValidationError:
        raise UsageError("a note is 1–20000 characters") from None


async def _handler_keys(
    session: Session, ops: StoreOperations, case_id: str
) -> list[EncryptionPublicKey]:
    names = await ops.list_case_handlers(case_id)
    keys = [k for n in names if (k := session.workspace.encryption_key(n)) is not None]
    if session.me.encryption.public.key_id not in {k.key_id for k in keys}:
        keys.append(session.me.encryption.public)
    return keys


def _warning(flags: frozenset[CaseFlag]) -> str | None:
    if CaseFlag.FORGOTTEN in flags:
        return "the source ran /forget: the relay may no longer be able to deliver this"
    if CaseFlag.UNREACHABLE in flags:
        return "the source has blocked the bot: this reply may not arrive"
    return None


async def send_reply(
    session: Session, case_id: str, text: str, *, self_destruct_seconds: int | None = None
) -> Sent:
    """Seal, store and queue a reply to the source (see the module docstring)."""
    body = encode_body(_reply_body(text, self_destruct_seconds))
    await session.workspace.refresh()
    relay_key = session.workspace.relay_delivery_key()
    message_id = secrets.token_bytes(_MESSAGE_ID_SIZE)
    async with session.store.transaction() as tx:
        case = await require_assigned(session, case_id, ops=tx)
        if case.status is CaseStatus.CLOSED:
            raise ConsoleError(f"case {case.case_id} is closed: reopen it to reply")
        handlers = await _handler_keys(session, tx, case.case_id)
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
        await tx.enqueue_outbox(case.case_id, for_relay.to_bytes(), message_id=message_id)
        await tx.append_audit(session.actor, "reply", case_id=case.case_id)
    return Sent(message_id, _warning(case.flags))


async def send_note(session: Session, case_id: str, text: str) -> Sent:
    """Seal and store an internal note for the case's handlers."""
    await session.workspace.refresh()
    body = encode_body(_note_body(text))
    message_id = secrets.token_bytes(_MESSAGE_ID_SIZE)
    async with session.store.transaction() as tx:
        case = await require_assigned(session, case_id, ops=tx)
        sealed = seal(
            body,
            case_id=case.case_id,
            direction=Direction.NOTE,
            recipients=await _handler_keys(session, tx, case.case_id),
            signer=session.me.signing,
            message_id=message_id,
        )
        await tx.add_envelope(
            message_id, case.case_id, store.Direction.NOTE, sealed.core, dict(sealed.wraps)
        )
        await tx.append_audit(session.actor, "note", case_id=case.case_id)
    return Sent(message_id)
