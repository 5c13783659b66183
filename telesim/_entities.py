"""Message entities: UTF-16 offsets, trimming and auto-detection.

Telegram measures entity offsets and lengths in UTF-16 code units, reports parse
errors with UTF-8 byte offsets, trims whitespace around a message and detects
commands, mentions, hashtags, URLs and e-mail addresses by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

Entity = dict[str, Any]

_SPACE = " \t\r\n"


class EntityParseError(Exception):
    """Markup that Telegram would refuse: ``can't parse entities: <detail>``."""


def u16len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``text[index]``."""
    return len(text[:index].encode("utf-8"))


def u16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity covers."""
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def sort_entities(entities: Iterable[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    stripped = text.lstrip(_SPACE)
    left = u16len(text) - u16len(stripped)
    stripped = stripped.rstrip(_SPACE)
    total = u16len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - left, 0)
        end = min(entity["offset"] + entity["length"] - left, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


# -- auto-detection ---------------------------------------------------------------

_TLDS = "com|org|net|io|dev|app|info|me|ru|ua|de|uk|fr|eu|us|co|ly|gl|gg|to|tv"
_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "url",
        re.compile(
            r"(?<![\w@/.])(?:https?://[^\s<>\"]+|(?:[A-Za-z0-9-]+\.)+(?:" + _TLDS + r")"
            r"(?::\d{1,5})?(?:/[^\s<>\"]*)?)(?<![.,;:!?)'])",
            re.IGNORECASE,
        ),
    ),
    ("bot_command", re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{3,8}(?![\w])")),
)
# Auto-detected entities never overlap these.
_OPAQUE = frozenset(
    {"pre", "code", "text_link", "text_mention", "custom_emoji", "url", "email"}
    | {"mention", "bot_command", "hashtag", "cashtag", "date_time"}
)


def detect_entities(text: str, existing: Sequence[Entity]) -> list[Entity]:
    """The entities Telegram finds by itself in ``text`` (not overlapping ``existing``)."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _OPAQUE]
    found: list[Entity] = []
    if not any(ch in text for ch in "@/#.$"):
        return found
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            start = u16len(text[: match.start()])
            end = start + u16len(match.group())
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            found.append({"type": kind, "offset": start, "length": end - start})
    return found
