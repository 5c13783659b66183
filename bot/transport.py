"""The relay's HTTP transport to the Bot API: python-telegram-bot's request interface on aiohttp.

python-telegram-bot leaves the HTTP library to a ``BaseRequest`` subclass; its own uses
httpx. Each httpx call costs the relay about 1.2 ms of CPU more than the same call through
aiohttp, and more again with many connections open (httpcore walks its whole pool for each
request): at intake that was a third of the relay's time (ADR 0088). PTB still builds every
request, parses every answer and maps Telegram's errors; this module only moves bytes and
turns aiohttp's failures into PTB's ``TimedOut`` and ``NetworkError``.
"""

from __future__ import annotations

import aiohttp

# What PTB's own HTTPXRequest uses to tell "no value given" from a given one.
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]


class AiohttpRequest(BaseRequest):
    """A Bot API transport over one aiohttp session (a pool of keep-alive connections).

    The timeouts mean what PTB's ``HTTPXRequest`` says they mean: ``read_timeout`` is the
    wait for an answer (a long poll adds its own), ``connect_timeout`` for a connection,
    ``pool_timeout`` for a free one; ``write_timeout`` is not used. A timeout is
    ``TimedOut`` (the call may have been carried out); a dropped connection is
    ``NetworkError("aiohttp.…")``.
    """

    def __init__(
        self,
        *,
        connections: int = 64,
        read_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
                # HTTPS_PROXY / ALL_PROXY, as PTB's httpx transport honours them: a relay
                # that reaches Telegram through a proxy must not silently connect directly.
                trust_env=True,
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        # aiohttp's ``connect`` covers the wait for a pooled connection and the connecting;
        # ``sock_read`` is the longest silence while the answer is awaited or read. Writing a
        # request has no timeout of its own there (the relay sends small JSON bodies; a
        # stalled write ends in the read timeout that follows).
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool is None and connect is None else (pool or 0) + (connect or 0),
            sock_connect=connect,
            sock_read=read,
        )
        body: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                body = form
            else:
                body = request_data.json_parameters
        try:
            async with session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # Named like PTB's httpx transport ("httpx.RemoteProtocolError: …"), so that the
            # relay can tell a dropped connection from an answer (telegram_io.maybe_applied).
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
