"""Find text: search the decrypted messages of the officer's most recent cases (ADR 0091).

Opened with ctrl+f from the case list. The search runs in the console's memory only
(handlers.search): nothing of it is written anywhere, and locking drops it. Enter on a hit
opens its case.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from core.untrusted import as_text
from store import StoreError

from .._errors import ConsoleError
from ..search import RECENT_CASES, SearchResult, search_content
from ..session import Session
from .dialogs import HelpScreen
from .render import local_time

__all__ = ["FindScreen"]

_WHO = {"in": "source", "out": "reply", "note": "note"}


class FindScreen(Screen[str | None]):
    """Type, Enter: the messages that contain it; Enter on one opens its case."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.result: SearchResult | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                f"Find text in the messages of your {RECENT_CASES} most recently active cases"
                " (decrypted in memory only, never written)",
                style="bold",
            ),
            id="find-title",
        )
        yield Input(placeholder="Text to find (Enter)", id="find")
        yield Static(Text(""), id="find-status")
        yield DataTable(id="hits", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#hits", DataTable).add_columns("Case", "When", "Who", "Text")
        self.query_one("#find", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.find(event.value)

    @work(exclusive=True, group="find")
    async def find(self, query: str) -> None:
        status = self.query_one("#find-status", Static)
        status.update(Text("Searching…", style="dim"))
        try:
            result = await search_content(self.session, query)
        except (ConsoleError, StoreError) as exc:
            status.update(as_text(str(exc), style="bold red"))
            return
        if not self.is_attached or not self.query("#hits"):
            return  # locked meanwhile: the hits are dropped, not drawn
        self.result = result
        table = self.query_one("#hits", DataTable)
        table.clear()
        for i, hit in enumerate(result.hits):
            who = _WHO.get(hit.direction.value, hit.direction.value)
            if hit.kind == "label":
                who = "label"
            if hit.author and hit.direction.value != "in":
                who += f" by {hit.author}"
            table.add_row(
                as_text(hit.case_id, single_line=True),
                Text(local_time(hit.created)),
                as_text(who, single_line=True),
                as_text(hit.snippet, single_line=True),
                key=str(i),
            )
        more = " (only the newest shown)" if result.truncated else ""
        status.update(
            Text(
                f"{len(result.hits)} message(s){more} in {result.cases} case(s) · "
                f"{result.messages:,} message(s) searched in {result.seconds:.2f} s · "
                "Enter opens the case",
            )
        )
        if result.hits:
            table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.result is None or event.row_key.value is None:
            return
        self.dismiss(self.result.hits[int(event.row_key.value)].case_id)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Find text", self.BINDINGS))
