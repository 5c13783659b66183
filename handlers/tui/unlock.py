"""The unlock screen: the passphrase opens the officer's key file (Argon2id, off the loop)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from core.passphrase import passphrase_bytes
from core.untrusted import as_text

from .._errors import ConsoleError
from ..session import Session

__all__ = ["UnlockScreen"]


class UnlockScreen(Screen[Session | None]):
    """Ask for the passphrase; dismiss with the started session (None: the officer quit)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "give_up", "Quit")]

    def __init__(
        self,
        key_file: Path,
        unlock: Callable[[bytes], Awaitable[Session]],
        *,
        notice: str = "",
    ) -> None:
        super().__init__()
        self._key_file = key_file
        self._unlock = unlock
        self._notice = notice

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock-box"):
            yield Static(Text("writein — case officer console", style="bold"), id="unlock-title")
            yield Static(as_text(f"Key file: {self._key_file}", single_line=True))
            yield Static(Text(self._notice, style="bold yellow"), id="unlock-notice")
            yield Input(password=True, placeholder="Passphrase", id="passphrase")
            yield Static(Text(""), id="unlock-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#passphrase", Input).focus()

    def _error(self, message: str) -> None:
        self.query_one("#unlock-error", Static).update(as_text(message, style="bold red"))

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        passphrase = passphrase_bytes(event.value)
        event.input.value = ""
        if not passphrase:
            self._error("Type your passphrase, then Enter.")
            return
        event.input.disabled = True
        self.query_one("#unlock-error", Static).update(Text("Unlocking…", style="dim"))
        self.run_worker(self._try(passphrase), exclusive=True, group="unlock")

    async def _try(self, passphrase: bytes) -> None:
        field = self.query_one("#passphrase", Input)
        try:
            session = await self._unlock(passphrase)
        except ConsoleError as exc:
            self._error(str(exc))
            field.disabled = False
            field.focus()
            return
        self.dismiss(session)

    def action_give_up(self) -> None:
        self.dismiss(None)
