"""Small dialogs of the console: assign a colleague, export an attachment, confirm a
reply's case, cancel a queued reply."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar, Final, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from core.payload import AttachmentRef
from core.untrusted import as_text

from .._errors import UsageError
from ..export import what_it_reveals
from ..labels import CaseLabel, make_label
from ..templates import Template
from ..thread import ThreadItem
from .render import attachment_label, local_time

__all__ = [
    "AssignScreen",
    "CancelReplyScreen",
    "ConfirmScreen",
    "ExportScreen",
    "HelpScreen",
    "LabelScreen",
    "TemplateScreen",
]

#: Shown in every help screen: the console's own keys.
_APP_KEYS: Final = (("ctrl+l", "Lock the console now"), ("ctrl+q", "Quit"), ("?", "This help"))
_KEY_NAMES: Final = {"slash": "/", "question_mark": "?", "escape": "esc", "enter": "Enter"}


_Result = TypeVar("_Result")


class _FormScreen(ModalScreen[_Result | None]):
    """A dialog with an OK and a Cancel button: Enter or OK submits, Escape or Cancel closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def _submit(self) -> None:
        raise NotImplementedError

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AssignScreen(_FormScreen[tuple[str, bool]]):
    """Pick a colleague; optionally hand the case over (and lose access to it)."""

    def __init__(self, candidates: list[str]) -> None:
        super().__init__()
        self.candidates = candidates

    def compose(self) -> ComposeResult:
        with Vertical(id="assign-box", classes="dialog"):
            yield Static(Text("Assign the case to a colleague", style="bold"))
            names = ", ".join(self.candidates) or "(no other active case officer)"
            yield Static(as_text(f"Case officers: {names}", single_line=True))
            yield Input(
                placeholder="Case officer's name",
                id="handler",
                suggester=SuggestFromList(self.candidates, case_sensitive=True),
            )
            yield Checkbox("Hand over: remove my own access to this case", id="hand-over")
            yield Static(Text(""), id="assign-error")
            with Horizontal(classes="buttons"):
                yield Button("Assign", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#handler", Input).focus()

    def _submit(self) -> None:
        name = self.query_one("#handler", Input).value.strip()
        if not name:
            self.query_one("#assign-error", Static).update(Text("Type a case officer's name."))
            return
        self.dismiss((name, self.query_one("#hand-over", Checkbox).value))


class ExportScreen(_FormScreen[tuple[AttachmentRef, Path]]):
    """Pick an attachment and a folder; the file is written there, never opened."""

    def __init__(self, refs: list[AttachmentRef], folder: Path) -> None:
        super().__init__()
        self.refs = refs
        self.folder = folder

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box", classes="dialog"):
            yield Static(Text("Export an attachment (it will not be opened)", style="bold"))
            yield OptionList(
                *(Option(attachment_label(ref), id=str(i)) for i, ref in enumerate(self.refs)),
                id="attachments",
            )
            yield Static(Text(""), id="export-reveals")
            yield Input(value=str(self.folder), placeholder="Folder", id="folder")
            yield Static(Text(""), id="export-error")
            with Horizontal(classes="buttons"):
                yield Button("Export", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one("#attachments", OptionList)
        options.highlighted = 0
        options.focus()
        self._show_reveals(0)

    def _show_reveals(self, index: int | None) -> None:
        """Before anything is written: what the highlighted file may reveal."""
        text = Text("") if index is None else Text(what_it_reveals(self.refs[index]))
        text.stylize("yellow")
        self.query_one("#export-reveals", Static).update(text)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_reveals(event.option_index)

    def _submit(self) -> None:
        index = self.query_one("#attachments", OptionList).highlighted
        folder = self.query_one("#folder", Input).value.strip()
        if index is None or not folder:
            self.query_one("#export-error", Static).update(Text("Pick a file and a folder."))
            return
        self.dismiss((self.refs[index], Path(folder).expanduser()))

    def on_option_list_option_selected(self, _event: OptionList.OptionSelected) -> None:
        self.query_one("#folder", Input).focus()


class ConfirmScreen(_FormScreen[bool]):
    """Ask before doing something the officer may not expect; True when confirmed.

    The safe choice has the focus: Enter right after the dialog opens keeps things as
    they are, and only Tab (or a click) then Enter on the first button confirms.
    """

    DEFAULT_CSS = "ConfirmScreen { align: center middle; }"

    def __init__(self, title: Text, body: Text, *, confirm: str, keep: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm
        self.keep_label = keep

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(self.title_text, id="confirm-title")
            yield Static(self.body, id="confirm-body")
            with Horizontal(classes="buttons"):
                yield Button(Text(self.confirm_label), id="ok", variant="warning")
                yield Button(Text(self.keep_label), id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def _submit(self) -> None:
        self.dismiss(True)


def _reply_label(item: ThreadItem) -> Text:
    when = local_time(item.created)
    first = item.text.strip().splitlines()[0] if item.text.strip() else ""
    shown = first[:60] + ("…" if len(first) > 60 or "\n" in item.text.strip() else "")
    label = Text(f"{when} · ", style="dim", end="")
    label.append_text(as_text(shown, single_line=True))
    label.append(f" · id {item.message_id.hex()[:8]}", style="dim")
    return label


class CancelReplyScreen(_FormScreen[ThreadItem]):
    """Pick one of the officer's own replies that the relay has not claimed yet."""

    DEFAULT_CSS = "CancelReplyScreen { align: center middle; }"

    def __init__(self, case_id: str, replies: list[ThreadItem]) -> None:
        super().__init__()
        self.case_id = case_id
        self.replies = replies

    def compose(self) -> ComposeResult:
        with Vertical(id="cancel-box", classes="dialog"):
            title = Text("Cancel a reply to case ", style="bold", end="")
            title.append_text(as_text(self.case_id, single_line=True, style="bold reverse"))
            title.append(" before the relay sends it", style="bold")
            yield Static(title)
            yield Static(
                Text("It leaves the thread; the source never sees it.", style="dim"),
            )
            yield OptionList(
                *(Option(_reply_label(r), id=str(i)) for i, r in enumerate(self.replies)),
                id="pending-replies",
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel this reply", id="ok", variant="warning")
                yield Button("Keep it (esc)", id="cancel", variant="primary")

    def on_mount(self) -> None:
        options = self.query_one("#pending-replies", OptionList)
        options.highlighted = 0
        options.focus()

    def _submit(self) -> None:
        index = self.query_one("#pending-replies", OptionList).highlighted
        if index is not None:
            self.dismiss(self.replies[index])

    def on_option_list_option_selected(self, _event: OptionList.OptionSelected) -> None:
        self._submit()


class HelpScreen(ModalScreen[None]):
    """The keys of the screen it was opened from (``?``); any of esc, q, ? closes it."""

    DEFAULT_CSS = "HelpScreen { align: center middle; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, where: str, bindings: Iterable[BindingType]) -> None:
        super().__init__()
        self.where = where
        self.keys: list[tuple[str, str]] = []
        for binding in bindings:
            if isinstance(binding, Binding) and binding.description:
                key = _KEY_NAMES.get(binding.key, binding.key)
                if binding.key != "question_mark":
                    self.keys.append((key, binding.description))

    def compose(self) -> ComposeResult:
        body = Text(end="")
        for key, what in [*self.keys, *_APP_KEYS]:
            body.append(f"\n  {key:>8}  ", style="bold")
            body.append(what)
        with Vertical(id="help-box", classes="dialog"):
            yield Static(Text(f"Keys · {self.where}", style="bold"))
            yield Static(body)
            yield Static(Text("\nesc closes this help.", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


class LabelScreen(_FormScreen[CaseLabel]):
    """Set the case's label and tags: sealed to its officers only (ADR 0090). Empty fields
    clear it."""

    DEFAULT_CSS = "LabelScreen { align: center middle; }"

    def __init__(self, case_id: str, current: CaseLabel | None) -> None:
        super().__init__()
        self.case_id = case_id
        self.current = current or CaseLabel()

    def compose(self) -> ComposeResult:
        with Vertical(id="label-box", classes="dialog"):
            title = Text("Label of case ", style="bold", end="")
            title.append_text(as_text(self.case_id, single_line=True, style="bold reverse"))
            yield Static(title)
            yield Static(
                Text(
                    "Sealed for the case officers of this case only: the relay cannot read it.",
                    style="dim",
                )
            )
            yield Input(value=self.current.label, placeholder="Label (one line)", id="label")
            yield Input(
                value=" ".join(self.current.tags),
                placeholder="Tags, separated by spaces or commas",
                id="tags",
            )
            yield Static(Text(""), id="label-error")
            with Horizontal(classes="buttons"):
                yield Button("Save label", id="ok", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#label", Input).focus()

    def _submit(self) -> None:
        try:
            label = make_label(
                self.query_one("#label", Input).value, self.query_one("#tags", Input).value
            )
        except UsageError as exc:
            self.query_one("#label-error", Static).update(as_text(str(exc), style="bold red"))
            return
        self.dismiss(label)


class TemplateScreen(_FormScreen[Template]):
    """Pick one of the officer's reply templates in the case's language (ADR 0092)."""

    DEFAULT_CSS = "TemplateScreen { align: center middle; }"

    def __init__(self, language: str, templates: list[Template], where: Path) -> None:
        super().__init__()
        self.language = language
        self.templates = templates
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="template-box", classes="dialog"):
            title = Text("Your templates in ", style="bold", end="")
            title.append_text(as_text(self.language, single_line=True, style="bold"))
            yield Static(title)
            if not self.templates:
                yield Static(
                    as_text(f"None in this language: write them in {self.where}.", style="dim")
                )
            options = []
            for i, t in enumerate(self.templates):
                first = t.text.splitlines()[0] if t.text else ""
                label = Text(f"{t.name}: ", style="bold", end="")
                label.append_text(as_text(first[:70], single_line=True))
                options.append(Option(label, id=str(i)))
            yield OptionList(*options, id="templates")
            with Horizontal(classes="buttons"):
                yield Button("Use this template", id="ok", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one("#templates", OptionList)
        if self.templates:
            options.highlighted = 0
        options.focus()

    def _submit(self) -> None:
        index = self.query_one("#templates", OptionList).highlighted
        if index is not None and self.templates:
            self.dismiss(self.templates[index])

    def on_option_list_option_selected(self, _event: OptionList.OptionSelected) -> None:
        self._submit()
