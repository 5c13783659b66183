"""What the bot's messages look like in a telesim chat."""

from __future__ import annotations

import re

from core.i18n import catalog
from telesim import ChatMessage


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
