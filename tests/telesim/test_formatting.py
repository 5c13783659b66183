"""parse_mode handling: HTML, MarkdownV2, Markdown, entities, trimming, detection."""

from __future__ import annotations

import html
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.helpers import escape_markdown

from telesim import load_spec
from telesim._entities import EntityParseError, u16_slice, u16len
from telesim._html import parse_html
from telesim._markdown import parse_markdown, parse_markdown_v2
from telesim._text import format_text

TYPES = load_spec().entity_types


def fmt(
    text: str, mode: str | None = None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    return format_text(text, parse_mode=mode, entities=entities, entity_types=TYPES)


# -- HTML -------------------------------------------------------------------------


def test_html_tags_become_entities() -> None:
    text, entities = parse_html(
        '<b>bold</b> <i>it <u>under</u></i> <a href="https://ex.org/?a=1&amp;b=2">link</a> '
        '<tg-spoiler>s</tg-spoiler> <span class="tg-spoiler">t</span> <s>x</s> <code>c</code>'
    )
    assert text == "bold it under link s t x c"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 5, "length": 8},
        {"type": "underline", "offset": 8, "length": 5},
        {"type": "text_link", "offset": 14, "length": 4, "url": "https://ex.org/?a=1&b=2"},
        {"type": "spoiler", "offset": 19, "length": 1},
        {"type": "spoiler", "offset": 21, "length": 1},
        {"type": "strikethrough", "offset": 23, "length": 1},
        {"type": "code", "offset": 25, "length": 1},
    ]


def test_html_pre_with_language_and_blockquotes() -> None:
    text, entities = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>\n'
        "<blockquote>q</blockquote><blockquote expandable>e</blockquote>"
    )
    assert text == "x = 1\nqe"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"},
        {"type": "blockquote", "offset": 6, "length": 1},
        {"type": "expandable_blockquote", "offset": 7, "length": 1},
    ]


def test_html_character_references() -> None:
    assert parse_html("&lt;&gt;&amp;&quot;&#65;&#x42; &nbsp; & x")[0] == '<>&"AB &nbsp; & x'


def test_offsets_are_utf16_code_units() -> None:
    text, entities = parse_html("😀 <b>ok</b>")
    assert entities == [{"type": "bold", "offset": 3, "length": 2}]
    assert u16_slice(text, 3, 2) == "ok"


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("é<p>", 'Unsupported start tag "p" at byte offset 2'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("a <b", "Unclosed start tag at byte offset 2"),
        ('<a href="x>y</a>', "Unclosed end of attribute value at byte offset 8"),
    ],
)
def test_html_errors(markup: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(markup)
    assert str(caught.value) == error


@given(st.text())
def test_html_escaped_text_round_trips(text: str) -> None:
    assert parse_html(html.escape(text, quote=False)) == (text, [])


@given(st.text(alphabet="<>/&ab= \"'"))
def test_html_never_fails_unexpectedly(markup: str) -> None:
    try:
        text, entities = parse_html(markup)
    except EntityParseError:
        return
    for entity in entities:
        assert entity["offset"] + entity["length"] <= u16len(text)


# -- MarkdownV2 ----------------------------------------------------------------------


def test_markdown_v2_entities() -> None:
    text, entities = parse_markdown_v2(
        "*b* _i_ __u__ ~s~ ||sp|| [l](https://ex.org/a\\)b) `c\\`` ```python\nx = 1```"
    )
    assert text == "b i u s sp l c` x = 1"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "underline", "offset": 4, "length": 1},
        {"type": "strikethrough", "offset": 6, "length": 1},
        {"type": "spoiler", "offset": 8, "length": 2},
        {"type": "text_link", "offset": 11, "length": 1, "url": "https://ex.org/a)b"},
        {"type": "code", "offset": 13, "length": 2},
        {"type": "pre", "offset": 16, "length": 5, "language": "python"},
    ]


