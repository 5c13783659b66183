"""The interactive console, headless (Textual's run_test and Pilot).

Only Textual's public testing API is used: ``App.run_test()``, ``Pilot`` and
``App.export_screenshot()`` (the screen's text is read from that SVG).

The main screens are compared as text with files in tests/handlers/snapshots/. A missing
snapshot file fails its test; to write (or rewrite) the files, run the tests with
``WRITEIN_UPDATE_SNAPSHOTS=1`` and review the diff:

    WRITEIN_UPDATE_SNAPSHOTS=1 .venv/bin/pytest -q tests/handlers/test_tui.py
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea

from handlers.session import open_workspace
from handlers.tui import ConsoleApp
from handlers.tui.caselist import CaseListScreen
from handlers.tui.casescreen import CaseScreen, MessageView
from handlers.tui.compose import ComposeScreen
from handlers.tui.dialogs import AssignScreen, CancelReplyScreen, ConfirmScreen, ExportScreen
from handlers.tui.unlock import UnlockScreen
from store import CaseFlag, CaseStatus
from tests.handlers.conftest import CASE_A, CASE_B, World, passphrase_of

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZE = (110, 32)
HOSTILE = (
    "[@click=app.quit]click me[/] [b]bold?[/b] \x1b[2J\x1b]0;pwned\x07 ev\u202egnp.exe z\u200bw"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# One <text> element of the SVG screenshot: its x, its line, and its HTML-escaped text, in
# which rich writes a space as &#160; (a no-break space in the text stays the character).
_SVG_TEXT = re.compile(
    r'<text class="[^"]*" x="([0-9.]+)" y="[0-9.]+" textLength="[0-9.]+" '
    r'clip-path="url\(#[^)]*-line-([0-9]+)\)">(.*?)</text>'
)
_SVG_LINE = re.compile(r'<clipPath id="[^"]*-line-0">\s*<rect x="0" y="[0-9.]+" width="([0-9.]+)"')


def screen_text(app: ConsoleApp) -> str:
    """The current screen as plain text, read from Textual's public SVG screenshot.

    ``App.export_screenshot`` draws every run of text as a ``<text>`` element at its cell
    (x in character widths, the line in its clip path); runs of spaces are left out, so
    the gaps are filled with spaces here. Every line is stripped on the right.
    """
    svg = app.export_screenshot()
    width, height = app.size
    line = _SVG_LINE.search(svg)
    assert line is not None, "no line clip path in the screenshot"
    char_width = float(line.group(1)) / width
    lines = [""] * height
    for x, row, escaped in _SVG_TEXT.findall(svg):
        text = html.unescape(escaped.replace("&#160;", " "))
        column = round(float(x) / char_width)
        current = lines[int(row)]
        lines[int(row)] = current + " " * (column - cell_len(current)) + text
    return "\n".join(line.rstrip() for line in lines)


async def check_snapshot(pilot: Pilot[None], name: str, shown: Callable[[], str]) -> None:
    """Compare what ``shown()`` reads off the screen with snapshots/<name>.txt; a missing
    file fails the test. Only ``WRITEIN_UPDATE_SNAPSHOTS=1`` writes the files (then review
    the diff).

    Textual repaints after the data is in place (a table's rows arrive before they are
    drawn), so the screen is read again, a frame at a time, until it matches or the
    repaints run out; the last reading is what the assertion shows.
    """
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("WRITEIN_UPDATE_SNAPSHOTS") == "1":
        await settle(pilot)
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(shown() + "\n", encoding="utf-8")
    if not path.exists():
        pytest.fail(
            f"no snapshot {path}: write it with WRITEIN_UPDATE_SNAPSHOTS=1 and review it",
            pytrace=False,
        )
    expected = path.read_text(encoding="utf-8")
    text = shown()
    deadline = time.monotonic() + 30  # (a busy machine draws late, never differently)
    while text + "\n" != expected and time.monotonic() < deadline:
        await pilot.pause(0.05)
        text = shown()
    assert text + "\n" == expected


async def settle(pilot: Pilot[None]) -> None:
    """Until the app is quiet: no worker running for three rounds in a row (a worker that
    finishes can start another one, e.g. unlock → case list → page load)."""
    quiet = 0
    for _ in range(300):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        quiet = quiet + 1 if not list(pilot.app.workers) else 0
        if quiet >= 3:
            return
    raise AssertionError("the console never settled")


def make_app(world: World, name: str = "alice", clock: Clock | None = None) -> ConsoleApp:
    return ConsoleApp(
        open_workspace=lambda me: open_workspace(world.config, me),
        key_file=world.key_files[name],
        remote=world.remote,
        lock_after_seconds=600,
        clock=clock or Clock(),
    )


async def unlock(pilot: Pilot[None], passphrase: bytes) -> None:
    pilot.app.screen.query_one("#passphrase", Input).value = passphrase.decode()
    await pilot.press("enter")
    await settle(pilot)


@asynccontextmanager
async def unlocked(
    world: World, name: str = "alice", clock: Clock | None = None
) -> AsyncIterator[tuple[ConsoleApp, Pilot[None]]]:
    app = make_app(world, name, clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await unlock(pilot, passphrase_of(name))
        assert isinstance(app.screen, CaseListScreen)
        yield app, pilot


async def open_case(app: ConsoleApp, pilot: Pilot[None], case_id: str) -> CaseScreen:
    table = app.screen.query_one("#cases", DataTable)
    table.move_cursor(row=table.get_row_index(case_id))
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, CaseScreen)
    return app.screen


async def test_unlock_refuses_a_wrong_passphrase_then_opens(cases: World) -> None:
    app = make_app(cases)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert app.session is None
        await unlock(pilot, b"this is not it at all")
        assert isinstance(app.screen, UnlockScreen)
        assert "wrong passphrase" in screen_text(app)
        await unlock(pilot, passphrase_of("alice"))
        assert isinstance(app.screen, CaseListScreen)
        assert app.session is not None and app.session.name == "alice"


async def test_a_store_that_cannot_be_opened_exits_with_its_code(world: World) -> None:
    config = world.config.model_copy(
        update={"paths": world.config.paths.model_copy(update={"data_dir": Path("nowhere")})}
    )
    app = ConsoleApp(
        open_workspace=lambda me: open_workspace(config, me),
        key_file=world.key_files["alice"],
        lock_after_seconds=600,
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert app.return_code == 5


async def test_case_list(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0)  # the first page: a worker
        await settle(pilot)
        await check_snapshot(pilot, "case_list", lambda: screen_text(app))
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == [CASE_B, CASE_A]
        await pilot.press("s")  # open → closed
        await settle(pilot)
        assert table.row_count == 0 and "status: closed" in screen_text(app)
        await pilot.press("s")  # → all
        await settle(pilot)
        assert table.row_count == 2
        await pilot.press("slash")
        await pilot.press(*"qx9b", "enter")
        await settle(pilot)
        assert [table.get_row_at(i)[0].plain for i in range(table.row_count)] == [CASE_A]
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 2


async def test_case_list_pages(world: World) -> None:
    for i in range(130):
        await world.case(f"PAGE-{i:04d}-TEST", ["alice"])
    async with unlocked(world) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        assert table.row_count == 100
        assert "Page 1 · cases 1–100 of 130" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert table.row_count == 30
        assert table.get_row_at(0)[0].plain == "PAGE-0029-TEST"
        assert "Page 2 · cases 101–130 of 130" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert table.get_row_at(0)[0].plain == "PAGE-0129-TEST"


async def test_case_view(cases: World) -> None:
    await cases.incoming(
        CASE_A,
        "A forwarded post",
        forward_origin={"type": "channel", "chat_title": "Ministry news", "date": 1700000000},
    )
    await cases.incoming(
        CASE_A, "", kind="document", attachments=[("tender.pdf", "application/pdf", b"%PDF")]
    )
    await cases.incoming(CASE_A, "Hello, I have documents (corrected)", ref=10, edit=True)
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_A)
        await check_snapshot(pilot, "case_view", lambda: screen_text(app))
        assert len(screen.query(MessageView)) == 5
        unread = await cases.store.unread_counts("alice", [CASE_A])
        assert unread == {CASE_A: 0}
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)


@pytest.mark.parametrize("path", ["local", "gateway"], indirect=True)
async def test_reply_from_the_composer(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_B)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        app.screen.query_one("#body", TextArea).load_text("We got it.\nDo not write from work.")
        app.screen.query_one("#self-destruct", Input).value = "30m"
        await settle(pilot)
        await check_snapshot(pilot, "composer", lambda: screen_text(app))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        [queued] = await cases.store.list_outbox(CASE_B)
        assert queued.status.value == "pending"
        views = list(app.screen.query(MessageView))
        assert views[-1].item.text == "We got it.\nDo not write from work."
        assert views[-1].item.self_destruct_seconds == 1800


async def test_composer_refuses_empty_text_and_bad_times(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_B)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert "Nothing to send" in screen_text(app)
        app.screen.query_one("#body", TextArea).load_text("hi")
        app.screen.query_one("#self-destruct", Input).value = "3 days"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert await cases.store.list_outbox(CASE_B) == []


async def test_a_note_from_the_composer(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("n")
        await settle(pilot)
        app.screen.query_one("#body", TextArea).load_text("Internal: check the tender id.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        views = list(app.screen.query(MessageView))
        assert views[-1].item.kind == "note" and views[-1].has_class("note")
        assert await cases.store.list_outbox(CASE_A) == []


async def test_hostile_source_text_stays_text(cases: World) -> None:
    await cases.incoming(
        CASE_A,
        HOSTILE,
        forward_origin={"type": "user", "sender_name": "[@click=app.quit]x\x1b[31m"},
        attachments=[("[@click=app.quit]\u202efdp.exe", "[red]x[/red]", b"x")],
    )
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_A)
        await check_snapshot(pilot, "hostile", lambda: screen_text(app))
        shown = screen_text(app)
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "[@click=app.quit]click me[/] [b]bold?[/b]" in shown
        assert "⟨U+001B⟩[2J⟨U+001B⟩]0;pwned⟨U+0007⟩ ev⟨U+202E⟩gnp.exe" in shown
        assert "z⟨U+200B⟩w" in shown
        assert "[@click=app.quit]⟨U+202E⟩fdp.exe · [red]x[/red]" in shown
        assert "[@click=app.quit]x⟨U+001B⟩[31m" in shown
        hostile = list(screen.query(MessageView))[-1]
        await pilot.click(hostile, offset=(3, 1))
        await pilot.click(hostile, offset=(6, 1))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, CaseScreen)
        await check_snapshot(pilot, "hostile", lambda: screen_text(app))  # the clicks did nothing


@pytest.mark.parametrize("path", ["local", "gateway"], indirect=True)
async def test_lock_after_inactivity(cases: World) -> None:
    clock = Clock()
    async with unlocked(cases, clock=clock) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        clock.now += 599
        await pilot.press("o")  # any key counts as activity
        clock.now += 599
        await app.lock_if_idle()
        assert isinstance(app.screen, CaseScreen)
        clock.now += 2
        await app.lock_if_idle()
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen)
        assert app.session is None
        assert not any(isinstance(s, CaseScreen | CaseListScreen) for s in app.screen_stack)
        shown = screen_text(app)
        assert "Locked after 10 minute(s) without activity." in shown
        assert "documents" not in shown
        await unlock(pilot, passphrase_of("alice"))
        assert isinstance(app.screen, CaseListScreen)


async def test_ctrl_l_locks_at_once(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, UnlockScreen) and app.session is None


@pytest.mark.parametrize("path", ["local", "gateway"], indirect=True)
async def test_assign_export_close_from_the_case_view(cases: World, tmp_path: Path) -> None:
    await cases.incoming(CASE_A, "", kind="document", attachments=[("t.txt", "text/plain", b"x")])
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AssignScreen)
        app.screen.query_one("#handler", Input).value = "bob"
        await pilot.press("enter")
        await settle(pilot)
        assert await cases.store.list_case_handlers(CASE_A) == ["alice", "bob"]
        assert "assigned: alice, bob" in screen_text(app)

        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        app.screen.query_one("#folder", Input).value = str(tmp_path)
        app.screen.query_one("#folder", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert (tmp_path / "t.txt").read_bytes() == b"x"

        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # closing asks first
        await pilot.click("#ok")
        await settle(pilot)
        case = await cases.store.get_case(CASE_A)
        assert case is not None and case.status.value == "closed"
        assert "· closed ·" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)  # no composer for a closed case


async def test_older_messages_load_on_demand(world: World) -> None:
    await world.case(CASE_A, ["alice"])
    for i in range(60):
        await world.incoming(CASE_A, f"message {i}")
    async with unlocked(world) as (app, pilot):
        screen = await open_case(app, pilot, CASE_A)
        assert len(screen.query(MessageView)) == 50
        assert "press o to load them" in screen_text(app)
        await pilot.press("o")
        await settle(pilot)
        views = list(screen.query(MessageView))
        assert [v.item.text for v in views] == [f"message {i}" for i in range(60)]


@pytest.mark.parametrize("name", ["bob"])
async def test_another_handler_sees_only_their_cases(cases: World, name: str) -> None:
    async with unlocked(cases, name) as (app, _pilot):
        table = app.screen.query_one("#cases", DataTable)
        rows = {table.get_row_at(i)[0].plain for i in range(table.row_count)}
        assert CASE_A not in rows and CASE_B in rows


async def test_a_page_that_arrives_after_locking_is_dropped(
    cases: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from handlers.tui import casescreen

    release = asyncio.Event()
    real_load_page = casescreen.load_page

    async def slow_load_page(*args: object, **kwargs: object) -> object:
        await release.wait()
        return await real_load_page(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(casescreen, "load_page", slow_load_page)
    async with unlocked(cases) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        table.move_cursor(row=table.get_row_index(CASE_A))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CaseScreen)
        await pilot.press("ctrl+l")
        await pilot.pause()
        release.set()
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, UnlockScreen)
        assert "documents" not in screen_text(app)


# -- never the wrong source (issue 15) ---------------------------------------------------------


def case_rows(table: DataTable[object]) -> list[str]:
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Until ``condition()`` holds, a frame at a time; still false after 30 s, it fails and
    shows the screen (a busy 2-core machine can take seconds for what is instant here)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, screen_text(pilot.app)
        await pilot.pause(0.02)


def told(app: ConsoleApp) -> list[str]:
    """What the console tells the officer from now on (a toast is not in the screenshot)."""
    messages: list[str] = []
    notify = app.notify

    def recording(message: str, **kwargs: Any) -> None:
        messages.append(str(message))
        notify(message, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return messages


async def two_cases(world: World) -> None:
    """An English-speaking source (case A, most recently active) and a Russian one (B)."""
    await world.case(CASE_A, ["alice"])
    await world.case(CASE_B, ["alice"], language="ru")
    await world.incoming(CASE_B, "B's first message")
    await world.incoming(CASE_A, "A's first message")


async def test_a_refresh_that_re_sorts_the_list_does_not_move_the_reply_to_another_source(
    world: World,
) -> None:
    """Today's misreply: the officer is on case A; a message arrives in case B, the list is
    refreshed and re-sorted (B above A); the officer opens the case under the cursor,
    presses the reply key and sends. The reply must go to A."""
    await two_cases(world)
    async with unlocked(world) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        assert case_rows(table) == [CASE_A, CASE_B]
        table.move_cursor(row=table.get_row_index(CASE_A))
        await settle(pilot)
        await world.incoming(CASE_B, "B writes again")  # B is now the most recent
        await pilot.press("r")  # refresh
        await settle(pilot)
        assert case_rows(table) == [CASE_B, CASE_A]
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        app.screen.query_one("#body", TextArea).load_text("For the English-speaking source.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        sent_to = {case: len(await world.store.list_outbox(case)) for case in (CASE_A, CASE_B)}
        assert sent_to == {CASE_A: 1, CASE_B: 0}


async def test_a_reply_from_the_list_goes_to_the_case_it_was_opened_for(world: World) -> None:
    await two_cases(world)
    async with unlocked(world) as (app, pilot):
        cases = app.screen
        assert isinstance(cases, CaseListScreen)
        assert cases.cursor_case() == CASE_A
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert f"Reply to the source of case {CASE_A} · language en" in screen_text(app)
        assert f"Reply to {CASE_A}" in screen_text(app)  # the dialog's border title
        app.screen.query_one("#body", TextArea).load_text("For A.")
        # While the officer writes, the list refreshes behind the composer and re-sorts.
        await world.incoming(CASE_B, "B writes again")
        cases.load()
        await wait_for(pilot, lambda: [i.case_id for i in cases.items] == [CASE_B, CASE_A])
        await settle(pilot)
        assert cases.cursor_case() == CASE_A  # the selection followed the case
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is cases  # nothing to ask: the cursor is still on A
        sent_to = {case: len(await world.store.list_outbox(case)) for case in (CASE_A, CASE_B)}
        assert sent_to == {CASE_A: 1, CASE_B: 0}


async def test_the_composer_asks_again_when_its_case_left_the_list(world: World) -> None:
    await two_cases(world)
    await world.store.set_case_flag(CASE_A, CaseFlag.UNREACHABLE)
    async with unlocked(world) as (app, pilot):
        cases = app.screen
        assert isinstance(cases, CaseListScreen)
        await pilot.press("f", "f")  # flag: any → forgotten → unreachable
        await settle(pilot)
        table = cases.query_one("#cases", DataTable)
        assert case_rows(table) == [CASE_A] and cases.cursor_case() == CASE_A
        await pilot.press("w")
        await settle(pilot)
        composer = app.screen
        assert isinstance(composer, ComposeScreen)
        composer.query_one("#body", TextArea).load_text("For A.")
        # The source unblocks the bot: A leaves the "unreachable" list behind the composer.
        await world.store.set_case_flag(CASE_A, CaseFlag.UNREACHABLE, False)
        cases.load()
        await wait_for(pilot, lambda: cases.items == ())
        await settle(pilot)
        assert cases.cursor_case() is None
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        shown = screen_text(app)
        assert f"Send this reply to case {CASE_A}?" in shown
        assert f"The case list changed while you wrote: case {CASE_A} is no longer in" in shown
        assert f"This reply goes to the source of case {CASE_A} only." in shown
        assert f"Send to case {CASE_A}" in shown
        await pilot.press("enter")  # the focus is on "Back": nothing is sent
        await settle(pilot)
        assert app.screen is composer
        assert "Not sent." in screen_text(app)
        assert await world.store.list_outbox(CASE_A) == []
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#ok")
        await settle(pilot)
        assert app.screen is cases
        assert len(await world.store.list_outbox(CASE_A)) == 1
        assert await world.store.list_outbox(CASE_B) == []


async def test_the_selection_follows_the_case_and_says_when_it_left(world: World) -> None:
    case_c = "9ABC-DEFG-HJKM"
    await two_cases(world)
    await world.case(case_c, ["alice"])
    await world.incoming(case_c, "C's first message")  # order: C, A, B
    async with unlocked(world) as (app, pilot):
        cases = app.screen
        assert isinstance(cases, CaseListScreen)
        table = cases.query_one("#cases", DataTable)
        assert case_rows(table) == [case_c, CASE_A, CASE_B]
        await pilot.press("down")  # the officer selects A
        await settle(pilot)
        assert cases.cursor_case() == CASE_A
        await world.incoming(CASE_B, "B writes again")  # B, C, A
        await pilot.press("r")
        await settle(pilot)
        assert case_rows(table) == [CASE_B, case_c, CASE_A]
        assert table.cursor_row == 2 and cases.cursor_case() == CASE_A
        # A colleague closes A: it leaves the list of open cases, and nothing is selected.
        await world.store.set_case_status(CASE_A, CaseStatus.CLOSED)
        await pilot.press("r")
        await settle(pilot)
        assert case_rows(table) == [CASE_B, case_c]
        assert cases.cursor_case() is None and not table.show_cursor
        assert f"Case {CASE_A} is no longer in this list" in screen_text(app)
        messages = told(app)
        await pilot.press("enter")  # opens nothing
        await pilot.press("w")  # writes to nobody
        await settle(pilot)
        assert app.screen is cases
        assert messages == ["No case is selected: ↑/↓ selects one."]
        await pilot.press("down")  # the first cursor key selects the top case
        await settle(pilot)
        assert cases.cursor_case() == CASE_B and table.show_cursor
        assert "is no longer in this list" not in screen_text(app)


async def test_a_case_moved_to_another_page_is_not_replaced_by_a_neighbour(world: World) -> None:
    for i in range(102):
        await world.case(f"PAGE-{i:04d}-TEST", ["alice"])  # the newest is PAGE-0101
    async with unlocked(world) as (app, pilot):
        cases = app.screen
        assert isinstance(cases, CaseListScreen)
        table = cases.query_one("#cases", DataTable)
        await pilot.press("n")
        await settle(pilot)
        assert case_rows(table) == ["PAGE-0001-TEST", "PAGE-0000-TEST"]
        assert cases.cursor_case() == "PAGE-0001-TEST"  # a new page: its first case
        await pilot.press("down")
        await settle(pilot)
        assert cases.cursor_case() == "PAGE-0000-TEST"
        await world.store.touch_case("PAGE-0000-TEST")  # new activity: now on page 1
        await pilot.press("r")
        await settle(pilot)
        assert case_rows(table) == ["PAGE-0001-TEST"]
        assert cases.cursor_case() is None
        assert "Case PAGE-0000-TEST is no longer in this list" in screen_text(app)
        await pilot.press("p")  # back to page 1, where it is now: selected again
        await settle(pilot)
        assert table.get_row_at(0)[0].plain == "PAGE-0000-TEST"
        assert cases.cursor_case() == "PAGE-0000-TEST" and table.show_cursor


async def test_a_pending_reply_is_cancelled_from_the_thread(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_B)
        messages = told(app)
        await pilot.press("x")
        await settle(pilot)
        assert app.screen is screen
        assert messages[-1].startswith("No reply of yours is waiting to be sent")
        for text in ("First reply.", "Second reply, meant for another source."):
            await pilot.press("r")
            await settle(pilot)
            app.screen.query_one("#body", TextArea).load_text(text)
            await pilot.press("ctrl+s")
            await settle(pilot)
        assert [v.item.delivery for v in screen.query(MessageView)][-2:] == ["pending"] * 2
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, CancelReplyScreen)
        shown = screen_text(app)
        assert f"Cancel a reply to case {CASE_B} before the relay sends it" in shown
        assert "Second reply, meant for another source. · id " in shown
        assert [r.text for r in app.screen.replies] == [  # newest first
            "Second reply, meant for another source.",
            "First reply.",
        ]
        await pilot.press("enter")  # the newest one
        await settle(pilot)
        assert app.screen is screen
        assert messages[-1] == "Reply cancelled: the relay will not send it."
        texts = [v.item.text for v in screen.query(MessageView)]
        assert texts[-1] == "First reply." and "Second reply" not in " ".join(texts)
        [left] = await cases.store.list_outbox(CASE_B)
        assert left.status.value == "pending"
        actions = [e.action for e in await cases.store.list_audit(case_id=CASE_B)]
        assert actions == ["read", "reply", "reply", "reply-cancel"]


async def test_a_reply_the_relay_claimed_meanwhile_is_not_cancelled(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_B)
        messages = told(app)
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#body", TextArea).load_text("On its way.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.items[-1].delivery == "pending"
        claimed = await cases.store.claim_outbox(lease=timedelta(seconds=60))  # the relay
        assert claimed is not None
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert messages[-1].endswith("cannot be cancelled: the relay is sending it now")
        [kept] = await cases.store.list_outbox(CASE_B)
        assert kept.status.value == "claimed"
        assert screen.items[-1].text == "On its way." and screen.items[-1].delivery == "claimed"
