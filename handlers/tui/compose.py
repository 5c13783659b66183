"""The composer: a multi-line reply (or note), with a preview of what the source will see.

A composer is bound to the case it was opened for: its title names that case, and what
it hands back (:class:`Composed`) carries that case id, which is where the reply goes,
never "the case under the cursor now". Opened from the case list, it also knows how to
read the list's cursor: if the case there is no longer this one when the officer sends
(the list was refreshed and the case left it), it asks again, naming the case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

from core.untrusted import as_text
from store import StoreError

from .._errors import ConsoleError
from ..compose import (
    format_duration,
    parse_duration,
    preview,
    send_note,
    send_reply,
    too_long,
)
from ..session import Session
from ..templates import Template, load_templates, templates_path
from .dialogs import ConfirmScreen, TemplateScreen

__all__ = ["ComposeScreen", "Composed", "send_composed"]

_MAX_REPLY = 4000
_MAX_NOTE = 20000


@dataclass(frozen=True)
class Composed:
    #: The case the composer was opened for: the only case this goes to.
    case_id: str
    reply: bool
    text: str
    self_destruct_seconds: int | None = None


async def send_composed(session: Session, composed: Composed, tell: Callable[..., None]) -> bool:
    """Send what a composer handed back to its own case, whatever is under the cursor now,
    and tell the officer how it went (``tell(message, error=…)``); True once it is sent."""
    try:
        if not composed.reply:
            await send_note(session, composed.case_id, composed.text)
            tell(f"Note added to case {composed.case_id}.", error=False)
            return True
        sent = await send_reply(
            session,
            composed.case_id,
            composed.text,
            self_destruct_seconds=composed.self_destruct_seconds,
        )
    except (ConsoleError, StoreError) as exc:
        tell(str(exc), error=True)
        return False
    if sent.warning:
        tell(sent.warning, error=True)
    else:
        tell(
            f"Reply to case {composed.case_id} queued (x in the case cancels it until it is sent).",
            error=False,
        )
    return True


class ComposeScreen(ModalScreen[Composed | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
        Binding("ctrl+t", "template", "Template", priority=True),
    ]

    def __init__(
        self,
        case_id: str,
        *,
        language: str,
        reply: bool,
        under_cursor: Callable[[], str | None] | None = None,
        label: str = "",
        data_dir: Path | None = None,
    ) -> None:
        """``under_cursor``: the case the opening list's cursor is on now (None: none);
        leave it out where nothing can change under the composer (the case view).
        ``label``: the case's label, shown with its id; ``data_dir``: where the officer's
        reply templates are (ctrl+t)."""
        super().__init__()
        self.case_id = case_id
        self.language = language
        self.reply = reply
        self.under_cursor = under_cursor
        self.label = label
        self.data_dir = data_dir

    def compose(self) -> ComposeResult:
        what = "Reply to the source of case " if self.reply else "Internal note on case "
        with Vertical(id="compose-box") as box:
            box.border_title = Text.assemble(
                ("Reply to " if self.reply else "Note on ", "bold"),
                as_text(self.case_id, single_line=True, style="bold reverse"),
            )
            title = Text(what, style="bold", end="")
            title.append_text(as_text(self.case_id, single_line=True, style="bold reverse"))
            title.append(" · language ")
            title.append_text(as_text(self.language, single_line=True))
            if self.label:
                title.append("\nLabel: ")
                title.append_text(as_text(self.label, single_line=True, style="bold"))
            yield Static(title, id="compose-title")
            yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
            if self.reply:
                yield Input(
                    placeholder="Self-destruct after (e.g. 30m, 1h; empty: never)",
                    id="self-destruct",
                )
                yield Static(Text("What the source will see:", style="bold"))
                yield Static(Text(""), id="preview")
            else:
                yield Static(Text("Only the case officers of this case will see it.", style="dim"))
            yield Static(Text(""), id="compose-error")
            with Horizontal(id="compose-buttons"):
                label = "Send (ctrl+s)" if self.reply else "Save note (ctrl+s)"
                yield Button(label, id="send", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#body", TextArea).focus()
        self._update_preview()

    def _text(self) -> str:
        return self.query_one("#body", TextArea).text.strip("\n")

    def _seconds(self) -> int | None:
        if not self.reply:
            return None
        value = self.query_one("#self-destruct", Input).value.strip()
        return parse_duration(value) if value else None

    def _update_preview(self) -> None:
        if not self.reply:
            return
        shown = as_text(preview(self.language, self._text()))
        try:
            seconds = self._seconds()
        except ConsoleError as exc:
            shown.append(f"\n\n({exc})", style="bold red")
        else:
            if seconds:
                note = f"\n\n(removed from the source's chat after {format_duration(seconds)})"
                shown.append(note, style="dim")
        shown.append("\n(sent with content protection: no forwarding or saving)", style="dim")
        self.query_one("#preview", Static).update(shown)

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self._update_preview()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._update_preview()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.action_send()
        else:
            self.action_cancel()

    def _error(self, message: str) -> None:
        self.query_one("#compose-error", Static).update(as_text(message, style="bold red"))

    def action_send(self) -> None:
        text = self._text()
        limit = _MAX_REPLY if self.reply else _MAX_NOTE
        if not text.strip():
            self._error("Nothing to send yet.")
            return
        if len(text) > limit:
            self._error(f"Too long: {len(text)} characters, at most {limit}.")
            return
        if self.reply and (why := too_long(self.language, text)) is not None:
            self._error(why[0].upper() + why[1:] + ".")
            return
        try:
            seconds = self._seconds()
        except ConsoleError as exc:
            self._error(str(exc))
            return
        composed = Composed(self.case_id, self.reply, text, seconds)
        now = self.case_id if self.under_cursor is None else self.under_cursor()
        if now == self.case_id:
            self.dismiss(composed)
            return
        self.app.push_screen(
            self._ask_again(now), callback=lambda ok: self._confirmed(ok, composed)
        )

    def _ask_again(self, now: str | None) -> ConfirmScreen:
        case = as_text(self.case_id, single_line=True, style="bold reverse")
        body = Text("The case list changed while you wrote: ", end="")
        if now is None:
            body.append_text(Text.assemble("case ", case, " is no longer in it and no case is"))
            body.append(" selected.")
        else:
            body.append("the case under the cursor is now ")
            body.append_text(as_text(now, single_line=True, style="bold"))
            body.append_text(Text.assemble(", not ", case, "."))
        what = "reply" if self.reply else "note"
        goes = (
            "\nThis reply goes to the source of case " if self.reply else "\nThis note is for case "
        )
        body.append_text(Text.assemble(goes, case, " only."))
        return ConfirmScreen(
            Text.assemble((f"Send this {what} to case ", "bold"), case, ("?", "bold")),
            body,
            confirm=f"Send to case {self.case_id}",
            keep="Back to the text (esc)",
        )

    def _confirmed(self, ok: bool | None, composed: Composed) -> None:
        if ok:
            self.dismiss(composed)
        else:
            self._error(f"Not sent. It would go to case {self.case_id}; esc discards it.")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_template(self) -> None:
        """Pick one of the officer's templates in the case's language; it goes into the
        text at the cursor, to be edited before sending."""
        if self.data_dir is None:
            self._error("No templates here.")
            return
        try:
            found = [t for t in load_templates(self.data_dir) if t.language == self.language]
        except ConsoleError as exc:
            self._error(str(exc))
            return
        screen = TemplateScreen(self.language, found, templates_path(self.data_dir))
        self.app.push_screen(screen, callback=self._insert)

    def _insert(self, template: Template | None) -> None:
        if template is not None:
            body = self.query_one("#body", TextArea)
            body.insert(template.text)
            body.focus()