def test_markdown_v2_nesting_and_quotes() -> None:
    text, entities = parse_markdown_v2("*bold _italic_*\n>quoted\n>lines\n**>hidden||")
    assert text == "bold italic\nquoted\nlines\nhidden"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 11},
        {"type": "italic", "offset": 5, "length": 6},
        {"type": "blockquote", "offset": 12, "length": 12},
        {"type": "expandable_blockquote", "offset": 25, "length": 6},
    ]


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("Hello.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("1-2", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("a|b", "Character '|' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("ü _it", "Can't find end of Italic entity at byte offset 3"),
        ("`code", "Can't find end of Code entity at byte offset 0"),
        ("[l](http://x", "Can't find end of a URL at byte offset 4"),
    ],
)
def test_markdown_v2_errors(markup: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_markdown_v2(markup)
    assert str(caught.value) == error


@given(st.text())
def test_markdown_v2_escaped_text_round_trips(text: str) -> None:
    assert parse_markdown_v2(escape_markdown(text, version=2)) == (text, [])


@given(st.text(alphabet="*_~|`[]()\\>.! ab\n"))
def test_markdown_v2_never_fails_unexpectedly(markup: str) -> None:
    try:
        text, entities = parse_markdown_v2(markup)
    except EntityParseError:
        return
    for entity in entities:
        assert entity["length"] > 0
        assert entity["offset"] + entity["length"] <= u16len(text)


# -- legacy Markdown -------------------------------------------------------------------


def test_legacy_markdown() -> None:
    text, entities = parse_markdown("*b* _i_ `c` [l](http://x.org) ```py\ncode``` a\\_b 1.5!")
    assert text == "b i c l code a_b 1.5!"
    assert [e["type"] for e in entities] == ["bold", "italic", "code", "text_link", "pre"]
    assert entities[-1]["language"] == "py"


def test_legacy_markdown_error() -> None:
    with pytest.raises(
        EntityParseError, match="Can't find end of the entity starting at byte offset 4"
    ):
        parse_markdown("abc *bold")


@given(st.text())
def test_legacy_markdown_escaped_text_round_trips(text: str) -> None:
    assert parse_markdown(escape_markdown(text, version=1)) == (text, [])


# -- format_text: parse modes, explicit entities, trimming, detection ------------------------


def test_parse_mode_is_case_insensitive_and_checked() -> None:
    assert fmt("<b>x</b>", "html")[0] == "x"
    assert fmt("*x*", "MARKDOWNV2")[0] == "x"
    with pytest.raises(ValueError, match="unsupported parse_mode"):
        fmt("x", "BBCode")


def test_explicit_entities_win_over_parse_mode() -> None:
    text, entities = fmt("<b>x</b>", "HTML", [{"type": "italic", "offset": 0, "length": 3}])
    assert text == "<b>x</b>"
    assert entities == [{"type": "italic", "offset": 0, "length": 3}]


def test_explicit_entities_are_checked() -> None:
    with pytest.raises(EntityParseError):
        fmt("x", None, [{"type": "sparkle", "offset": 0, "length": 1}])
    with pytest.raises(EntityParseError):
        fmt("x", None, [{"type": "text_link", "offset": 0, "length": 1}])


def test_whitespace_is_trimmed_and_entities_follow() -> None:
    text, entities = fmt("  \n<b> hi </b>\n ", "HTML")
    assert text == "hi"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


def test_commands_mentions_urls_are_detected() -> None:
    text, entities = fmt("/start@telesim_bot go @olena_k #news https://ex.org/x. mail a@b.org")
    found = {(e["type"], u16_slice(text, e["offset"], e["length"])) for e in entities}
    assert found == {
        ("bot_command", "/start@telesim_bot"),
        ("mention", "@olena_k"),
        ("hashtag", "#news"),
        ("url", "https://ex.org/x"),
        ("email", "a@b.org"),
    }


def test_detection_skips_code() -> None:
    _, entities = fmt("<code>/start</code> /help", "HTML")
    assert [e["type"] for e in entities] == ["code", "bot_command"]
