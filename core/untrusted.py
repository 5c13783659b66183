"""The one way text from outside reaches the officer's screen.

Everything a source wrote (messages, captions, file names, forwarded-from names, intake
answers) — and anything read from the store, which an intruder may have edited — goes
through :func:`render_untrusted` before it is shown. The result is plain text:

- no markup: the console shows it as a ``rich.text.Text`` built with :func:`as_text`,
  never through Rich or Textual markup, so ``[@click=app.quit]`` stays those characters;
- no terminal control: C0/C1 control characters (ESC, CSI, BEL, ...) and lone
  surrogates are shown as ``⟨U+001B⟩``; only the line break survives (tabs become
  spaces; CR, U+2028 and U+2029 become line breaks);
- nothing hidden: bidi overrides and isolates, zero-width and other format characters,
  tag characters, blank-looking fillers and stray variation selectors are shown as
  ``⟨U+202E⟩``. A zero-width joiner between two emoji stays (it builds one emoji);
- no towers: at most :data:`MAX_COMBINING` combining marks stay on one character, the
  rest are counted (``⟨+37 marks⟩``).

docs/decisions/0041-untrusted-text.md says why it shows rather than drops.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from rich.text import Text

__all__ = ["MAX_COMBINING", "as_text", "render_untrusted"]

MAX_COMBINING: Final = 4
_ZWJ: Final = "\u200d"
_LINE_BREAKS: Final = frozenset("\n\r\u2028\u2029\x85")
# Printable by category, yet blank on screen or used to smuggle hidden text.
_INVISIBLE: Final = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180b\u180c\u180d\u180e\u180f"  # Mongolian variation selectors / vowel separator
    "\u2800"  # braille blank
)
_VARIATION_SELECTORS: Final = frozenset(chr(c) for c in range(0xFE00, 0xFE10))
# Combining marks that are not marks on screen: selectors of ideographic variants (a run
# of them smuggles bytes), and the ones handled above as line breaks or selectors.
_HIDING_MARKS: Final = (
    frozenset(chr(c) for c in range(0xE0100, 0xE01F0)) | _INVISIBLE | _VARIATION_SELECTORS
)
_ELLIPSIS_AT: Final = 200


def _visible(char: str) -> str:
    return f"⟨U+{ord(char):04X}⟩"


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" or 0x1F300 <= ord(char) <= 0x1FAFF


def _joins_emoji(text: str, index: int) -> bool:
    """A ZWJ with an emoji before it (skipping a VS16 or skin tone) and one after it."""
    before = index - 1
    while before >= 0 and (text[before] == "\ufe0f" or 0x1F3FB <= ord(text[before]) <= 0x1F3FF):
        before -= 1
    after = index + 1
    return before >= 0 and after < len(text) and _is_emoji(text[before]) and _is_emoji(text[after])


def render_untrusted(
    value: object, *, single_line: bool = False, max_chars: int = _ELLIPSIS_AT
) -> str:
    """``value`` (text, or anything ``str()`` can render) as safe plain text for the screen.

    ``single_line`` shows line breaks as ``⏎`` and shortens the result to ``max_chars``
    (about 200 by default), for names, file names and table cells.
    """
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n")
    out: list[str] = []
    marks = 0
    dropped = 0

    def flush_marks() -> None:
        nonlocal marks, dropped
        if dropped:
            out.append(f"⟨+{dropped} marks⟩")
        marks = dropped = 0

    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category in ("Mn", "Me") and char not in _HIDING_MARKS:
            if marks >= MAX_COMBINING:
                dropped += 1
            else:
                marks += 1
                out.append(char)
            continue
        flush_marks()
        if char in _LINE_BREAKS:
            out.append(" ⏎ " if single_line else "\n")
        elif char == "\t":
            out.append(" " if single_line else "    ")
        elif char in _VARIATION_SELECTORS:
            # Only right after a visible character (VS16 makes an emoji); a run smuggles data.
            previous = text[index - 1] if index else " "
            ok = previous not in _VARIATION_SELECTORS and not previous.isspace()
            out.append(char if ok else _visible(char))
        elif category == "Cf":
            out.append(char if char == _ZWJ and _joins_emoji(text, index) else _visible(char))
        elif category in ("Cc", "Cs") or char in _HIDING_MARKS or char in _INVISIBLE:
            out.append(_visible(char))
        else:
            out.append(char)
    flush_marks()
    result = "".join(out)
    if single_line and len(result) > max_chars:
        result = result[:max_chars] + "…"
    return result


def as_text(value: object, *, style: str = "", single_line: bool = False) -> Text:
    """:func:`render_untrusted` as a Rich ``Text``: shown as it is, never parsed as markup."""
    return Text(
        render_untrusted(value, single_line=single_line),
        style=style,
        overflow="fold",
        no_wrap=single_line,
        end="",
    )
