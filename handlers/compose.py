"""Writing to a case: replies for the source, internal notes for colleagues.

A reply is a ``Reply`` body sealed as direction OUT, signed by the officer, for the
relay's newest delivery key and every assigned handler. One transaction stores it in
the case (handlers' wraps only: the thread shows it), queues it in the outbox (the
relay's wrap only: the relay delivers it) and writes the audit entry — so a reply is
either in the thread and on its way, or nowhere.

A note is a ``Note`` body sealed as direction NOTE for the assigned handlers only; it
never reaches the relay's outbox.

A reply can be cancelled by the officer who wrote it until the relay claims it
(:func:`cancel_reply`, ADR 0078): its outbox item and its stored copy go, in one
transaction with the audit entry, and the thread no longer shows it.

The store is written through the workspace's port (handlers.port): these transactions on
this box (handlers.local), or one signed request to the console gateway, which writes the
same rows (handlers.remote).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

from pydantic import ValidationError

from core.i18n import catalog
from core.payload import Note, Reply, encode_body
from crypto import EncryptionPublicKey
from store import CaseFlag, NotCancellableError

from ._errors import ConsoleError, UnknownCaseError, UsageError
from .cases import require_assigned
from .session import Session

__all__ = [
    "MAX_SELF_DESTRUCT_SECONDS",
    "SHORTEST_ID",
    "TELEGRAM_LIMIT",
    "Cancelled",
    "Sent",
    "cancel_refusal",
    "cancel_reply",
    "find_reply",
    "format_duration",
    "handler_keys",
    "parse_duration",
    "preview",
    "send_note",
    "send_reply",
    "telegram_length",
    "too_long",
]

MAX_SELF_DESTRUCT_SECONDS: Final = 47 * 3600
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION: Final = re.compile(r"(\d{1,6})\s*([smhd])")
_MESSAGE_ID_SIZE: Final = 16
SHORTEST_ID: Final = 8  # hex digits of a reply id that `console cancel` accepts
#: The longest message Telegram sends, in UTF-16 code units of its text (entities parsed).
TELEGRAM_LIMIT: Final = 4096


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


def telegram_length(language: str, text: str) -> int:
    """How Telegram counts the reply the relay will send: UTF-16 code units of the rendered
    text (the ``reply.body`` wording around it, tags dropped, as the source sees it)."""
    return len(preview(language, text).encode("utf-16-le")) // 2


def too_long(language: str, text: str) -> str | None:
    """Why Telegram would refuse this reply, or None: it is refused before it is queued."""
    length = telegram_length(language, text)
    if length <= TELEGRAM_LIMIT:
        return None
    return (
        f"the reply is too long for Telegram: {length:,} of at most {TELEGRAM_LIMIT:,} units "
        "as Telegram counts them (UTF-16: most emoji count 2), with the wording around it; "
        f"shorten it by {length - TELEGRAM_LIMIT:,} or send it in parts"
    )


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


def handler_keys(session: Session, case_id: str) -> list[EncryptionPublicKey]:
    """The keys a reply or note of the case is sealed for: its assigned officers' and mine."""
    names = session.workspace.trust.assigned(case_id)  # the signed roster, not a row
    keys = [k for n in sorted(names) if (k := session.workspace.encryption_key(n)) is not None]
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
    """Seal, store and queue a reply to the source (see the module docstring); a reply
    Telegram would refuse for its length is refused here, before it is queued."""
    body = encode_body(_reply_body(text, self_destruct_seconds))
    case = await require_assigned(session, case_id)
    if (why := too_long(case.language, text)) is not None:
        raise UsageError(why)
    await session.workspace.refresh()
    relay_key = session.workspace.relay_delivery_key()
    message_id = secrets.token_bytes(_MESSAGE_ID_SIZE)
    case = await session.workspace.port.reply(session, case_id, body, relay_key, message_id)
    return Sent(message_id, _warning(case.flags))


async def send_note(session: Session, case_id: str, text: str) -> Sent:
    """Seal and store an internal note for the case's handlers."""
    await session.workspace.refresh()
    body = encode_body(_note_body(text))
    message_id = secrets.token_bytes(_MESSAGE_ID_SIZE)
    await session.workspace.port.note(session, case_id, body, message_id)
    return Sent(message_id)


# -- cancelling a reply ------------------------------------------------------------------


@dataclass(frozen=True)
class Cancelled:
    case_id: str
    message_id: bytes
    #: Something the officer should know: an earlier attempt may have reached the source.
    warning: str | None = None


def cancel_refusal(exc: NotCancellableError, case_id: str, message_id: bytes) -> ConsoleError:
    what = f"reply {message_id.hex()[:SHORTEST_ID]} in case {case_id} cannot be cancelled"
    if exc.reason == "claimed":
        return ConsoleError(f"{what}: the relay is sending it now")
    if exc.reason == "sent":
        return ConsoleError(f"{what}: the relay has already sent it to the source")
    if exc.reason == "failed":
        return ConsoleError(f"{what}: it failed and was never delivered, nothing is queued")
    if exc.author is None:
        return ConsoleError(f"{what}: it was queued before writein recorded who wrote a reply")
    return ConsoleError(f"{what}: only its author, {exc.author}, can cancel it")


async def find_reply(session: Session, case_id: str, typed: str) -> tuple[str, bytes]:
    """The case (canonical id) and the reply a typed id names: the whole id as `reply`
    and `show --json` print it (32 hex digits), or its first 8 or more digits."""
    case = await require_assigned(session, case_id)
    wanted = typed.strip().lower()
    if not (SHORTEST_ID <= len(wanted) <= 2 * _MESSAGE_ID_SIZE) or any(
        ch not in "0123456789abcdef" for ch in wanted
    ):
        raise UsageError(
            "a reply id is 32 hexadecimal digits, or at least its first 8 "
            "(`console reply` prints it; `console show` lists it)"
        )
    found: set[bytes] = set()
    after: int | None = None
    while True:
        items = await session.reader.list_outbox(case.case_id, after_id=after, limit=1000)
        found |= {
            i.message_id for i in items if i.message_id and i.message_id.hex().startswith(wanted)
        }
        if len(items) < 1000:
            break
        after = items[-1].outbox_id
    if not found:
        raise UnknownCaseError(f"no reply {wanted} in case {case.case_id}")
    if len(found) > 1:
        raise UsageError(f"{wanted} names {len(found)} replies in case {case.case_id}: type more")
    return case.case_id, found.pop()


async def cancel_reply(session: Session, case_id: str, message_id: bytes) -> Cancelled:
    """Cancel this officer's queued reply before the relay claims it (ADR 0078).

    The outbox item and the stored copy are deleted and the audit entry written in one
    transaction; if the relay has claimed, sent or given up on the reply, or another
    officer wrote it, nothing changes and the ConsoleError says why.
    """
    case = await require_assigned(session, case_id)
    cut_off = await session.workspace.port.cancel(session, case.case_id, message_id)
    warning = None
    if cut_off:
        warning = (
            "an earlier attempt to send it was cut off on the network: "
            "it may have reached the source already"
        )
    return Cancelled(case.case_id, message_id, warning)
