"""What a console may send: every request body, checked field by field before anything
is written. Bytes travel as standard base64; anything else, an unknown field, a missing
one or a wrong size is refused with one message naming the field (never its value)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Final, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from crypto import KEY_ID_SIZE

__all__ = [
    "MAX_BODY",
    "BadBody",
    "CancelBody",
    "ExportBody",
    "MessageWrap",
    "NoteBody",
    "ReadBody",
    "ReplyBody",
    "RosterBody",
    "StatusBody",
    "Wrap",
    "WrapsBody",
    "parse",
]

#: The largest request body the gateway reads (aiohttp's ``client_max_size``).
MAX_BODY: Final = 1024 * 1024
_MAX_CORE: Final = 512 * 1024  # a note of 20,000 characters pads to 128 KiB
_MAX_WRAP: Final = 4096  # an X-Wing wrap is 1,168 bytes
_MAX_WRAPS: Final = 64
_MAX_ENTRY: Final = 70 * 1024  # a roster statement is at most 64 KiB, plus its signature
_MAX_REWRAPS: Final = 200  # the console's batch (handlers.manage)


def _base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")  # noqa: TRY004 (pydantic wants ValueError)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


KeyId = Annotated[
    bytes, BeforeValidator(_base64), Field(min_length=KEY_ID_SIZE, max_length=KEY_ID_SIZE)
]
WrapBytes = Annotated[bytes, BeforeValidator(_base64), Field(min_length=1, max_length=_MAX_WRAP)]
Core = Annotated[bytes, BeforeValidator(_base64), Field(min_length=1, max_length=_MAX_CORE)]
Entry = Annotated[bytes, BeforeValidator(_base64), Field(min_length=1, max_length=_MAX_ENTRY)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Wrap(_Body):
    key_id: KeyId
    wrap: WrapBytes


class NoteBody(_Body):
    """An internal note: the sealed core and a wrap per assigned officer."""

    core: Core
    wraps: list[Wrap] = Field(min_length=1, max_length=_MAX_WRAPS)


class ReplyBody(NoteBody):
    """A reply: as a note, plus the wrap for the relay's delivery key in force."""

    relay_wrap: Wrap


class ReadBody(_Body):
    """The officer has read the case up to ``seq``."""

    seq: int = Field(ge=0, le=2**62)


class RosterBody(_Body):
    """One roster entry the officer signed (assign or leave)."""

    entry: Entry


MessageId = Annotated[bytes, BeforeValidator(_base64), Field(min_length=16, max_length=16)]


class MessageWrap(_Body):
    message_id: MessageId
    wrap: WrapBytes


class WrapsBody(_Body):
    """New wraps, for one colleague's key, of envelopes of the case (after assigning them)."""

    key_id: KeyId
    wraps: list[MessageWrap] = Field(min_length=1, max_length=_MAX_REWRAPS)


class StatusBody(_Body):
    """Close or reopen the case."""

    status: Literal["open", "closed"]


class CancelBody(_Body):
    """Withdraw the officer's own queued reply."""

    message_id: MessageId


class ExportBody(_Body):
    """An attachment of a message of the case that the officer exported."""

    message_id: MessageId
    attachment_id: MessageId


class BadBody(ValueError):
    """The body is not what the endpoint takes; the message names the field."""


M = TypeVar("M", bound=_Body)


def parse(model: type[M], body: bytes) -> M:
    """The body as ``model``, or BadBody with one line that never quotes the input."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadBody("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadBody("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadBody(f"{where}: {first['msg']}") from None
