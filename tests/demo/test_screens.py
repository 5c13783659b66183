"""`make screens` (``python -m demo.screens FOLDER``) writes the console's pictures for the
docs: each one exists and shows what its name promises, so the command cannot rot unseen."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from demo.screens import CASELOAD, SCREENS, SHOWN_CASE, SIZE, VIEWER, offline

# One <text> element of an SVG screenshot: its x, its line, its HTML-escaped text (rich
# writes a space as &#160;); runs of spaces are left out, so the gaps are filled here.
_TEXT = re.compile(
    r'<text class="[^"]*" x="([0-9.]+)" y="[0-9.]+" textLength="[0-9.]+" '
    r'clip-path="url\(#[^)]*-line-([0-9]+)\)">(.*?)</text>'
)
_LINE = re.compile(r'<clipPath id="[^"]*-line-0">\s*<rect x="0" y="[0-9.]+" width="([0-9.]+)"')

OPEN = [c.case_id for c in CASELOAD if VIEWER in c.officers and not c.closed]
ATTENTION = [c.case_id for c in CASELOAD if VIEWER in c.officers and c.later is not None]
NOT_HERS = [c.case_id for c in CASELOAD if VIEWER not in c.officers]


def lines(svg: str) -> list[str]:
    """The screen as lines of text, each stripped on the right."""
    width, height = SIZE
    line = _LINE.search(svg)
    assert line is not None, "no line clip path in the picture"
    char_width = float(line.group(1)) / width
    shown = [""] * height
    for x, row, escaped in _TEXT.findall(svg):
        text = html.unescape(escaped.replace("&#160;", " "))
        column = round(float(x) / char_width)
        shown[int(row)] += " " * (column - cell_len(shown[int(row)])) + text
    return [text.rstrip() for text in shown]


def row_of(shown: list[str], case_id: str) -> str:
    [row] = [text for text in shown if text.lstrip().startswith(case_id)]
    return row


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Run the command the docs name, once, into a fresh folder."""
    folder = tmp_path_factory.mktemp("screens") / "docs-screens"

    done = subprocess.run(
        [sys.executable, "-m", "demo.screens", str(folder)],
        capture_output=True,
        timeout=180,
        check=False,
    )
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 0, err.decode()
    written = [folder / f"{name}.svg" for name in SCREENS]
    assert out.decode().split() == [str(path) for path in written]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)
    svgs = {path.stem: path.read_text(encoding="utf-8") for path in written}
    for name, svg in svgs.items():
        assert svg.startswith("<svg "), name
        assert not re.search(r"url\(\s*[\"']?https?:", svg), f"{name} fetches a web font"
    return {name: lines(svg) for name, svg in svgs.items()}


def test_the_case_list(pictures: dict[str, list[str]]) -> None:
    shown = pictures["case-list"]
    text = "\n".join(shown)
    assert f"Cases of {VIEWER}" in text and f"{len(OPEN)} case(s)" in text
    assert f"⚑ {len(ATTENTION)} closed case(s) received new messages" in text
    for case_id in OPEN:
        assert case_id in text
    for case_id in NOT_HERS:
        assert case_id not in text
    assert "● unread ↩ awaiting reply" in row_of(shown, SHOWN_CASE)


def test_the_help(pictures: dict[str, list[str]]) -> None:
    text = "\n".join(pictures["help"])
    assert "Keys · Case list" in text
    assert "w  Reply" in text and "ctrl+l  Lock the console now" in text


def test_needs_attention(pictures: dict[str, list[str]]) -> None:
    shown = pictures["needs-attention"]
    text = "\n".join(shown)
    assert "needs attention: closed cases with new messages" in text
    for case_id in ATTENTION:
        assert "closed" in row_of(shown, case_id)
    for case_id in OPEN:
        assert case_id not in text


def test_the_case_view(pictures: dict[str, list[str]]) -> None:
    text = "\n".join(pictures["case-view"])
    assert f"Case {SHOWN_CASE} · open · language en · assigned: alice, bob" in text
    assert "Flour sold as organic at a bakery chain" in text  # an intake answer
    assert "▶ Source  2026-11-03 10:01 UTC" in text  # fixed times, in UTC
    assert "Hello. I work in the warehouse of a bakery chain." in text
    assert "◀ Reply by alice  2026-11-03 11:00 UTC  [sent]" in text
    assert "✎ Note by bob" in text
    assert "📎 delivery-note.pdf · application/pdf" in text


def test_the_composer(pictures: dict[str, list[str]]) -> None:
    text = "\n".join(pictures["composer"])
    assert f"Reply to {SHOWN_CASE}" in text  # the dialog's border title
    assert f"Reply to the source of case {SHOWN_CASE} · language en" in text
    assert "What the source will see:" in text
    assert "delivery note, with every name covered?" in text


def test_pictures_fetch_no_web_fonts() -> None:
    font = (
        'src: local("FiraCode-Regular"),\n'
        '        url("https://cdn.example/FiraCode-Regular.woff2") format("woff2"),\n'
        '        url("https://cdn.example/FiraCode-Regular.woff") format("woff");'
    )
    assert offline(font) == 'src: local("FiraCode-Regular");'


def test_the_docs_name_the_command() -> None:
    root = Path(__file__).parents[2]
    assert "python -m demo.screens docs/screens" in (root / "Makefile").read_text()
    operations = (root / "docs" / "operations.md").read_text()
    assert "make screens" in operations
    for name in SCREENS:
        assert f"screens/{name}.svg" in operations
