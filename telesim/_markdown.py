"""``parse_mode=MarkdownV2`` and legacy ``Markdown`` as Telegram parses them.

Modelled on tdlib's ``parse_markdown_v2`` and ``parse_markdown``: the same
reserved characters, the same greedy ``__`` rule, the same error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from telesim._entities import Entity, EntityParseError, byte_offset, sort_entities, u16len

_RESERVED_V2 = frozenset("_*[]()~`>#+-=|{}.!")
_SPACES = " \t\r\n"
_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    start: int  # UTF-16 offset in the output
    at: int  # index in the input
    out_index: int  # index in the output list, for "use the text as URL"
    language: str = ""


class _Output:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += u16len(text)

    def text(self) -> str:
        return "".join(self.parts)


def _is_escapable(ch: str) -> bool:
    return 0 < ord(ch) <= 126


def _skip_pre_header(text: str, i: int) -> tuple[int, str]:
    """After an opening ```: the language and the index of the code's first char."""
    n = len(text)
    end = i
    while end < n and text[end] not in _SPACES and text[end] != "`":
        end += 1
    language = ""
    if end != i and end < n and text[end] != "`":
        language = text[i:end]
        i = end
    if i < n and text[i] in "\r\n":
        if i + 1 < n and text[i + 1] in "\r\n" and text[i] != text[i + 1]:
            i += 2
        else:
            i += 1
    return i, language


def _url_end(text: str, i: int, *, escapes: bool) -> tuple[str, int]:
    """Read ``(url)`` starting at the ``(``; returns the URL and the index after ``)``."""
    start = i + 1
    i = start
    url: list[str] = []
    n = len(text)
    while i < n and text[i] != ")":
        if escapes and text[i] == "\\" and i + 1 < n and _is_escapable(text[i + 1]):
            url.append(text[i + 1])
            i += 2
            continue
        url.append(text[i])
        i += 1
    if i >= n:
        raise EntityParseError(f"Can't find end of a URL at byte offset {byte_offset(text, start)}")
    return "".join(url), i + 1


