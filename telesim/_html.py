"""``parse_mode=HTML`` as Telegram parses it (modelled on tdlib's ``parse_html``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telesim._entities import Entity, EntityParseError, byte_offset, sort_entities, u16len

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
}
_SUPPORTED = frozenset(_SIMPLE) | {"a", "blockquote", "tg-emoji", "tg-time"}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHAR_REF = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]*")
_SPACES = " \t\r\n"
_SPECIAL = re.compile(r"[<&]")


@dataclass
class _Open:
    tag: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the output
    at: int  # index in the input, for error messages
    language: str = ""


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of an HTML-formatted message."""
    out: list[str] = []
    size = 0  # UTF-16 length of the output so far
    stack: list[_Open] = []
    entities: list[Entity] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            match = _CHAR_REF.match(text, i)
            decoded = _decode_ref(match.group(1)) if match else "&"
            out.append(decoded)
            size += u16len(decoded)
            i = match.end() if match else i + 1
            continue
        if ch != "<":
            special = _SPECIAL.search(text, i)
            end = special.start() if special else n
            out.append(text[i:end])
            size += u16len(text[i:end])
            i = end
            continue
        begin = i
        i += 1
        is_end = i < n and text[i] == "/"
        if is_end:
            i += 1
        name_match = _NAME_CHARS.match(text, i)
        assert name_match is not None
        tag = name_match.group().lower()
        i = name_match.end()
        if i >= n:
            kind = "end" if is_end else "start"
            raise EntityParseError(f"Unclosed {kind} tag at byte offset {byte_offset(text, begin)}")
        if not is_end:
            if tag not in _SUPPORTED:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(text, begin)}'
                )
            attrs, i = _attributes(text, i, tag)
            if tag == "span" and attrs.get("class") != "tg-spoiler":
                where = byte_offset(text, begin)
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {where}'
                )
            stack.append(_Open(tag, attrs, size, begin))
            continue
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(text, begin)}")
        i += 1
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(text, begin)}")
        top = stack.pop()
        if top.tag != tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {byte_offset(text, begin)}, "
                f'expected "</{top.tag}>", found "</{tag}>"'
            )
        if top.tag == "code" and stack and stack[-1].tag == "pre" and stack[-1].start == top.start:
            language = top.attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1].language = language[len("language-") :]
                continue
        entity = _entity(top, size - top.start)
        if entity is not None:
            entities.append(entity)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), sort_entities(entities)


def _decode_ref(ref: str) -> str:
    if ref in _NAMED:
        return _NAMED[ref]
    code = int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def _attributes(text: str, i: int, tag: str) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise EntityParseError(
                f'Unclosed start tag "{tag}" at byte offset {byte_offset(text, i)}'
            )
        if text[i] == ">":
            return attrs, i + 1
        name_match = _NAME_CHARS.match(text, i)
        assert name_match is not None
        name = name_match.group().lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(text, i)}'
            )
        i = name_match.end()
        while i < n and text[i] in _SPACES:
            i += 1
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(
                    f'Unclosed start tag "{tag}" at byte offset {byte_offset(text, i)}'
                )
            if text[i] in "'\"":
                quote = text[i]
                close = text.find(quote, i + 1)
                if close < 0:
                    raise EntityParseError(
                        f"Unclosed end of attribute value at byte offset {byte_offset(text, i)}"
                    )
                raw = text[i + 1 : close]
                i = close + 1
            else:
                start = i
                while i < n and text[i] not in _SPACES and text[i] != ">":
                    i += 1
                raw = text[start:i]
            attrs[name] = _CHAR_REF.sub(lambda m: _decode_ref(m.group(1)), raw)
        else:
            attrs[name] = ""


def _entity(tag: _Open, length: int) -> Entity | None:
    if length <= 0:
        return None
    base: Entity = {"offset": tag.start, "length": length}
    if tag.tag == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return None
        return {"type": "text_link", **base, "url": href}
    if tag.tag == "blockquote":
        kind = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
        return {"type": kind, **base}
    if tag.tag == "tg-emoji":
        emoji_id = tag.attrs.get("emoji-id", "")
        if not emoji_id:
            raise EntityParseError('Tag "tg-emoji" must have attribute "emoji-id"')
        return {"type": "custom_emoji", **base, "custom_emoji_id": emoji_id}
    if tag.tag == "tg-time":
        unix = tag.attrs.get("unix", "")
        if not unix.lstrip("-").isdigit():
            raise EntityParseError('Tag "tg-time" must have a numeric attribute "unix"')
        entity = {"type": "date_time", **base, "unix_time": int(unix)}
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
        return entity
    entity = {"type": _SIMPLE[tag.tag], **base}
    if tag.tag == "pre" and tag.language:
        entity["language"] = tag.language
    return entity
