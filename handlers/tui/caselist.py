"""The case list: the officer's cases a page at a time, filtered and searchable.

A page is one keyset query (handlers.cases.list_cases), so the list opens as fast with
100,000 cases as with ten; ``n``/``p`` move between pages, ``s`` and ``f`` cycle the
status and flag filters, ``/`` searches case ids, ``w`` writes a reply to the selected case,
``t`` lists closed cases that received a message (ADR 0084), ``?`` shows the keys.
``v`` cycles the views (all, unread, awaiting reply, mine alone, shared with the team),
``l`` sets the selected case's label and tags (sealed to its officers, ADR 0090), ctrl+f
finds text in the decrypted messages of the most recent cases (in memory only, ADR 0091).

The list is live: once a second it asks for the pulse (one small read, handlers.port.Pulse)
and loads again when it changed, so new messages, delivery states and assignments show
without a key press; with ``[console] bell = true`` a new unread message rings the
terminal bell (the bell character alone: no content).

The selection is a case, not a row: a refresh (``r``, coming back from a case) puts the
cursor back on the same case id wherever the new order puts it. If that case has left
the list (closed, filtered out, moved to another page by new activity), the list says so
and selects nothing, rather than leaving the cursor on whichever case now has its row;
a cursor key then selects a case again. Changing the view on purpose (another page,
filter or search) selects the view's first case unless the selected one is in it.
"""

from __future__ import annotations

import contextlib
from typing import ClassVar, Final

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from core.untrusted import as_text
from store import CaseFlag, CaseStatus, StoreError

from .._errors import ConsoleError
from ..cases import (
    PAGE_SIZE,
    CaseSummary,
    View,
    count_cases,
    list_cases,
    list_view,
    needs_attention,
    search_cases,
)
from ..labels import CaseLabel, current_labels, set_label
from ..port import Pulse
from ..session import Session
from .compose import Composed, ComposeScreen, send_composed
from .dialogs import HelpScreen, LabelScreen
from .render import case_cells, label_cell, tell

__all__ = ["CaseListScreen"]

_STATUSES: Final[tuple[CaseStatus | None, ...]] = (CaseStatus.OPEN, CaseStatus.CLOSED, None)
_FLAGS: Final[tuple[CaseFlag | None, ...]] = (None, *CaseFlag)
_VIEWS: Final = tuple(View)
_COLUMNS: Final = (
    "Case",
    "Label",
    "Status",
    "Unread",
    "Marks",
    "Last activity",
    "Flags",
    "Assigned",
)
#: How often a live screen asks whether anything changed (seconds).
LIVE_SECONDS: Final = 0.5


class CaseTable(DataTable[Text]):
    """The case table. While no case is selected its cursor is hidden (Enter opens
    nothing); the first cursor key shows it again, on the top row."""

    def _reveal(self) -> bool:
        """Show a hidden cursor; True if it was hidden (the key is used up)."""
        if self.show_cursor or not self.row_count:
            return False
        self.move_cursor(row=0)
        self.show_cursor = True
        return True

    def action_cursor_up(self) -> None:
        if not self._reveal():
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if not self._reveal():
            super().action_cursor_down()

    def action_page_up(self) -> None:
        if not self._reveal():
            super().action_page_up()

    def action_page_down(self) -> None:
        if not self._reveal():
            super().action_page_down()

    def action_scroll_top(self) -> None:
        if not self._reveal():
            super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        if not self._reveal():
            super().action_scroll_bottom()

    def action_scroll_home(self) -> None:
        if not self._reveal():
            super().action_scroll_home()

    def action_scroll_end(self) -> None:
        if not self._reveal():
            super().action_scroll_end()

    async def _on_idle(self, event: events.Idle) -> None:
        """Widen the columns as DataTable does, then drop what was drawn at the old widths.

        DataTable measures an updated cell only when idle, and keys its cached cells without
        the column's width (Textual issue 3533): a frame drawn between ``update_cell`` and
        this idle kept a label cut to the header's five cells for good."""
        widths = [column.content_width for column in self.ordered_columns]
        await super()._on_idle(event)
        if widths != [column.content_width for column in self.ordered_columns]:
            self._clear_caches()
            self.refresh()


class CaseListScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "reply", "Reply"),
        # The pager line names n and p when there is another page; help lists them too.
        Binding("n", "next_page", "Next page", show=False),
        Binding("p", "previous_page", "Prev page", show=False),
        Binding("s", "cycle_status", "Status"),
        Binding("f", "cycle_flag", "Flag"),
        Binding("v", "cycle_view", "View"),
        Binding("l", "label", "Label"),
        Binding("slash", "search", "Search"),
        Binding("ctrl+f", "find", "Find text"),
        Binding("t", "attention", "Attention"),
        Binding("r", "refresh", "Refresh"),
        Binding("question_mark", "help", "Help"),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.status: CaseStatus | None = CaseStatus.OPEN
        self.flag: CaseFlag | None = None
        #: unread, awaiting reply, mine, team (handlers.cases.View).
        self.view: View = View.ALL
        #: The labels of the cases shown (decrypted; the session's memory keeps them).
        self.labels: dict[str, CaseLabel] = {}
        self.query_text = ""
        self._cursors: list[int | None] = [None]  # the cursor each page starts from
        self._next: int | None = None
        self.items: tuple[CaseSummary, ...] = ()
        self._away = False
        #: The case the officer selected, by id; it stays selected across refreshes.
        self.selected: str | None = None
        #: The selected case is not in the list shown (then nothing is selected).
        self.lost = False
        #: The next load shows a view the officer asked for (or the first one).
        self._navigated = True
        #: Cases whose newest message is the source's (they await a reply).
        self.awaiting: set[str] = set()
        #: Closed cases that received a message the officer has not read.
        self.attention: tuple[CaseSummary, ...] = ()
        #: Showing the "needs attention" view instead of the status filter.
        self.attention_view = False
        self._pulse: Pulse | None = None
        self._polling = False
        self._unread_seen: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="list-title")
        yield Input(placeholder="Search case ID (Enter)", id="search")
        notice = Static(Text(""), id="selection-notice")
        notice.display = False
        yield notice
        attention = Static(Text(""), id="attention")
        attention.display = False
        yield attention
        yield CaseTable(id="cases", cursor_type="row", zebra_stripes=True)
        yield Static(Text(""), id="pager")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cases", DataTable)
        self._label_column = table.add_columns(*_COLUMNS)[_COLUMNS.index("Label")]
        table.focus()
        self.load()
        self.set_interval(LIVE_SECONDS, self.live_tick)

    async def live_tick(self) -> None:
        """Load again if the pulse changed; only while this screen is the one shown."""
        if self._polling or self._pulse is None or self.app.screen is not self:
            return
        self._polling = True
        try:
            pulse = await self.session.workspace.port.pulse(self.session)
        except (ConsoleError, StoreError):
            return  # the next tick tries again; `r` shows the error
        finally:
            self._polling = False
        if pulse != self._pulse and not self._loading():
            self.load()

    def _loading(self) -> bool:
        return any(w.group == "load" and not w.is_finished for w in self.workers)

    def on_screen_suspend(self) -> None:
        self._away = True

    def on_screen_resume(self) -> None:
        if self._away:  # back from a case: unread counts and flags may have changed
            self._away = False
            self.load()

    def _title(self, total: int) -> Text:
        """The list's title; ``total`` < 0: a filtered view, which is not counted."""
        title = Text(end="")
        title.append("Cases of ", style="bold")
        title.append_text(as_text(self.session.name, single_line=True, style="bold"))
        if self.attention_view:
            title.append(" · needs attention: closed cases with new messages")
            title.append(f" · {total:,} case(s)")
            return title
        status = self.status.value if self.status else "all"
        title.append(f" · status: {status} · flag: {self.flag.value if self.flag else 'any'}")
        if self.view is not View.ALL:
            title.append(f" · view: {self.view.value}", style="bold")
        if self.query_text:
            title.append(" · search: ")
            title.append_text(as_text(self.query_text, single_line=True))
        if total >= 0:
            title.append(f" · {total:,} case(s)")
        return title

    def cursor_case(self) -> str | None:
        """The case id under the cursor now; None if no case is selected."""
        table = next(iter(self.query("#cases").results(CaseTable)), None)
        if table is None or not table.show_cursor or not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _place_cursor(self, table: CaseTable, items: tuple[CaseSummary, ...]) -> None:
        """Put the cursor on the selected case, or say that it is no longer listed."""
        keys = [item.case_id for item in items]
        navigated, self._navigated = self._navigated, False
        if self.selected not in keys and (navigated or self.selected is None):
            self.selected = keys[0] if keys else None  # a new view: its first case
        if self.selected in keys:
            table.move_cursor(row=keys.index(self.selected))
            table.show_cursor = True
            self._show_lost(None)
        else:  # a refresh, and the selected case left the list: select nothing
            table.show_cursor = False
            self._show_lost(self.selected)

    def _show_lost(self, case_id: str | None) -> None:
        self.lost = case_id is not None
        notice = self.query_one("#selection-notice", Static)
        notice.display = self.lost
        if case_id is None:
            notice.update(Text(""))
            return
        text = Text("Case ", style="bold yellow", end="")
        text.append_text(as_text(case_id, single_line=True, style="bold reverse"))
        text.append(
            " is no longer in this list (closed, filtered out, or moved to another page by"
            " new activity). No case is selected: ↑/↓ selects one.",
            style="bold yellow",
        )
        notice.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if self.lost and table.show_cursor:  # the officer picked a case again
            self.selected = self.cursor_case()
            self._show_lost(None)

    @work(exclusive=True, group="load")
    async def load(self) -> None:
        pager = self.query_one("#pager", Static)
        pager.update(Text("Loading…", style="dim"))
        port = self.session.workspace.port
        try:
            pulse = await port.pulse(self.session)  # first: what changes meanwhile shows next
            if self._pulse is not None and pulse.roster != self._pulse.roster:
                await self.session.workspace.reload()  # an assignment: the roster decides
            attention = await needs_attention(self.session)
            if self.attention_view:
                items, self._next, total = attention, None, len(attention)
            elif self.query_text:
                items = await search_cases(
                    self.session, self.query_text, status=self.status, flag=self.flag
                )
                self._next, total = None, len(items)
            elif self.view is not View.ALL:
                page = await list_view(
                    self.session,
                    self.view,
                    status=self.status,
                    flag=self.flag,
                    before=self._cursors[-1],
                )
                items, self._next = page.items, page.next_cursor
                total = -1  # a filtered view is not counted: it is walked
            else:
                page = await list_cases(
                    self.session, status=self.status, flag=self.flag, before=self._cursors[-1]
                )
                items, self._next = page.items, page.next_cursor
                total = await count_cases(self.session, status=self.status, flag=self.flag)
            awaiting = await port.awaiting(self.session, [item.case_id for item in items])
        except (ConsoleError, StoreError) as exc:
            pager.update(as_text(str(exc), style="bold red"))
            return
        table = next(iter(self.query("#cases").results(CaseTable)), None)
        if table is None:  # the console was locked (or the screen closed) while loading
            return
        current = self.cursor_case()  # read now: the officer may have moved meanwhile
        if current is not None:
            self.selected = current
        self.items = items
        self.awaiting = awaiting
        # Labels known from before show at once; fresh ones are read after the rows are up.
        labels = {i.case_id: self.labels[i.case_id] for i in items if i.case_id in self.labels}
        self.labels = labels
        self.attention = attention
        self._pulse = pulse
        table.clear()
        for item in items:
            cells = case_cells(
                item, awaiting=item.case_id in awaiting, label=labels.get(item.case_id)
            )
            table.add_row(*cells, key=item.case_id)
        self._place_cursor(table, items)
        self._show_attention()
        self._ring(items)
        self.query_one("#list-title", Static).update(self._title(total))
        first = (len(self._cursors) - 1) * PAGE_SIZE
        shown = f"{first + 1:,}–{first + len(items):,}" if items else "none"
        more = " · n: next page" if self._next is not None else ""
        back = " · p: previous page" if len(self._cursors) > 1 else ""
        if total < 0:  # a filtered view
            more = " · n: look further" if self._next is not None else " · no more"
            found = f"{len(items):,} case(s) in view {self.view.value}"
            pager.update(Text(f"Page {len(self._cursors)} · {found}{more}{back}"))
        else:
            pager.update(
                Text(f"Page {len(self._cursors)} · cases {shown} of {total:,}{more}{back}")
            )
        await self._show_labels(table, items)

    async def _show_labels(self, table: CaseTable, items: tuple[CaseSummary, ...]) -> None:
        """Read the labels of the cases shown (sealed notes; the session remembers them) and
        put them in their column."""
        try:
            labels = await current_labels(
                self.session, [(item.case_id, item.activity_seq) for item in items]
            )
        except (ConsoleError, StoreError):
            return  # the rows stand without labels; the next load tries again
        if self.items is not items or not table.is_attached:
            return  # another load (or a lock) came meanwhile
        for item in items:
            if labels.get(item.case_id) != self.labels.get(item.case_id):
                cell = label_cell(labels.get(item.case_id))
                table.update_cell(item.case_id, self._label_column, cell, update_width=True)
        self.labels = labels

    def _show_attention(self) -> None:
        line = self.query_one("#attention", Static)
        line.display = bool(self.attention) and not self.attention_view
        if not line.display:
            return
        shown = ", ".join(item.case_id for item in self.attention[:3])
        more = f" and {len(self.attention) - 3} more" if len(self.attention) > 3 else ""
        text = Text(f"⚑ {len(self.attention)} closed case(s) received new messages: ", end="")
        text.stylize("bold magenta")
        text.append_text(as_text(shown + more, single_line=True, style="bold"))
        text.append(" · t lists them", style="magenta")
        line.update(text)

    def _ring(self, items: tuple[CaseSummary, ...]) -> None:
        """The bell, if configured, when more is unread than at the last load: the bell
        character alone, nothing of the case or the message."""
        unread = sum(item.unread for item in items) + sum(item.unread for item in self.attention)
        before, self._unread_seen = self._unread_seen, unread
        if before is not None and unread > before and self.session.workspace.config.console.bell:
            with contextlib.suppress(Exception):  # a terminal without a bell is no failure
                self.app.bell()

    def action_attention(self) -> None:
        self.attention_view = not self.attention_view
        self._restart()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Case list", self.BINDINGS))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from .casescreen import CaseScreen

        case_id = event.row_key.value
        if case_id is not None:
            self.app.push_screen(CaseScreen(self.session, case_id))

    def _restart(self) -> None:
        self._unread_seen = None  # another view: nothing to ring about yet
        self._cursors = [None]
        self._navigated = True
        self.load()

    def action_next_page(self) -> None:
        if self._next is not None and not self.query_text:
            self._cursors.append(self._next)
            self._navigated = True
            self.load()

    def action_previous_page(self) -> None:
        if len(self._cursors) > 1:
            self._cursors.pop()
            self._navigated = True
            self.load()

    def action_cycle_status(self) -> None:
        self.attention_view = False
        self.status = _STATUSES[(_STATUSES.index(self.status) + 1) % len(_STATUSES)]
        self._restart()

    def action_cycle_view(self) -> None:
        """All cases → unread → awaiting reply → mine alone → shared with the team."""
        self.attention_view = False
        self.view = _VIEWS[(_VIEWS.index(self.view) + 1) % len(_VIEWS)]
        self._restart()

    def action_cycle_flag(self) -> None:
        self.flag = _FLAGS[(_FLAGS.index(self.flag) + 1) % len(_FLAGS)]
        self._restart()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_find(self) -> None:
        """Find text in the decrypted messages of the most recent cases (in memory only)."""
        from .find import FindScreen

        self.app.push_screen(FindScreen(self.session), callback=self._found)

    def _found(self, case_id: str | None) -> None:
        from .casescreen import CaseScreen

        if case_id is not None:
            self.selected = case_id
            self.app.push_screen(CaseScreen(self.session, case_id))

    def action_label(self) -> None:
        """Set the selected case's label and tags (sealed to its officers only)."""
        case_id = self.cursor_case()
        if case_id is None:
            self._notify("No case is selected: ↑/↓ selects one.", error=True)
            return
        screen = LabelScreen(case_id, self.labels.get(case_id))
        self.app.push_screen(screen, callback=lambda label: self._relabel(case_id, label))

    def _relabel(self, case_id: str, label: CaseLabel | None) -> None:
        if label is not None:
            self._label_worker(case_id, label)

    @work(group="label")
    async def _label_worker(self, case_id: str, label: CaseLabel) -> None:
        try:
            await set_label(self.session, case_id, label.label, label.tags)
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
            return
        self._notify(f"Label of case {case_id} {'cleared' if label.empty else 'saved'}.")
        self.load()

    def action_clear_search(self) -> None:
        field = self.query_one("#search", Input)
        field.value = ""
        if self.query_text:
            self.query_text = ""
            self._restart()
        self.query_one("#cases", DataTable).focus()

    def action_refresh(self) -> None:
        self.load()

    # -- replying from the list ------------------------------------------------------------

    def _notify(self, message: str, *, error: bool = False) -> None:
        tell(self, message, error=error)

    def action_reply(self) -> None:
        """A composer bound to the selected case (it asks again if the list changes)."""
        case_id = self.cursor_case()
        item = next((i for i in self.items if i.case_id == case_id), None)
        if item is None:
            self._notify("No case is selected: ↑/↓ selects one.", error=True)
            return
        if item.status is CaseStatus.CLOSED:
            self._notify(f"Case {item.case_id} is closed: open it and reopen it (c) to reply.")
            return
        label = self.labels.get(item.case_id)
        screen = ComposeScreen(
            item.case_id,
            language=item.language,
            reply=True,
            under_cursor=self.cursor_case,
            label=label.words() if label else "",
            data_dir=self.session.workspace.config.data_dir,
        )
        self.app.push_screen(screen, callback=self._send)

    def _send(self, composed: Composed | None) -> None:
        if composed is not None:
            self._send_worker(composed)

    @work(group="send")
    async def _send_worker(self, composed: Composed) -> None:
        if await send_composed(self.session, composed, self._notify):
            self.load()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        self._restart()
        self.query_one("#cases", DataTable).focus()
