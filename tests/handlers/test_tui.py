"""The interactive console, headless (Textual's run_test and Pilot).

The main screens are compared as text with files in tests/handlers/snapshots/
(regenerate them with WRITEIN_UPDATE_SNAPSHOTS=1 and review the diff).
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea

from handlers.session import open_workspace
from handlers.tui import ConsoleApp
from handlers.tui.caselist import CaseListScreen
from handlers.tui.casescreen import CaseScreen, MessageView
from handlers.tui.compose import ComposeScreen
from handlers.tui.dialogs import AssignScreen, ExportScreen
from handlers.tui.unlock import UnlockScreen
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


def screen_text(app: ConsoleApp) -> str:
    """The current screen as plain text, the way export_screenshot renders it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system=None,
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("WRITEIN_UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8")


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
        open_workspace=lambda: open_workspace(world.config),
        key_file=world.key_files[name],
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
        open_workspace=lambda: open_workspace(config),
        key_file=world.key_files["alice"],
        lock_after_seconds=600,
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert app.return_code == 5


async def test_case_list(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        for _ in range(200):  # the first page loads in a worker: wait for its rows
            if table.row_count:
                break
            await pilot.pause(0.05)
        await settle(pilot)
        check_snapshot("case_list", screen_text(app))
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
        check_snapshot("case_view", screen_text(app))
        assert len(screen.query(MessageView)) == 5
        unread = await cases.store.unread_counts("alice", [CASE_A])
        assert unread == {CASE_A: 0}
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)


async def test_reply_from_the_composer(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_B)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        app.screen.query_one("#body", TextArea).load_text("We got it.\nDo not write from work.")
        app.screen.query_one("#self-destruct", Input).value = "30m"
        await settle(pilot)
        check_snapshot("composer", screen_text(app))
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
        check_snapshot("hostile", shown)


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
