"""The case list: the officer's cases a page at a time, filtered and searchable.

A page is one keyset query (handlers.cases.list_cases), so the list opens as fast with
100,000 cases as with ten; ``n``/``p`` move between pages, ``s`` and ``f`` cycle the
status and flag filters, ``/`` searches case ids.
"""

from __future__ import annotations

from typing import ClassVar, Final

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from core.untrusted import as_text
from store import CaseFlag, CaseStatus, StoreError

from .._errors import ConsoleError
from ..cases import PAGE_SIZE, CaseSummary, count_cases, list_cases, search_cases
from ..session import Session
from .render import case_cells

__all__ = ["CaseListScreen"]

_STATUSES: Final[tuple[CaseStatus | None, ...]] = (CaseStatus.OPEN, CaseStatus.CLOSED, None)
_FLAGS: Final[tuple[CaseFlag | None, ...]] = (None, *CaseFlag)
_COLUMNS: Final = ("Case", "Status", "Unread", "Last activity", "Flags", "Assigned")


class CaseListScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_page", "Next page"),
        Binding("p", "previous_page", "Prev page"),
        Binding("s", "cycle_status", "Status"),
        Binding("f", "cycle_flag", "Flag"),
        Binding("slash", "search", "Search"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.status: CaseStatus | None = CaseStatus.OPEN
        self.flag: CaseFlag | None = None
        self.query_text = ""
        self._cursors: list[int | None] = [None]  # the cursor each page starts from
        self._next: int | None = None
        self.items: tuple[CaseSummary, ...] = ()
        self._away = False

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="list-title")
        yield Input(placeholder="Search case ID (Enter)", id="search")
        table: DataTable[Text] = DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(Text(""), id="pager")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cases", DataTable)
        table.add_columns(*_COLUMNS)
        table.focus()
        self.load()

    def on_screen_suspend(self) -> None:
        self._away = True

    def on_screen_resume(self) -> None:
        if self._away:  # back from a case: unread counts and flags may have changed
            self._away = False
            self.load()

    def _title(self, total: int) -> Text:
        title = Text(end="")
        title.append("Cases of ", style="bold")
        title.append_text(as_text(self.session.name, single_line=True, style="bold"))
        status = self.status.value if self.status else "all"
        title.append(f" · status: {status} · flag: {self.flag.value if self.flag else 'any'}")
        if self.query_text:
            title.append(" · search: ")
            title.append_text(as_text(self.query_text, single_line=True))
        title.append(f" · {total:,} case(s)")
        return title

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        pager = self.query_one("#pager", Static)
        pager.update(Text("Loading…", style="dim"))
        try:
            if self.query_text:
                items = await search_cases(
                    self.session, self.query_text, status=self.status, flag=self.flag
                )
                self._next, total = None, len(items)
            else:
                page = await list_cases(
                    self.session, status=self.status, flag=self.flag, before=self._cursors[-1]
                )
                items, self._next = page.items, page.next_cursor
                total = await count_cases(self.session, status=self.status, flag=self.flag)
        except (ConsoleError, StoreError) as exc:
            pager.update(as_text(str(exc), style="bold red"))
            return
        table = next(iter(self.query("#cases").results(DataTable)), None)
        if table is None:  # the console was locked (or the screen closed) while loading
            return
        self.items = items
        row = table.cursor_row
        table.clear()
        for item in items:
            table.add_row(*case_cells(item), key=item.case_id)
        if items:
            table.move_cursor(row=min(row, len(items) - 1))
        self.query_one("#list-title", Static).update(self._title(total))
        first = (len(self._cursors) - 1) * PAGE_SIZE
        shown = f"{first + 1:,}–{first + len(items):,}" if items else "none"
        more = " · n: next page" if self._next is not None else ""
        back = " · p: previous page" if len(self._cursors) > 1 else ""
        pager.update(Text(f"Page {len(self._cursors)} · cases {shown} of {total:,}{more}{back}"))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from .casescreen import CaseScreen

        case_id = event.row_key.value
        if case_id is not None:
            self.app.push_screen(CaseScreen(self.session, case_id))

    def _restart(self) -> None:
        self._cursors = [None]
        self.load()

    def action_next_page(self) -> None:
        if self._next is not None and not self.query_text:
            self._cursors.append(self._next)
            self.load()

    def action_previous_page(self) -> None:
        if len(self._cursors) > 1:
            self._cursors.pop()
            self.load()

    def action_cycle_status(self) -> None:
        self.status = _STATUSES[(_STATUSES.index(self.status) + 1) % len(_STATUSES)]
        self._restart()

    def action_cycle_flag(self) -> None:
        self.flag = _FLAGS[(_FLAGS.index(self.flag) + 1) % len(_FLAGS)]
        self._restart()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        field = self.query_one("#search", Input)
        field.value = ""
        if self.query_text:
            self.query_text = ""
            self._restart()
        self.query_one("#cases", DataTable).focus()

    def action_refresh(self) -> None:
        self.load()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        self._restart()
        self.query_one("#cases", DataTable).focus()
