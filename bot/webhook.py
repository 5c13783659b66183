"""Webhook mode: Telegram posts updates to the relay, which answers 200 only after the
update is sealed in the inbox (so a crash before that makes Telegram deliver it again).

The secret token header is checked in constant time; anything else gets 401 and is not
read. The body is hostile until parsed: it must be one JSON object with an integer
update_id, and at most 1 MiB.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

log = logging.getLogger("writein.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_BODY = 1 << 20

Ingest = Callable[[Sequence[dict[str, object]]], Awaitable[None]]


def new_secret_token() -> str:
    """A value for setWebhook's secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -."""
    return secrets.token_urlsafe(48)


def make_app(path: str, secret_token: str, ingest: Ingest) -> web.Application:
    expected = secret_token.encode("utf-8")

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return web.Response(status=401)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413)
        try:
            body = await request.content.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                return web.Response(status=413)
            update = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400)
        await ingest([update])  # committed before Telegram hears 200
        return web.Response(status=200)

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(path, receive)
    return app


class WebhookServer:
    """The relay's webhook listener, bound to the configured address."""

    def __init__(self, host: str, port: int, path: str, secret_token: str, ingest: Ingest):
        self._runner = web.AppRunner(make_app(path, secret_token, ingest), access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
