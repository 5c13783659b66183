"""The interactive console: unlock, then cases; lock again after inactivity.

The app holds the :class:`~handlers.session.Workspace` (no secrets) for its whole run
and the :class:`~handlers.session.Session` (the unlocked key) only while unlocked.
Locking — ``ctrl+l``, or ``console.lock_after_minutes`` without a key press, click or
scroll — drops the session and closes every screen, so no decrypted text stays on
screen or in a widget; then the unlock screen asks for the passphrase again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar, Final

from rich.text import Text
from textual import events
from textual.app import App
from textual.binding import Binding, BindingType

from core.untrusted import render_untrusted

from .._errors import ConsoleError
from ..identity import HandlerIdentity
from ..session import Session, Workspace, start_session, unlock_key
from .caselist import CaseListScreen
from .unlock import UnlockScreen

__all__ = ["ConsoleApp"]

_ACTIVITY: Final = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Paste,
)


class ConsoleApp(App[None]):
    """writein's case officer console (``writein console``)."""

    TITLE = "writein console"
    CSS_PATH = "console.tcss"
    ENABLE_COMMAND_PALETTE = False
    IDLE_CHECK_SECONDS: ClassVar[float] = 1.0
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+l", "lock", "Lock", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        *,
        open_workspace: Callable[[HandlerIdentity | None], Awaitable[Workspace]],
        key_file: Path,
        lock_after_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        remote: bool = False,
    ) -> None:
        super().__init__()
        self._open_workspace = open_workspace
        #: Through a gateway the workspace holds the signing key: opened only once unlocked,
        #: closed when the console locks.
        self.remote = remote
        self.key_file = key_file
        self.lock_after_seconds = lock_after_seconds
        self._clock = clock
        self._last_input = clock()
        self.workspace: Workspace | None = None
        self.session: Session | None = None

    async def on_mount(self) -> None:
        try:
            if not self.remote:
                self.workspace = await self._open_workspace(None)
        except ConsoleError as exc:
            message = render_untrusted(f"writein: {exc}", single_line=True)
            self.exit(return_code=exc.exit_code, message=Text(message))
            return
        self.set_interval(self.IDLE_CHECK_SECONDS, self.lock_if_idle)
        await self.push_screen(self._unlock_screen(""), callback=self._unlocked)

    async def on_unmount(self) -> None:
        if self.session is not None:
            self.session.memory.clear()
        self.session = None
        await self._close_workspace()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _ACTIVITY):
            self._last_input = self._clock()
        await super().on_event(event)

    # -- unlocking and locking ---------------------------------------------------------------

    def _unlock_screen(self, notice: str) -> UnlockScreen:
        return UnlockScreen(self.key_file, self._unlock, notice=notice)

    async def _unlock(self, passphrase: bytes) -> Session:
        identity = await unlock_key(self.key_file, passphrase)
        if self.remote:
            await self._close_workspace()
            self.workspace = await self._open_workspace(identity)
        if self.workspace is None:
            raise ConsoleError("the store is not open")
        await self.workspace.reload()
        return start_session(self.workspace, identity)

    async def _close_workspace(self) -> None:
        workspace, self.workspace = self.workspace, None
        if workspace is not None:
            await workspace.close()

    async def _unlocked(self, session: Session | None) -> None:
        if session is None:
            self.exit()
            return
        self.session = session
        self._last_input = self._clock()
        await self.push_screen(CaseListScreen(session))

    async def lock(self, notice: str = "Locked.") -> None:
        """Forget the unlocked key and every screen that showed decrypted text."""
        if self.session is None:
            return
        self.session.memory.clear()  # labels and the search index: decrypted content
        self.session = None
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        if self.remote:  # its client signs with the key: it goes with the session
            await self._close_workspace()
        await self.push_screen(self._unlock_screen(notice), callback=self._unlocked)

    async def action_lock(self) -> None:
        await self.lock()

    async def lock_if_idle(self) -> None:
        """Lock when nothing was pressed, clicked or scrolled for ``lock_after_seconds``."""
        idle = self._clock() - self._last_input
        if self.session is not None and idle >= self.lock_after_seconds:
            minutes = max(1, round(self.lock_after_seconds / 60))
            await self.lock(f"Locked after {minutes} minute(s) without activity.")