def _link(url: str, entity: Entity) -> Entity | None:
    url = url.strip()
    if not url:
        return None
    if "://" not in url and not url.startswith(("mailto:", "tg:")):
        if "." not in url:
            return None
        url = "http://" + url
    return {"type": "text_link", **entity, "url": url}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a MarkdownV2-formatted message."""
    out = _Output()
    stack: list[_Open] = []
    entities: list[Entity] = []
    quote: tuple[str, int] | None = None  # (kind, start) of an open block quotation
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if at_line_start and not in_code:
            quote, i = _quote_line(text, i, quote, out, entities)
            if i >= n:
                break
            ch = text[i]
        if ch == "\\" and i + 1 < n and _is_escapable(text[i + 1]):
            out.add(text[i + 1])
            i += 2
            continue
        if quote and quote[0] == "expandable_blockquote" and text.startswith("||", i):
            after = i + 2
            at_line_end = after >= n or text[after] == "\n"
            if at_line_end and (not stack or stack[-1].kind != "spoiler"):
                _close_quote(quote, out, entities)
                quote = None
                i = after
                continue
        reserved = "`" if in_code else _RESERVED_V2
        if ch not in reserved:
            out.add(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if stack and _is_end(stack[-1].kind, text, i):
            top = stack.pop()
            i = _close(top, text, i, out, entities)
            continue
        at = i
        language = ""
        if ch == "_":
            kind = "italic"
            if nxt == "_":
                kind = "underline"
                i += 1
        elif ch == "*":
            kind = "bold"
        elif ch == "~":
            kind = "strikethrough"
        elif ch == "|" and nxt == "|":
            kind = "spoiler"
            i += 1
        elif ch == "[":
            kind = "text_link"
        elif ch == "`":
            if text.startswith("```", i):
                kind = "pre"
                i, language = _skip_pre_header(text, i + 3)
                stack.append(_Open(kind, out.size, at, len(out.parts), language))
                continue
            kind = "code"
        elif ch == "!" and nxt == "[":
            kind = "custom_emoji"
            i += 1
        else:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append(_Open(kind, out.size, at, len(out.parts)))
        i += 1
    if stack:
        top = stack[-1]
        where = byte_offset(text, top.at)
        raise EntityParseError(
            f"Can't find end of {_NAMES[top.kind]} entity at byte offset {where}"
        )
    if quote:
        _close_quote(quote, out, entities)
    return out.text(), sort_entities(entities)


def _is_end(kind: str, text: str, i: int) -> bool:
    ch = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if kind == "bold":
        return ch == "*"
    if kind == "italic":
        return ch == "_" and nxt != "_"
    if kind == "underline":
        return ch == "_" and nxt == "_"
    if kind == "strikethrough":
        return ch == "~"
    if kind == "spoiler":
        return ch == "|" and nxt == "|"
    if kind == "code":
        return ch == "`"
    if kind == "pre":
        return text.startswith("```", i)
    return ch == "]"  # text_link, custom_emoji


def _close(top: _Open, text: str, i: int, out: _Output, entities: list[Entity]) -> int:
    length = out.size - top.start
    base: Entity = {"offset": top.start, "length": length}
    entity: Entity | None = {"type": top.kind, **base}
    if top.kind in ("underline", "spoiler"):
        i += 2
    elif top.kind == "pre":
        i += 3
        if top.language:
            assert entity is not None
            entity["language"] = top.language
    elif top.kind == "text_link":
        if i + 1 < len(text) and text[i + 1] == "(":
            url, i = _url_end(text, i + 1, escapes=True)
        else:
            url = "".join(out.parts[top.out_index :])
            i += 1
        entity = _link(url, base)
    elif top.kind == "custom_emoji":
        if i + 1 >= len(text) or text[i + 1] != "(":
            raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
        url, i = _url_end(text, i + 1, escapes=True)
        prefix = "tg://emoji?id="
        if not url.startswith(prefix) or not url[len(prefix) :].isdigit():
            raise EntityParseError("Custom emoji URL must have an emoji identifier")
        entity = {"type": "custom_emoji", **base, "custom_emoji_id": url[len(prefix) :]}
    else:
        i += 1
    if entity is not None and length > 0:
        entities.append(entity)
    return i


def _quote_line(
    text: str, i: int, quote: tuple[str, int] | None, out: _Output, entities: list[Entity]
) -> tuple[tuple[str, int] | None, int]:
    """At a line start: open, continue or close a ``>`` block quotation."""
    if text.startswith("**>", i):
        if quote:
            _close_quote(quote, out, entities)
        return ("expandable_blockquote", out.size), i + 3
    if text.startswith(">", i):
        if quote is None:
            return ("blockquote", out.size), i + 1
        return quote, i + 1
    if quote:
        _close_quote(quote, out, entities)
    return None, i


def _close_quote(quote: tuple[str, int], out: _Output, entities: list[Entity]) -> None:
    kind, start = quote
    end = out.size
    text = out.text()
    if text.endswith("\n"):
        end -= 1
    if end > start:
        entities.append({"type": kind, "offset": start, "length": end - start})


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a legacy Markdown-formatted message."""
    out = _Output()
    entities: list[Entity] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if ch == "\\" and nxt in ("_", "*", "`", "["):
            out.add(nxt)
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        begin = i
        end_char = "]" if ch == "[" else ch
        i += 1
        is_pre = False
        language = ""
        if ch == "`" and text.startswith("``", i):
            is_pre = True
            i, language = _skip_pre_header(text, i + 2)
        start = out.size
        first_part = len(out.parts)
        while i < n and (text[i] != end_char or (is_pre and not text.startswith("``", i + 1))):
            out.add(text[i])
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {byte_offset(text, begin)}"
            )
        length = out.size - start
        base: Entity = {"offset": start, "length": length}
        entity: Entity | None
        if ch == "[":
            if i + 1 < n and text[i + 1] == "(":
                url, after = _url_end(text, i + 1, escapes=False)
                i = after - 1
            else:
                url = "".join(out.parts[first_part:])
            entity = _link(url, base)
        elif ch == "`":
            entity = {"type": "pre" if is_pre else "code", **base}
            if language:
                entity["language"] = language
        else:
            entity = {"type": "italic" if ch == "_" else "bold", **base}
        if entity is not None and length > 0:
            entities.append(entity)
        i += 3 if is_pre else 1
    return out.text(), sort_entities(entities)
