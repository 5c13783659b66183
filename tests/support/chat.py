"""What the bot's messages look like in a telesim chat."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from core.i18n import catalog
from telesim import ChatMessage, SimUser


def plain(html: str) -> str:
    """A catalogue message as the user sees it (Telegram HTML rendered to text)."""
    return (
        re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def said(language: str, key: str, **fmt: object) -> str:
    """What the bot's message ``key`` looks like in the chat."""
    return plain(catalog(language).gettext(key, **fmt))


def code_text(message: ChatMessage) -> str:
    """The text of the message's first ``code`` entity (offsets count UTF-16 units)."""
    entity = next(e for e in message.entities if e["type"] == "code")
    units = (message.text or "").encode("utf-16-le")
    start, length = 2 * entity["offset"], 2 * entity["length"]
    return units[start : start + length].decode("utf-16-le")


def has_button(message: ChatMessage, data: str) -> bool:
    """Whether the message offers a button with this callback data."""
    return any(b.callback_data == data for row in message.buttons for b in row)


READ = "read:"  # bot.delivery.READ_PREFIX: a quiet reply's button


def read_button(message: ChatMessage) -> str | None:
    """The callback data of a quiet reply's Read button, if the message has one."""
    return next(
        (
            b.callback_data
            for row in message.buttons
            for b in row
            if b.callback_data and b.callback_data.startswith(READ)
        ),
        None,
    )


def notices(user: SimUser) -> list[ChatMessage]:
    """The quiet replies' notices in the chat (messages with a Read button)."""
    return [m for m in user.bot_messages() if read_button(m) is not None]


async def tap_to_read(user: SimUser, notice: ChatMessage) -> None:
    """Press a quiet reply's Read button (the relay must then run to show the reply)."""
    data = read_button(notice)
    assert data is not None, f"message {notice.message_id} has no Read button"
    await user.press_button(notice.message_id, data)


async def read_latest_reply(user: SimUser, pump: Callable[[], Awaitable[None]]) -> ChatMessage:
    """Tap the newest quiet reply's Read button, let the relay run, return what it showed."""
    found = notices(user)
    assert found, "no quiet reply arrived"
    await tap_to_read(user, found[-1])
    await pump()
    shown = user.last_bot_message()
    assert shown is not None
    return shown
