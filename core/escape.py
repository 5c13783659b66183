"""Escape untrusted text for Telegram messages sent with a parse mode.

This is the one place that makes text safe for Telegram's formatting parsers
(STYLE.md §10). Everything the bot sends with ``parse_mode`` goes through it:
values filled into catalogue messages (`core.i18n` does this for you), handler
replies, anything a user or handler typed.

- `escape_html` for ``ParseMode.HTML``: Telegram requires only ``&``, ``<`` and
  ``>`` to be replaced by entities; with ``quote=True`` also ``"`` (needed only
  inside an attribute value such as ``<a href="...">``).
- `escape_markdown_v2` for ``ParseMode.MARKDOWN_V2``, with the three escaping
  contexts Telegram defines (ordinary text, ``code``/``pre``, the URL part of
  a link).

writein's own messages use HTML; MarkdownV2 is here so no caller ever writes
its own escaping. Legacy ``ParseMode.MARKDOWN`` (v1) cannot escape every
character and is not supported.
"""

from __future__ import annotations

import re
from typing import Final, Literal

__all__ = ["MarkdownV2Context", "escape_html", "escape_markdown_v2"]

_HTML: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_HTML_QUOTE: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})

MarkdownV2Context = Literal["text", "code", "link"]

# https://core.telegram.org/bots/api#markdownv2-style
_MD2_SPECIALS: Final[dict[str, str]] = {
    "text": "\\_*[]()~`>#+-=|{}.!",
    "code": "\\`",
    "link": "\\)",
}
_MD2_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    context: re.compile("([" + re.escape(chars) + "])") for context, chars in _MD2_SPECIALS.items()
}


def escape_html(text: str, *, quote: bool = False) -> str:
    """Return *text* safe to embed in a Telegram ``ParseMode.HTML`` message.

    Replaces ``&``, ``<`` and ``>`` (and ``"`` when *quote* is true) by their
    entities; everything else, including newlines and emoji, is left alone.
    """
    if not isinstance(text, str):
        raise TypeError(f"escape_html expects str, not {type(text).__name__}")
    return text.translate(_HTML_QUOTE if quote else _HTML)


def escape_markdown_v2(text: str, *, context: MarkdownV2Context = "text") -> str:
    """Return *text* safe to embed in a Telegram ``ParseMode.MARKDOWN_V2`` message.

    *context* is where the text goes: ``"text"`` (ordinary text, also inside
    bold/italic/...), ``"code"`` (inside ``pre`` or ``code``) or ``"link"``
    (inside the ``(...)`` URL part of an inline link or custom emoji).
    """
    if not isinstance(text, str):
        raise TypeError(f"escape_markdown_v2 expects str, not {type(text).__name__}")
    try:
        pattern = _MD2_PATTERNS[context]
    except KeyError:
        raise ValueError(f"unknown MarkdownV2 context {context!r}") from None
    return pattern.sub(r"\\\1", text)
