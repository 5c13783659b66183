"""The console is live (issue 15 item 2, ADR 0084): what happens in the store shows on the
screen without a key press, over both paths.

Every wait here is for a condition with a deadline (``within``), never a fixed sleep. The
deadline is a bound for a busy machine, not the measure: the console looks every 0.5 s
(``LIVE_SECONDS``), and bench/bench_console.py prints how long a change takes to show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from handlers.session import open_workspace
from handlers.tui import ConsoleApp
from handlers.tui.caselist import CaseListScreen
from handlers.tui.casescreen import CaseScreen, EventView, MessageView
from store import CaseStatus
from tests.handlers.conftest import CASE_A, CASE_B, World, passphrase_of
from tests.handlers.test_tui import SIZE, Clock, open_case, screen_text, settle, unlock, unlocked
from tests.support.world import open_case as open_roster_case

BOTH_PATHS = True
LIVE_WITHIN = 30.0


async def within(pilot: Pilot[None], condition: Callable[[], bool], seconds: float) -> float:
    """Seconds until ``condition()`` holds, checked a frame at a time; fails after
    ``seconds`` without it. No key is pressed meanwhile."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        await pilot.pause(0.02)
    return time.monotonic() - start


def unread_of(app: ConsoleApp, case_id: str) -> int | None:
    screen = app.screen
    if not isinstance(screen, CaseListScreen):
        return None
    return next((i.unread for i in screen.items if i.case_id == case_id), None)


async def test_a_new_message_shows_in_the_list_without_a_key_press(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        assert unread_of(app, CASE_A) == 2
        await cases.incoming(CASE_A, "Are you there?")
        await within(pilot, lambda: unread_of(app, CASE_A) == 3, LIVE_WITHIN)
        table = app.screen.query_one("#cases", DataTable)
        headings = [str(column.label) for column in table.ordered_columns]
        marks = str(table.get_row(CASE_A)[headings.index("Marks")])
        assert "● unread" in marks and "↩ awaiting reply" in marks


async def test_a_new_case_assigned_to_the_officer_shows_by_itself(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, CaseListScreen)
        await cases.store.create_case("2DEF-GHJK-MNPQ", language="en")
        await open_roster_case(cases.store, cases.org, "2DEF-GHJK-MNPQ", ["alice"])
        await within(
            pilot, lambda: "2DEF-GHJK-MNPQ" in [i.case_id for i in screen.items], LIVE_WITHIN
        )


async def test_the_open_case_shows_messages_delivery_and_source_events_by_itself(
    cases: World,
) -> None:
    async with unlocked(cases) as (app, pilot):
        screen = await open_case(app, pilot, CASE_B)

        def texts() -> list[str]:
            return [v.item.text for v in screen.query(MessageView)]

        await cases.incoming(CASE_B, "A new message while the case is open")
        await within(
            pilot, lambda: texts()[-1:] == ["A new message while the case is open"], LIVE_WITHIN
        )
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#body").load_text("We read you.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.items[-1].delivery == "pending"
        claimed = await cases.store.claim_outbox(lease=timedelta(seconds=60))  # the relay
        assert claimed is not None
        await within(pilot, lambda: screen.items[-1].delivery == "claimed", LIVE_WITHIN)
        await cases.store.append_audit("relay", "source-forgot", case_id=CASE_B)
        await within(pilot, lambda: bool(screen.query(EventView)), LIVE_WITHIN)
        # On the screen too (the thread is drawn a frame after its widgets are mounted).
        await within(pilot, lambda: "The source used /forget" in screen_text(app), LIVE_WITHIN)


async def test_a_closed_case_that_receives_a_message_needs_attention(cases: World) -> None:
    [newest] = await cases.store.list_envelopes(CASE_A, newest_first=True, limit=1)
    await cases.store.mark_read(CASE_A, "alice", newest.seq)  # read, then closed
    await cases.store.set_case_status(CASE_A, CaseStatus.CLOSED)
    async with unlocked(cases) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, CaseListScreen)
        assert screen.attention == () and CASE_A not in [i.case_id for i in screen.items]
        await cases.incoming(CASE_A, "I have more, are you still there?")
        await within(pilot, lambda: [i.case_id for i in screen.attention] == [CASE_A], LIVE_WITHIN)
        assert f"1 closed case(s) received new messages: {CASE_A}" in screen_text(app)
        await pilot.press("t")
        await settle(pilot)
        assert [i.case_id for i in screen.items] == [CASE_A]
        assert "needs attention" in screen_text(app)
        await pilot.press("enter")  # reading it takes it off the list
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert screen.items == () and screen.attention == ()


@pytest.mark.parametrize("bell", [True, False])
async def test_the_bell_rings_for_a_new_message_only_when_asked_for(
    cases: World, bell: bool
) -> None:
    console = cases.config.console.model_copy(update={"bell": bell})
    config = cases.config.model_copy(update={"console": console})
    app = ConsoleApp(
        open_workspace=lambda me: open_workspace(config, me),
        key_file=cases.key_files["alice"],
        remote=cases.remote,
        lock_after_seconds=600,
        clock=Clock(),
    )
    rings: list[None] = []
    app.bell = lambda: rings.append(None)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await unlock(pilot, passphrase_of("alice"))
        screen = app.screen
        assert isinstance(screen, CaseListScreen)
        await cases.incoming(CASE_B, "ring?")
        await within(pilot, lambda: unread_of(app, CASE_B) == 2, LIVE_WITHIN)
        assert rings == ([None] if bell else [])


async def test_opening_a_case_is_audited_once_a_day(cases: World) -> None:
    async with unlocked(cases) as (app, pilot):
        await open_case(app, pilot, CASE_A)
        await pilot.press("escape")
        await settle(pilot)
        await open_case(app, pilot, CASE_A)
        reads = await cases.store.list_audit(case_id=CASE_A, action="read")
        assert [e.actor for e in reads] == ["handler alice"]
        assert isinstance(app.screen, CaseScreen)
