"""core.escape: the one place that makes text safe for Telegram's parse modes."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.helpers import escape_markdown

from core.escape import escape_html, escape_markdown_v2

HOSTILE = [
    "<b>bold</b>",
    "</code></pre><a href='tg://user?id=1'>x</a>",
    '<a href="javascript:alert(1)">click</a>',
    "&amp; &lt; &#60; &#x3c; &nbsp",
    "a < b > c & d",
    "<tg-spoiler>secret</tg-spoiler>",
    "<<>>&&",
    "\x00\u202e\u2066 bidi and NUL",
    "emoji 🙂 and Кириллица",
    "",
]


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        self.tags.append("/" + tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("text", HOSTILE)
def test_html_escaped_text_has_no_markup(text):
    escaped = escape_html(text)
    assert "<" not in escaped and ">" not in escaped
    parser = _TagCollector()
    parser.feed(escaped)
    parser.close()
    assert parser.tags == []
    assert "".join(parser.text) == text


def test_html_escapes_exactly_the_three_characters():
    assert escape_html("&<>\"'") == "&amp;&lt;&gt;\"'"
    assert escape_html('say "hi"', quote=True) == "say &quot;hi&quot;"
    assert escape_html("&amp;") == "&amp;amp;"


@given(st.text())
def test_html_round_trip(text):
    escaped = escape_html(text)
    assert html.unescape(escaped) == text
    assert "<" not in escaped and ">" not in escaped
    # every & begins one of our entities
    assert re.sub(r"&(amp|lt|gt);", "", escaped).count("&") == 0


@pytest.mark.parametrize("func", [escape_html, escape_markdown_v2])
def test_rejects_non_str(func):
    with pytest.raises(TypeError):
        func(b"<b>")


MD2_SPECIALS = "_*[]()~`>#+-=|{}.!\\"


def _md2_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


@pytest.mark.parametrize("char", list(MD2_SPECIALS))
def test_markdown_v2_escapes_every_special(char):
    assert escape_markdown_v2(char) == "\\" + char


@pytest.mark.parametrize(
    ("context", "specials"), [("text", MD2_SPECIALS), ("code", "`\\"), ("link", ")\\")]
)
@given(text=st.text())
def test_markdown_v2_round_trip_and_every_special_escaped(context, specials, text):
    escaped = escape_markdown_v2(text, context=context)
    assert _md2_unescape(escaped) == text
    # Reading left to right, every special character is preceded by an escaping backslash.
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            assert i + 1 < len(escaped) and escaped[i + 1] in specials
            i += 2
            continue
        assert escaped[i] not in specials
        i += 1


@pytest.mark.parametrize(
    ("context", "entity_type"), [("text", None), ("code", "code"), ("link", "text_link")]
)
@pytest.mark.parametrize("text", [*HOSTILE, "*bold* _it_ ~s~ ||sp|| [l](http://x.y/?a=b)"])
def test_markdown_v2_agrees_with_python_telegram_bot(context, entity_type, text):
    assert escape_markdown_v2(text, context=context) == escape_markdown(
        text, version=2, entity_type=entity_type
    )


def test_markdown_v2_unknown_context():
    with pytest.raises(ValueError, match="context"):
        escape_markdown_v2("x", context="pre")  # type: ignore[arg-type]
