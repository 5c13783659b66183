"""The case view: the decrypted thread, intake answers, and what an officer does with a case.

Opening a case decrypts only its newest page of messages (``o`` loads older ones), so a
case of 10,000 messages shows its first screen as fast as a short one. ``x`` cancels one
of the officer's own replies that the relay has not claimed yet (ADR 0078). ``l`` sets the
case's label and tags, shown in the header (sealed to the case's officers, ADR 0090).

Opening a case is audited first (handlers.cases.record_reading); if that cannot be
written, nothing of the case is decrypted. The view is live (ADR 0084): twice a second
it asks for the case's pulse and loads the newest page again when anything changed (a
message, a delivery state, an assignment, something the source did). What the source did
(``/forget``, ``/recover``, a language change) is shown in the thread as an event.
"""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import ClassVar, Final

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.payload import AttachmentRef
from core.untrusted import as_text, render_untrusted
from store import Case, CaseStatus, StoreError

from .._errors import ConsoleError
from ..cases import record_reading, require_assigned
from ..compose import cancel_reply
from ..export import export_folder, export_ref
from ..labels import CaseLabel, label_of, set_label
from ..manage import assign, set_status
from ..port import CaseEvent, Pulse
from ..session import Session
from ..thread import ThreadItem, delivery_states, load_intake, load_page
from .compose import Composed, ComposeScreen, send_composed
from .dialogs import (
    AssignScreen,
    CancelReplyScreen,
    ConfirmScreen,
    ExportScreen,
    HelpScreen,
    LabelScreen,
)
from .render import case_header, event_text, intake_text, item_text, tell

__all__ = ["CaseScreen", "EventView", "MessageView"]

THREAD_PAGE: Final = 50
#: How often the open case asks whether it changed (seconds).
LIVE_SECONDS: Final = 0.5


class MessageView(Static):
    """One message; its CSS class says which way it went."""

    def __init__(self, item: ThreadItem) -> None:
        kind = item.direction.value if item.readable else "unreadable"
        super().__init__(item_text(item), classes=f"message {kind}")
        self.item = item


class EventView(Static):
    """Something the source did (from the audit log, which keeps the day only)."""

    def __init__(self, event: CaseEvent) -> None:
        super().__init__(event_text(event), classes="event")
        self.event = event


def _day(item: ThreadItem) -> date | None:
    return item.created.date() if item.created else None


def _thread_views(items: list[ThreadItem], events: list[CaseEvent]) -> list[Static]:
    """Messages and events in one thread: an event (a UTC day) comes after that day's
    messages, before the next day's; events older than the page are left out."""
    first = next((d for i in items if (d := _day(i)) is not None), None)
    pending = [e for e in events if first is None or e.on >= first]
    views: list[Static] = []
    for item in items:
        day = _day(item)
        while pending and day is not None and pending[0].on < day:
            views.append(EventView(pending.pop(0)))
        views.append(MessageView(item))
    views += [EventView(e) for e in pending]
    return views


class CaseScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "reply", "Reply"),
        Binding("x", "cancel_reply", "Cancel reply"),
        Binding("n", "note", "Note"),
        Binding("l", "label", "Label"),
        Binding("e", "export", "Export file"),
        Binding("a", "assign", "Assign"),
        Binding("c", "close_or_reopen", "Close/reopen"),
        Binding("o", "older", "Older"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, session: Session, case_id: str) -> None:
        super().__init__()
        self.session = session
        self.case_id = case_id
        self.case: Case | None = None
        self.assigned: list[str] = []
        self.items: list[ThreadItem] = []
        self.events: list[CaseEvent] = []
        #: The case's label (sealed to its officers; ADR 0090).
        self.label: CaseLabel | None = None
        self._older: int | None = None
        self._pulse: Pulse | None = None
        self._polling = False

    def compose(self) -> ComposeResult:
        yield Static(Text("Opening…", style="dim"), id="case-header")
        yield Static(Text(""), id="intake")
        yield VerticalScroll(id="thread")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(LIVE_SECONDS, self.live_tick)

    async def live_tick(self) -> None:
        """Load the newest page again when the case's pulse changed (shown screen only)."""
        if self._polling or self._pulse is None or self.app.screen is not self:
            return
        self._polling = True
        try:
            pulse = await self.session.workspace.port.pulse(self.session, self.case_id)
        except (ConsoleError, StoreError):
            return
        finally:
            self._polling = False
        if (pulse.case, pulse.roster) == (self._pulse.case, self._pulse.roster):
            return
        if any(w.group == "case" and not w.is_finished for w in self.workers):
            return
        self.load()

    def _notify(self, message: str, *, error: bool = False) -> None:
        tell(self, message, error=error)

    def _gone(self) -> bool:
        """The screen went away (the console locked, or the officer left) while loading:
        decrypted text that arrives now is dropped, not drawn."""
        return not self.is_attached or not self.query("#thread")

    def _show_header(self) -> None:
        if self.case is not None:
            header = case_header(
                self.case, self.assigned, older=self._older is not None, label=self.label
            )
            self.query_one("#case-header", Static).update(header)

    @work(exclusive=True, group="case")
    async def load(self) -> None:
        """(Re)load the case and its newest page of messages."""
        session = self.session
        port = session.workspace.port
        try:
            case = await require_assigned(session, self.case_id)
            await record_reading(session, case.case_id)  # before anything is decrypted
            pulse = await port.pulse(session, case.case_id)
            if self._pulse is not None and pulse.roster != self._pulse.roster:
                await self.session.workspace.reload()  # an assignment: the roster decides
            self.case = case
            self.assigned = sorted(session.workspace.trust.assigned(self.case.case_id))
            intake = await load_intake(session, self.case.case_id)
            page = await load_page(session, self.case.case_id, limit=THREAD_PAGE)
            events = await port.case_events(session, self.case.case_id)
            label = (await label_of(session, case.case_id, case.activity_seq)).label
        except (ConsoleError, StoreError) as exc:
            if not self._gone():
                self.query_one("#case-header", Static).update(
                    Text(render_untrusted(str(exc), single_line=True), style="bold red")
                )
            return
        if self._gone():
            return
        before = {item.message_id for item in self.items}
        fresh = self._pulse is not None and any(
            item.direction.value == "in" and item.message_id not in before for item in page.items
        )
        self._pulse = pulse
        self.items = list(page.items)
        self.events = events
        self.label = label
        self._older = page.older_cursor
        self._show_header()
        labels = session.workspace.question_labels()
        shown = intake_text(intake, labels) if intake else Text("")
        self.query_one("#intake", Static).update(shown)
        thread = self.query_one("#thread", VerticalScroll)
        await thread.remove_children()
        await thread.mount_all(_thread_views(self.items, self.events))
        thread.scroll_end(animate=False)
        if fresh and session.workspace.config.console.bell:
            with contextlib.suppress(Exception):  # the bell alone: nothing of the message
                self.app.bell()
        if self.items:
            newest = max(item.seq for item in self.items)
            # A lost read mark is no reason to fail.
            with contextlib.suppress(StoreError, ConsoleError):
                await session.workspace.port.mark_read(session, self.case.case_id, newest)

    @work(exclusive=True, group="older")
    async def action_older(self) -> None:
        if self.case is None or self._older is None:
            return
        try:
            deliveries = await delivery_states(self.session, self.case.case_id)
            page = await load_page(
                self.session,
                self.case.case_id,
                before_seq=self._older,
                limit=THREAD_PAGE,
                deliveries=deliveries,
            )
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
            return
        if self._gone():
            return
        self.items = list(page.items) + self.items
        self._older = page.older_cursor
        thread = self.query_one("#thread", VerticalScroll)
        views = [MessageView(item) for item in page.items]
        if views:
            await thread.mount_all(views, before=0)
        thread.scroll_home(animate=False)
        self._show_header()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen("Case", self.BINDINGS))

    # -- reply and note ---------------------------------------------------------------------

    def action_reply(self) -> None:
        if self.case is None:
            return
        if self.case.status is CaseStatus.CLOSED:
            self._notify("This case is closed: reopen it (c) to reply.", error=True)
            return
        screen = ComposeScreen(
            self.case.case_id,
            language=self.case.language,
            reply=True,
            label=self.label.words() if self.label else "",
            data_dir=self.session.workspace.config.data_dir,
        )
        self.app.push_screen(screen, callback=self._send)

    def action_note(self) -> None:
        if self.case is not None:
            screen = ComposeScreen(self.case.case_id, language=self.case.language, reply=False)
            self.app.push_screen(screen, callback=self._send)

    def action_label(self) -> None:
        if self.case is not None:
            screen = LabelScreen(self.case.case_id, self.label)
            self.app.push_screen(screen, callback=self._relabel)

    def _relabel(self, label: CaseLabel | None) -> None:
        if label is not None:
            self._label_worker(label)

    @work(group="label")
    async def _label_worker(self, label: CaseLabel) -> None:
        try:
            await set_label(self.session, self.case_id, label.label, label.tags)
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
            return
        self._notify("Label cleared." if label.empty else "Label saved.")
        self.load()

    def _send(self, composed: Composed | None) -> None:
        if composed is not None:
            self._send_worker(composed)

    @work(group="send")
    async def _send_worker(self, composed: Composed) -> None:
        if await send_composed(self.session, composed, self._notify):
            self.load()

    def action_cancel_reply(self) -> None:
        mine = [
            item
            for item in self.items
            if item.direction.value == "out" and item.author == self.session.name
        ]
        pending = [item for item in mine if item.delivery == "pending"]
        if not pending:
            sending = any(item.delivery == "claimed" for item in mine)
            self._notify(
                "The relay is sending your reply now: it can no longer be cancelled."
                if sending
                else "No reply of yours is waiting to be sent: only those can be cancelled."
            )
            return
        screen = CancelReplyScreen(self.case_id, pending[::-1])  # newest first
        self.app.push_screen(screen, callback=self._cancel)

    def _cancel(self, item: ThreadItem | None) -> None:
        if item is not None:
            self._cancel_worker(item)

    @work(group="cancel")
    async def _cancel_worker(self, item: ThreadItem) -> None:
        try:
            done = await cancel_reply(self.session, self.case_id, item.message_id)
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
        else:
            cancelled = "Reply cancelled: the relay will not send it."
            if done.warning:
                cancelled = f"Reply cancelled, but {done.warning}."
            self._notify(cancelled, error=bool(done.warning))
        self.load()  # either way: the thread shows the reply's state now

    # -- export, assign, close ----------------------------------------------------------------

    def action_export(self) -> None:
        refs = [ref for item in self.items for ref in item.attachments]
        if not refs:
            self._notify("No attachments in the loaded messages (o loads older ones).")
            return
        try:
            folder = export_folder(self.session)
        except (ConsoleError, OSError) as exc:
            self._notify(f"The private export folder cannot be made: {exc}", error=True)
            return
        self.app.push_screen(ExportScreen(refs, folder), callback=self._export)

    def _export(self, choice: tuple[AttachmentRef, Path] | None) -> None:
        if choice is not None:
            self._export_worker(*choice)

    @work(group="export")
    async def _export_worker(self, ref: AttachmentRef, folder: Path) -> None:
        try:
            message_id = next(i.message_id for i in self.items if ref in i.attachments)
            exported = await export_ref(
                self.session, self.case_id, ref, folder, message_id=message_id
            )
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
            return
        self._notify(f"Saved to {exported.path} (not opened).")

    def action_assign(self) -> None:
        candidates = sorted(
            name
            for name in self.session.workspace.trust.handlers
            if name != self.session.name and name not in self.assigned
        )
        self.app.push_screen(AssignScreen(candidates), callback=self._assign)

    def _assign(self, choice: tuple[str, bool] | None) -> None:
        if choice is None:
            return
        handler, hand_over = choice
        if not hand_over:
            self._assign_worker(handler, False)
            return
        case = as_text(self.case_id, single_line=True, style="bold reverse")
        name = as_text(handler, single_line=True, style="bold")
        body = Text.assemble(
            "Case ",
            case,
            " goes to ",
            name,
            ". You leave it: its messages are no longer\n"
            "sealed for you, you can no longer read it, and a reply of yours still queued\n"
            "will not be sent. Only a colleague on the case can assign it to you again.",
        )
        screen = ConfirmScreen(
            Text.assemble(("Hand case ", "bold"), case, (" over to ", "bold"), name, ("?", "bold")),
            body,
            confirm=f"Hand over to {handler}",
            keep="Keep the case (esc)",
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._assign_worker(handler, True)

        self.app.push_screen(screen, callback=confirmed)

    @work(group="assign")
    async def _assign_worker(self, handler: str, hand_over: bool) -> None:
        self._notify(f"Re-wrapping the case for {handler}…")
        try:
            done = await assign(self.session, self.case_id, handler, hand_over=hand_over)
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
            return
        what = "Handed over to" if done.handed_over else "Assigned to"
        self._notify(f"{what} {done.handler}: {done.rewrapped} message(s) re-wrapped.")
        if done.handed_over:
            self.dismiss(None)
        else:
            self.load()

    def action_close_or_reopen(self) -> None:
        if self.case is None:
            return
        if self.case.status is CaseStatus.CLOSED:
            self._close_or_reopen()
            return
        case = as_text(self.case.case_id, single_line=True, style="bold reverse")
        body = Text(
            "It leaves your list of open cases. The source is not told. If they write\n"
            'again, the case is listed under "needs attention" (t in the case list) until\n'
            "one of its officers reads it; c in the case reopens it."
        )
        screen = ConfirmScreen(
            Text.assemble(("Close case ", "bold"), case, ("?", "bold")),
            body,
            confirm="Close the case",
            keep="Keep it open (esc)",
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._close_or_reopen()

        self.app.push_screen(screen, callback=confirmed)

    @work(group="status")
    async def _close_or_reopen(self) -> None:
        if self.case is None:
            return
        closed = self.case.status is CaseStatus.CLOSED
        target = CaseStatus.OPEN if closed else CaseStatus.CLOSED
        try:
            await set_status(self.session, self.case_id, target)
        except (ConsoleError, StoreError) as exc:
            self._notify(str(exc), error=True)
            return
        self._notify("Case reopened." if closed else "Case closed.")
        self.case = self.case.model_copy(update={"status": target})
        self._show_header()
