"""A caseload in the TUI (issue 15, item 3): labels and tags, finding text in decrypted
messages (in memory only), the unread / awaiting / mine / team views, reply templates."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, TextArea

from handlers.compose import send_reply
from handlers.labels import set_label
from handlers.tui.caselist import CaseListScreen, CaseTable
from handlers.tui.casescreen import CaseScreen
from handlers.tui.compose import ComposeScreen
from handlers.tui.dialogs import LabelScreen, TemplateScreen
from handlers.tui.find import FindScreen
from tests.handlers.conftest import CASE_A, CASE_B, World
from tests.handlers.test_tui import (
    case_rows,
    check_snapshot,
    open_case,
    screen_text,
    settle,
    unlocked,
    wait_for,
)

BOTH_PATHS = True


def left(text: str, width: int) -> str:
    return "\n".join(line[:width].rstrip() for line in text.splitlines())


async def test_a_label_set_in_the_list_shows_in_the_list_the_case_and_the_composer(
    cases: World,
) -> None:
    async with unlocked(cases) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        table.move_cursor(row=table.get_row_index(CASE_A))
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LabelScreen)
        assert f"Label of case {CASE_A}" in screen_text(app)
        app.screen.query_one("#label", Input).value = "Ministry tender"
        app.screen.query_one("#tags", Input).value = "urgent, procurement"
        app.screen.query_one("#label", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
        # (up to the status column: the label record made today the case's last activity)
        await check_snapshot(pilot, "case_list_labelled", lambda: left(screen_text(app), 62))
        row = next(line for line in screen_text(app).splitlines() if CASE_A in line)
        assert "Ministry tender · #urgent #procurement" in row
        # The list's reply dialog names the case and its label.
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert f"Reply to the source of case {CASE_A}" in screen_text(app)
        assert "Label: Ministry tender · #urgent #procurement" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_case(app, pilot, CASE_A)
        header = screen_text(app).splitlines()[0]
        assert f"Case {CASE_A} · Ministry tender · #urgent #procurement" in header
        assert "🏷 Label set by alice" in screen_text(app)
        # Changed in the case view: the header follows.
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LabelScreen)
        app.screen.query_one("#label", Input).value = "Tender, second source"
        app.screen.query_one("#label", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        await wait_for(pilot, lambda: "Tender, second source" in screen_text(app).splitlines()[0])


async def test_a_colleagues_label_appears_without_a_key_press(cases: World) -> None:
    bob = await cases.session("bob")
    async with unlocked(cases) as (app, pilot):
        await set_label(bob, CASE_B, "Set by bob")
        await wait_for(pilot, lambda: "Set by bob" in screen_text(app))


async def test_a_bad_label_is_refused_in_the_dialog(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await pilot.press("l")
        await settle(pilot)
        app.screen.query_one("#label", Input).value = "x" * 61
        app.screen.query_one("#label", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LabelScreen)
        assert "at most 60 characters" in screen_text(app)


async def test_find_text_opens_the_case_and_is_forgotten_on_lock(cases: World) -> None:
    await cases.incoming(CASE_A, "The ledger is in the minister's car.")
    async with unlocked(cases) as (app, pilot):
        session = app.session
        assert session is not None
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert isinstance(app.screen, FindScreen)
        app.screen.query_one("#find", Input).value = "LEDGER"
        app.screen.query_one("#find", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        shown = screen_text(app)
        assert "The ledger is in the minister's car." in shown
        assert "1 message(s) in 2 case(s)" in shown
        assert session.memory.texts  # the index, in memory
        await pilot.press("enter")  # the hit
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.case_id == CASE_A
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.session is None
        assert session.memory.texts == {} and session.memory.labels == {}


async def test_views_unread_awaiting_mine_team(cases: World) -> None:
    alice = await cases.session("alice")
    await send_reply(alice, CASE_B, "We read you.")  # CASE_B awaits nothing now
    async with unlocked(cases) as (app, pilot):
        table = app.screen.query_one("#cases", DataTable)
        assert case_rows(table) == [CASE_B, CASE_A]
        seen = {}
        for view in ("unread", "awaiting", "mine", "team", "all"):
            await pilot.press("v")
            await settle(pilot)
            seen[view] = case_rows(table)
            title = screen_text(app).splitlines()[0]
            assert (f"view: {view}" in title) == (view != "all")
        assert seen == {
            "unread": [CASE_B, CASE_A],
            "awaiting": [CASE_A],
            "mine": [CASE_A],
            "team": [CASE_B],
            "all": [CASE_B, CASE_A],
        }
        await open_case(app, pilot, CASE_A)  # read: it leaves the unread view
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert case_rows(table) == [CASE_B]
        assert "1 case(s) in view unread · no more" in screen_text(app)


async def test_a_template_in_the_cases_language_goes_into_the_composer(cases: World) -> None:
    (cases.config.data_dir / "templates.toml").write_text(
        '[en]\nthanks = "Thank you, we read it."\n[ru]\nthanks = "Спасибо, прочитали."\n'
        'safety = "Не пишите с рабочего телефона."\n',
        encoding="utf-8",
    )
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_B)  # in Russian
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, TemplateScreen)
        shown = screen_text(app)
        assert "Спасибо, прочитали." in shown and "Thank you" not in shown
        await pilot.press("down", "enter")  # the second: "thanks" (sorted by name)
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        body = app.screen.query_one("#body", TextArea)
        assert body.text == "Спасибо, прочитали."
        await pilot.press("ctrl+s")
        await settle(pilot)
        [item] = await cases.store.list_outbox(CASE_B)
        assert item.author == "alice"


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield CaseTable()


async def test_a_label_read_after_the_rows_were_drawn_shows_whole() -> None:
    """The labels come in after the rows are up. A frame drawn before the table has
    measured the wider label must not leave it cut to the width of its header."""
    app = OneTable()
    async with app.run_test(size=(60, 4)) as pilot:
        table = app.query_one(CaseTable)
        [label] = table.add_columns("Label")
        table.add_row(Text(""), key=CASE_A)
        await pilot.pause()
        table.update_cell(CASE_A, label, Text("Ministry tender"), update_width=True)
        app.export_screenshot()  # a frame, drawn before the table's next idle
        await wait_for(pilot, lambda: table.columns[label].content_width == len("Ministry tender"))
        await pilot.pause()
        assert "Ministry tender" in screen_text(app)


async def test_a_label_with_markup_stays_text(cases: World) -> None:
    bob = await cases.session("bob")
    await set_label(bob, CASE_B, "[@click=app.quit]quit [b]bold[/b]", "[red]x")
    async with unlocked(cases) as (app, pilot):
        await wait_for(pilot, lambda: "[@click=app.quit]quit" in screen_text(app))
        row = next(line for line in screen_text(app).splitlines() if CASE_B in line)
        assert "[@click=app.quit]quit [b]bold[/b] · #[r…" in row  # (cut at 40 in the list)
        table = app.screen.query_one("#cases", DataTable)
        region = table.region
        await pilot.click(offset=(region.x + 20, region.y + 1))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, CaseListScreen)
