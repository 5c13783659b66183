"""Dialogs that do not surprise, accountability and a console for people (issue 15 items
3-5): a help screen, confirmations before close and hand-over, "Save note", a reply as
long as Telegram takes, forwards and times for a reader, careful export, one word."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Input, TextArea

from handlers._errors import UsageError
from handlers.compose import TELEGRAM_LIMIT, send_reply, telegram_length
from handlers.port import EVENT_ACTIONS, CaseEvent
from handlers.tui.caselist import CaseListScreen
from handlers.tui.casescreen import CaseScreen
from handlers.tui.compose import ComposeScreen
from handlers.tui.dialogs import AssignScreen, ConfirmScreen, ExportScreen, HelpScreen
from handlers.tui.render import event_text, local_time, origin_text
from tests.handlers.conftest import CASE_A, CASE_B, World
from tests.handlers.test_tui import (
    check_snapshot,
    open_case,
    screen_text,
    settle,
    unlocked,
)

BOTH_PATHS = True
EMOJI = "\U0001f600"  # two UTF-16 code units


async def test_help_on_question_mark(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await check_snapshot(pilot, "help", lambda: screen_text(app))
        shown = screen_text(app)
        assert "Reply" in shown and "ctrl+l" in shown and "Lock the console now" in shown
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
        await open_case(app, pilot, CASE_A)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen) and "Close/reopen" in screen_text(app)


async def test_closing_asks_first_and_back_keeps_it_open(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_A)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Close case {CASE_A}?" in screen_text(app)
        await pilot.press("enter")  # the focus is on "Keep it open"
        await settle(pilot)
        assert app.screen is screen
        case = await cases.store.get_case(CASE_A)
        assert case is not None and case.status.value == "open"


async def test_a_hand_over_asks_first(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_A)
        for confirm in (False, True):
            await pilot.press("a")
            await settle(pilot)
            assert isinstance(app.screen, AssignScreen)
            assert "handler" not in screen_text(app).lower()
            app.screen.query_one("#handler", Input).value = "bob"
            app.screen.query_one("#hand-over", Checkbox).value = True
            app.screen.query_one("#handler", Input).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            assert f"Hand case {CASE_A} over to bob?" in screen_text(app)
            if confirm:
                await pilot.click("#ok")
            else:
                await pilot.press("enter")  # keeps the case
            await settle(pilot)
            names = await cases.store.list_case_handlers(CASE_A)
            if not confirm:
                assert app.screen is screen and names == ["alice"]
        assert names == ["bob"]
        assert isinstance(app.screen, CaseListScreen)


async def test_the_note_dialog_saves_a_note(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert str(app.screen.query_one("#send", Button).label) == "Save note (ctrl+s)"
        assert "Send" not in screen_text(app).split("Internal note")[1]


async def test_a_reply_longer_than_telegram_takes_is_refused_before_it_is_queued(
    cases: World,
) -> None:
    text = EMOJI * 2100  # 2,100 characters: under 4,000, but 4,200 UTF-16 units
    assert telegram_length("en", text) > TELEGRAM_LIMIT
    session = await cases.session("alice")
    with pytest.raises(UsageError, match="too long for Telegram: 4,2"):
        await send_reply(session, CASE_A, text)
    assert await cases.store.list_outbox(CASE_A) == []
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#body", TextArea).load_text(text)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert "The reply is too long for Telegram" in screen_text(app)
    assert await cases.store.list_outbox(CASE_A) == []
    fits = EMOJI * ((TELEGRAM_LIMIT - telegram_length("en", "")) // 2)
    assert telegram_length("en", fits + EMOJI) > TELEGRAM_LIMIT >= telegram_length("en", fits)
    with pytest.raises(UsageError, match="shorten it by"):
        await send_reply(session, CASE_A, fits + EMOJI)
    await send_reply(session, CASE_A, fits)  # at the limit: queued
    assert len(await cases.store.list_outbox(CASE_A)) == 1


@pytest.fixture
def kyiv(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Kyiv")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def test_forwards_and_times_are_written_for_a_reader(kyiv: None) -> None:
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert local_time(noon) == "2026-03-01 14:00 EET"
    assert (
        origin_text({"type": "hidden_user"})
        == "a hidden account (its owner hides it from forwards)"
    )
    assert origin_text({"type": "user"}) == "a Telegram account (writein keeps no name)"
    channel = {
        "type": "channel",
        "chat_title": "Ministry news",
        "chat_username": "ministry",
        "message_id": 42,
        "date": int(noon.timestamp()),
    }
    assert origin_text(channel) == (
        "the public channel “Ministry news” (t.me/ministry/42), first posted 2026-03-01 14:00 EET"
    )
    assert "=" not in origin_text({"type": "user", "forward_sender_id": 5})  # no raw fields


async def test_forwarded_from_a_hidden_account_in_the_thread(cases: World) -> None:
    await cases.incoming(CASE_A, "pass it on", forward_origin={"type": "hidden_user"})
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        assert "↪ Forwarded from a hidden account" in screen_text(app)


async def test_export_says_what_a_file_may_reveal_and_defaults_to_a_private_folder(
    cases: World,
) -> None:
    await cases.incoming(
        CASE_A, "", kind="document", attachments=[("report.pdf", "application/pdf", b"%PDF-1")]
    )
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        folder = cases.config.data_dir / "exports"
        assert app.screen.query_one("#folder", Input).value == str(folder)
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert Path.cwd() != folder
        shown = " ".join(screen_text(app).split())
        assert "This is a PDF document" in shown and "author" in shown
        assert "its metadata may all remain" in shown
        app.screen.query_one("#folder", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert (folder / "report.pdf").read_bytes() == b"%PDF-1"


async def test_the_interface_says_case_officer(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        assert "handler" not in screen_text(app).lower()
        await open_case(app, pilot, CASE_B)
        assert "handler" not in screen_text(app).lower()
        await pilot.press("n")
        await settle(pilot)
        assert "case officers of this case" in screen_text(app)


@pytest.mark.parametrize("action", EVENT_ACTIONS)
def test_every_source_event_is_said_in_words(action: str) -> None:
    line = event_text(CaseEvent(seq=1, on=date(2026, 12, 6), action=action)).plain
    assert action not in line and "2026-12-06" in line
