"""How `writein demo` prints its story: numbered steps, indented lines, two-column translations.

Plain text only, so the transcript reads the same in a terminal, a pipe or a CI log. Every
value that came from a source (or from the simulated Telegram) goes through
``handlers.render_untrusted`` first: the demo prints what a console would, no more.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterable
from itertools import zip_longest
from typing import TextIO

from core.untrusted import render_untrusted

INDENT = "      "
_MIN_WIDTH = 72
_MAX_WIDTH = 120


def terminal_width() -> int:
    columns = shutil.get_terminal_size((100, 24)).columns
    return max(_MIN_WIDTH, min(_MAX_WIDTH, columns))


class Show:
    """The demo's transcript, written line by line (flushed, so it reads live)."""

    def __init__(self, out: TextIO | None = None, *, width: int | None = None) -> None:
        self.out = out or sys.stdout
        self.width = width or terminal_width()
        self.total = 0
        self.number = 0

    def _print(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def title(self, text: str) -> None:
        self._print(text)
        self._print("=" * min(len(text), self.width))

    def step(self, title: str, why: str) -> None:
        """A numbered step and the one line that says why it matters."""
        self.number += 1
        self._print()
        self._print(f"[{self.number}/{self.total}] {title}")
        for line in textwrap.wrap(why, self.width - len(INDENT)):
            self._print(INDENT + line)
        self._print()

    def line(self, text: str = "") -> None:
        for part in text.split("\n"):
            self._print(INDENT + part if part else "")

    def untrusted(self, label: str, value: object) -> None:
        """A value someone else chose (a source, Telegram): shown, never obeyed."""
        self.line(f"{label}{render_untrusted(value)}")

    def kv(self, key: str, value: object, *, key_width: int = 26) -> None:
        lines = textwrap.wrap(
            f"{key:<{key_width}} {value}",
            self.width - len(INDENT),
            subsequent_indent=" " * (key_width + 1),
            break_on_hyphens=False,
        )
        for line in lines or [key]:
            self.line(line)

    def check(self, text: str) -> None:
        """A claim the demo has just verified on real data."""
        for line in textwrap.wrap(
            f"✓ {text}", self.width - len(INDENT), subsequent_indent="  ", break_on_hyphens=False
        ):
            self.line(line)

    def columns(
        self, left: str, right: str, *, headers: tuple[str, str] | None = None, max_lines: int = 0
    ) -> None:
        """Two texts side by side (a message and its translation), wrapped to the terminal."""
        inner = self.width - len(INDENT) - 3
        col = inner // 2
        left_lines = _wrap(render_untrusted(left), col)
        right_lines = _wrap(render_untrusted(right), col)
        rows = list(zip_longest(left_lines, right_lines, fillvalue=""))
        hidden = 0
        if max_lines and len(rows) > max_lines:
            hidden = len(rows) - max_lines
            rows = rows[:max_lines]
        if headers is not None:
            self._print(INDENT + headers[0].ljust(col) + " | " + headers[1])
            self._print(INDENT + "-" * col + "-+-" + "-" * col)
        for a, b in rows:
            self._print((INDENT + a.ljust(col) + " | " + b).rstrip())
        if hidden:
            self._print(INDENT + f"[… {hidden} more lines]".ljust(col) + " |")

    def rule(self) -> None:
        inner = self.width - len(INDENT) - 3
        col = inner // 2
        self._print(INDENT + "-" * col + "-+-" + "-" * col)

    def table(self, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
        cells = [list(map(str, header)), *[list(map(str, row)) for row in rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        for n, row in enumerate(cells):
            first = row[0].ljust(widths[0])
            rest = "  ".join(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))
            self.line(f"{first}  {rest}".rstrip())
            if n == 0:
                self.line("-" * (sum(widths) + 2 * (len(widths) - 1)))


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, width) or [""]
    return lines
