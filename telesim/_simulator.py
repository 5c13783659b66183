"""``TelegramSimulator``: the server, its world, users, faults and clock in one object."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from telesim._clock import Clock
from telesim._control import add_control_routes
from telesim._dispatch import Dispatcher
from telesim._errors import SimulatorProblem
from telesim._faults import Faults
from telesim._server import UPLOAD_LIMIT, add_bot_api_routes, not_found
from telesim._spec import Spec, load_spec
from telesim._state import BotRecord, UserRecord, World
from telesim._users import SimUser, wait_until
from telesim._views import ApiCall
from telesim._webhook import WebhookDelivery

T = TypeVar("T")
_TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{1,64}")
DEFAULT_TOKEN = "123456789:TELESIM-test-token"  # noqa: S105 - only valid here


class TelegramSimulator:
    """A local Telegram Bot API server with simulated users.

    ::

        async with TelegramSimulator(token="123:ABC") as sim:
            app = ApplicationBuilder().token(sim.token).base_url(sim.base_url)
                .base_file_url(sim.base_file_url).build()
            user = sim.add_user(first_name="Olena", username="olena", language_code="uk")
            await user.send_text("/start")
            reply = await user.wait_for_bot_message()

    ``strict`` checks every answer and update the simulator produces against
    api.json; problems are collected in ``problems`` and raised as
    ``SimulatorProblem`` when the ``async with`` block ends.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        seed: int = 0,
        strict: bool = True,
        bot_username: str = "telesim_bot",
        bot_first_name: str = "Telesim Bot",
        allow_remote_webhooks: bool = False,
        control_api: bool = True,
        spec: Spec | None = None,
    ) -> None:
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise ValueError("a bot token looks like 123456:ABC-def_ghi")
        self.token = token
        self.host = host
        self.clock = clock or Clock()
        self.world = World(
            spec=spec or load_spec(),
            clock=self.clock,
            bot=BotRecord(int(match.group(1)), token, bot_first_name, bot_username),
            seed=seed,
            strict=strict,
            allow_remote_webhooks=allow_remote_webhooks,
        )
        self.faults = Faults(seed, self.world.spec.methods)
        self._dispatcher = Dispatcher(self.world, self.faults, strict=strict)
        self._requested_port = port
        self._control_api = control_api
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._users: dict[int, SimUser] = {}

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Bind (port 0: a free one) and start serving."""
        if self._runner is not None or self.world.updates.closed:
            raise RuntimeError("a simulator runs once; create a new one")
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        add_bot_api_routes(app, self._dispatcher)
        if self._control_api:
            add_control_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", not_found)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])
        self._session = aiohttp.ClientSession()
        delivery = WebhookDelivery(self._dispatcher, self._session)
        self._webhook_task = asyncio.create_task(delivery.run(), name="telesim-webhooks")

    async def stop(self) -> None:
        """Release waiting long polls, stop webhook delivery and the server."""
        self.world.updates.close()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc_type is None and self.problems:
            raise SimulatorProblem("telesim found problems in itself:\n" + "\n".join(self.problems))

    # -- addresses ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not running; use start() or async with")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    @property
    def control_url(self) -> str:
        """Root of the JSON control API for other processes."""
        return f"{self.url}/_sim"

    # -- the bot -------------------------------------------------------------------------

    @property
    def bot_id(self) -> int:
        return self.world.bot.id

    @property
    def bot_username(self) -> str:
        return self.world.bot.username

    def bot_commands(
        self, *, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """Commands set with ``setMyCommands`` for this scope and language."""
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [dict(c) for c in self.world.commands.get(key, [])]

    def bot_description(self, language_code: str = "") -> str:
        return self.world.descriptions.get(language_code, "")

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any]:
        if chat_id is not None:
            button = self.world.chats[chat_id].menu_button
            if button is not None:
                return dict(button)
        return dict(self.world.default_menu_button)

    @property
    def webhook_url(self) -> str | None:
        return self.world.webhook.url if self.world.webhook else None

    # -- users ---------------------------------------------------------------------------

    def add_user(
        self,
        *,
        first_name: str,
        id: int | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        is_premium: bool = False,
        hide_forwards: bool = False,
    ) -> SimUser:
        """Create a user; their private chat with the bot has the same id."""
        if not first_name:
            raise ValueError("Telegram users have a first name")
        record = UserRecord(
            id=id if id is not None else self.world.next_user_id(),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_premium=is_premium,
            hide_forwards=hide_forwards,
        )
        self.world.add_user(record)
        user = SimUser(self.world, record)
        self._users[record.id] = user
        return user

    def user(self, user_id: int) -> SimUser:
        try:
            return self._users[user_id]
        except KeyError:
            raise LookupError(f"no simulated user {user_id}") from None

    @property
    def users(self) -> list[SimUser]:
        return list(self._users.values())

    # -- observing -----------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Bot API calls so far (the last 10,000), oldest first."""
        return list(self.world.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        name = method.lower()
        return [c for c in self.world.calls if c.method.lower() == name]

    @property
    def problems(self) -> list[str]:
        """Ways the simulator broke its own contract (off-spec JSON, crashes)."""
        return list(self.world.problems)

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (or delivered to its webhook)."""
        return [u.to_json() for u in self.world.updates.pending]

    def file_bytes(self, file_id: str) -> bytes:
        """The content of any file the bot or a user sent."""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise LookupError(f"no file {file_id!r}")
        return stored.data

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 30.0,  # noqa: ASYNC109 - the familiar name for a test helper
    ) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return it."""
        return await wait_until(self.world, predicate, timeout)

    async def wait_for_call(
        self,
        method: str,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - the familiar name for a test helper
        since: int | None = None,
    ) -> ApiCall:
        """The first call to ``method`` answered after ``since`` (a ``seq``; default: now)."""
        floor = since if since is not None else self._last_seq()
        name = method.lower()

        def found() -> ApiCall | None:
            for call in self.world.calls:
                if call.seq > floor and call.method.lower() == name:
                    return call
            return None

        return await wait_until(self.world, found, timeout)

    def _last_seq(self) -> int:
        return self.world.calls[-1].seq if self.world.calls else 0
