"""The identity firewall's first gate: from a Telegram update, keep only what the relay needs.

Names, usernames, phone numbers and Telegram's language_code are never copied out of the
update, nor anything of a forward's origin but its kind (ADR 0077). The user id is kept
only long enough to compute the keyed lookup hash, and the chat id only to be sealed for
reply delivery; neither is ever stored or logged as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from telegram import Bot, CallbackQuery, Message, MessageEntity, MessageOriginChannel, Update

from core.payload import forward_origin


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    PHOTO = "photo"
    DOCUMENT = "document"
    VIDEO = "video"
    ANIMATION = "animation"
    AUDIO = "audio"
    VOICE = "voice"
    VIDEO_NOTE = "video_note"
    STICKER = "sticker"
    DICE = "dice"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"


# Content the relay seals and passes to handlers; the rest is refused with an explanation.
ATTACHMENT_KINDS = frozenset(
    {Kind.PHOTO, Kind.DOCUMENT, Kind.VIDEO, Kind.ANIMATION, Kind.AUDIO, Kind.VOICE, Kind.VIDEO_NOTE}
)


class FileRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    file_id: str
    size: int | None = None
    name: str | None = None
    mime: str | None = None


class Incoming(BaseModel):
    """One update, reduced to what the relay may use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    update_id: int
    user_id: Annotated[int, Field(repr=False)]
    chat_id: Annotated[int, Field(repr=False)]
    kind: Kind
    message_id: int | None = None
    text: Annotated[str, Field(repr=False)] = ""
    command: str | None = None
    command_args: Annotated[str, Field(repr=False)] = ""
    callback_id: str | None = None
    callback_data: Annotated[str, Field(repr=False)] = ""
    file: FileRef | None = None
    edited: bool = False
    media_group_id: str | None = None
    # The forwarded message's origin, reduced to its kind (core.payload.forward_origin).
    forward_origin: Annotated[dict[str, object] | None, Field(repr=False)] = None


def _origin(message: Message) -> dict[str, object] | None:
    """What a forward keeps of its origin (ADR 0077): the kind, nothing that names anyone.

    A forward of the source's own message would otherwise carry their own Telegram name
    (``sender_user``, or ``sender_user_name`` if they hide their account), and a forward
    from a group or private channel names a place the source belongs to. Only a public
    channel keeps its public title, username, post number and date.
    """
    origin = message.forward_origin
    if origin is None:
        return _legacy_origin(message.api_kwargs)
    if isinstance(origin, MessageOriginChannel):
        data = origin.to_dict()
        return forward_origin(
            "channel",
            chat_title=origin.chat.title,
            chat_username=origin.chat.username,
            message_id=origin.message_id,
            date=_int(data.get("date")),
        )
    return forward_origin(str(origin.type))


def _legacy_origin(extra: Mapping[str, object]) -> dict[str, object] | None:
    """The same from the fields the Bot API had before forward_origin (before 7.0), which
    python-telegram-bot leaves in ``api_kwargs``: an old self-hosted Bot API server."""
    chat = extra.get("forward_from_chat")
    if isinstance(chat, Mapping):
        if chat.get("type") != "channel":
            return forward_origin("chat")
        username, title = chat.get("username"), chat.get("title")
        return forward_origin(
            "channel",
            chat_title=title if isinstance(title, str) else None,
            chat_username=username if isinstance(username, str) else None,
            message_id=_int(extra.get("forward_from_message_id")),
            date=_int(extra.get("forward_date")),
        )
    if "forward_from" in extra:
        return forward_origin("user")
    if "forward_sender_name" in extra:
        return forward_origin("hidden_user")
    if "forward_date" in extra:
        return forward_origin("other")
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _command(message: Message) -> tuple[str | None, str]:
    text = message.text or ""
    entities = message.entities or ()
    first = entities[0] if entities else None
    if first is None or first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None, ""
    word = text[1 : first.length]
    name = word.split("@", 1)[0].lower()
    return name, text[first.length :].strip()


def _file_and_kind(message: Message) -> tuple[Kind, FileRef | None]:
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return Kind.PHOTO, FileRef(
            file_id=largest.file_id, size=largest.file_size, mime="image/jpeg"
        )
    simple: tuple[tuple[Kind, str], ...] = (
        (Kind.ANIMATION, "animation"),  # before document: Telegram sets both for GIFs
        (Kind.DOCUMENT, "document"),
        (Kind.VIDEO, "video"),
        (Kind.AUDIO, "audio"),
        (Kind.VOICE, "voice"),
        (Kind.VIDEO_NOTE, "video_note"),
    )
    for kind, attr in simple:
        media = getattr(message, attr, None)
        if media is not None:
            return kind, FileRef(
                file_id=media.file_id,
                size=media.file_size,
                name=getattr(media, "file_name", None),
                mime=getattr(media, "mime_type", None),
            )
    for kind, attr in (
        (Kind.STICKER, "sticker"),
        (Kind.DICE, "dice"),
        (Kind.LOCATION, "location"),
        (Kind.LOCATION, "venue"),
        (Kind.CONTACT, "contact"),
    ):
        if getattr(message, attr, None) is not None:
            return kind, None
    if message.text is not None:
        return Kind.TEXT, None
    return Kind.OTHER, None


def _from_message(update_id: int, message: Message, *, edited: bool) -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot or message.chat.type != "private":
        return None
    if message.message_auto_delete_timer_changed is not None:
        return None  # the source turned Telegram's auto-delete on or off: nothing to take
    kind, file = _file_and_kind(message)
    command, args = (None, "")
    if kind is Kind.TEXT and not edited:
        command, args = _command(message)
        if command is not None:
            kind = Kind.COMMAND
    return Incoming(
        update_id=update_id,
        user_id=user.id,
        chat_id=message.chat.id,
        kind=kind,
        message_id=message.message_id,
        text=message.text or message.caption or "",
        command=command,
        command_args=args,
        file=file,
        edited=edited,
        media_group_id=message.media_group_id,
        forward_origin=_origin(message),
    )


def _from_callback(update_id: int, query: CallbackQuery) -> Incoming | None:
    message = query.message
    if query.from_user.is_bot or message is None or message.chat.type != "private":
        return None
    return Incoming(
        update_id=update_id,
        user_id=query.from_user.id,
        chat_id=message.chat.id,
        kind=Kind.BUTTON,
        message_id=message.message_id,
        callback_id=query.id,
        callback_data=query.data or "",
    )


class MalformedUpdate(ValueError):
    """A raw update that is not the shape the Bot API promises; drop it, never retry it."""


def parse_update(raw: bytes, bot: Bot) -> Incoming | None:
    """Raw update JSON to the relay's view: the one border for untrusted update data.

    python-telegram-bot's ``de_json`` fails in many ways on data off the Bot API spec
    (AttributeError, TypeError, KeyError, ValueError...); all of them become
    ``MalformedUpdate`` here, so a caller catches exactly one thing.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        raise MalformedUpdate("not JSON") from None
    if not isinstance(data, dict):
        raise MalformedUpdate("an update is a JSON object")
    try:
        update = Update.de_json(data, bot)
        return extract(update) if update is not None else None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise MalformedUpdate(type(exc).__name__) from None


def extract(update: Update) -> Incoming | None:
    """The relay's view of an update; None for anything it does not serve (groups, channels)."""
    if update.message is not None:
        return _from_message(update.update_id, update.message, edited=False)
    if update.edited_message is not None:
        return _from_message(update.update_id, update.edited_message, edited=True)
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query)
    return None
