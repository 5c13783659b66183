"""The composer: a multi-line reply (or note), with a preview of what the source will see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

from core.untrusted import as_text

from .._errors import ConsoleError
from ..compose import format_duration, parse_duration, preview

__all__ = ["ComposeScreen", "Composed"]

_MAX_REPLY = 4000
_MAX_NOTE = 20000


@dataclass(frozen=True)
class Composed:
    reply: bool
    text: str
    self_destruct_seconds: int | None = None


class ComposeScreen(ModalScreen[Composed | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    def __init__(self, case_id: str, *, language: str, reply: bool) -> None:
        super().__init__()
        self.case_id = case_id
        self.language = language
        self.reply = reply

    def compose(self) -> ComposeResult:
        what = "Reply to the source of case " if self.reply else "Internal note on case "
        with Vertical(id="compose-box"):
            title = Text(what, style="bold", end="")
            title.append_text(as_text(self.case_id, single_line=True, style="bold"))
            yield Static(title)
            yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
            if self.reply:
                yield Input(
                    placeholder="Self-destruct after (e.g. 30m, 1h; empty: never)",
                    id="self-destruct",
                )
                yield Static(Text("What the source will see:", style="bold"))
                yield Static(Text(""), id="preview")
            else:
                yield Static(Text("Only the handlers of this case will see it.", style="dim"))
            yield Static(Text(""), id="compose-error")
            with Horizontal(id="compose-buttons"):
                yield Button("Send (ctrl+s)", id="send", variant="primary")
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
        try:
            seconds = self._seconds()
        except ConsoleError as exc:
            self._error(str(exc))
            return
        self.dismiss(Composed(self.reply, text, seconds))

    def action_cancel(self) -> None:
        self.dismiss(None)
