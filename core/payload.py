"""What goes inside a sealed envelope's body: small JSON documents, the same for every client.

The envelope (crypto/) protects bytes; this module says what those bytes mean. JSON keeps
the format portable (a future Mini App sealing on the source's phone writes the same),
and a strict model means a body that does not match is refused, never half-read.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

BODY_VERSION = 1

# What a forwarded message keeps of where it came from (ADR 0077): the kind of origin, as
# the Bot API names it, and nothing else — no name, id, username, signature or date —
# except for a public channel (one with a username): its public title and address, the
# post's number and its date, so that an officer can find the post.
FORWARD_KINDS: Final = ("user", "hidden_user", "chat", "channel")
FORWARD_OTHER: Final = "other"  # a kind Telegram added after this code was written
PUBLIC_CHANNEL_FIELDS: Final = ("chat_title", "chat_username", "message_id", "date")


def forward_origin(
    kind: str,
    *,
    chat_title: str | None = None,
    chat_username: str | None = None,
    message_id: int | None = None,
    date: int | None = None,
) -> dict[str, object]:
    """A forward's origin as a body keeps it: ``{"type": kind}``; a public channel (one
    with ``chat_username``) also keeps its title, username, post number and date."""
    kind = kind if kind in FORWARD_KINDS else FORWARD_OTHER
    if kind != "channel" or not chat_username:
        return {"type": kind}
    out: dict[str, object] = {"type": kind, "chat_title": chat_title or ""}
    out["chat_username"] = chat_username
    if message_id is not None:
        out["message_id"] = message_id
    if date is not None:
        out["date"] = date
    return out


class BodyError(ValueError):
    """A decrypted body is not a writein body this code understands."""


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttachmentRef(_Body):
    """A sealed attachment: its chunks are stored apart, opened with ``key``."""

    id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    name: Annotated[str, Field(max_length=255)] = ""
    mime: Annotated[str, Field(max_length=127)] = "application/octet-stream"
    size: Annotated[int, Field(ge=0)]
    chunks: Annotated[int, Field(ge=1)]
    key: str  # base64 of the attachment's 32-byte key
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    metadata_stripped: bool = False

    @property
    def key_bytes(self) -> bytes:
        return base64.b64decode(self.key, validate=True)


class IntakeAnswer(_Body):
    question: str
    answer: Annotated[str, Field(max_length=4096)] = ""
    choice: str | None = None
    skipped: bool = False


class SourceMessage(_Body):
    """Direction IN: something the source sent (or an intake answer)."""

    v: Literal[1] = 1
    type: Literal["source"] = "source"
    kind: str
    text: Annotated[str, Field(max_length=4096)] = ""
    # The source's Telegram message id: not an identity, it links an edit to what it edits.
    ref: int | None = None
    edit: bool = False
    # ``forward_origin``: what ``forward_origin()`` makes. Bodies sealed before ADR 0077
    # may hold more (a sender's name, a chat's title) and still decode as they were.
    forward_origin: dict[str, object] | None = None
    media_group: str | None = None
    attachments: tuple[AttachmentRef, ...] = ()
    answers: tuple[IntakeAnswer, ...] = ()
    language: str | None = None


class Reply(_Body):
    """Direction OUT: a handler's reply for the relay to deliver."""

    v: Literal[1] = 1
    type: Literal["reply"] = "reply"
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    self_destruct_seconds: Annotated[int, Field(ge=1, le=47 * 3600)] | None = None


class Note(_Body):
    """Direction NOTE: an internal note among the case's handlers, never sent."""

    v: Literal[1] = 1
    type: Literal["note"] = "note"
    text: Annotated[str, Field(min_length=1, max_length=20000)]


Body = SourceMessage | Reply | Note
_TYPES: dict[str, type[SourceMessage] | type[Reply] | type[Note]] = {
    "source": SourceMessage,
    "reply": Reply,
    "note": Note,
}


def encode_body(body: Body) -> bytes:
    return json.dumps(
        body.model_dump(mode="json", exclude_defaults=False),
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    ).encode("utf-8")


def decode_body(data: bytes) -> Body:
    """Parse a decrypted body; anything unexpected is one BodyError."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BodyError("not a writein body") from None
    if not isinstance(raw, dict) or raw.get("v") != BODY_VERSION:
        raise BodyError("not a writein body")
    model = _TYPES.get(str(raw.get("type")))
    if model is None:
        raise BodyError("not a writein body")
    try:
        return model.model_validate(raw)
    except ValidationError:
        raise BodyError("not a writein body") from None
