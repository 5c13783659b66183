"""Webhook delivery: POST each pending update, in order, to the bot's URL."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from telesim._dispatch import Dispatcher
from telesim._params import flatten_json
from telesim._state import WebhookConfig
from telesim._updates import PendingUpdate

log = logging.getLogger("telesim")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class WebhookDelivery:
    """Delivers updates one at a time while a webhook is set; retries with backoff.

    An update stays pending until the receiver answers 2xx. A JSON answer with a
    ``method`` field is executed as a Bot API call, as Telegram does.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        first_retry: float = 0.05,
        max_retry: float = 2.0,
    ) -> None:
        self._dispatcher = dispatcher
        self._world = dispatcher.world
        self._session = session
        self._timeout = timeout
        self._first_retry = first_retry
        self._max_retry = max_retry

    async def run(self) -> None:
        retry = self._first_retry
        while not self._world.updates.closed:
            hook = self._world.webhook
            update = self._world.updates.first() if hook is not None else None
            if hook is None or update is None:
                await self._world.changed(0.5)
                continue
            error = await self._post(hook, update)
            if self._world.webhook is not hook:
                continue  # the webhook changed while we were delivering
            if error is None:
                self._world.updates.pop_first(update.update_id)
                retry = self._first_retry
                self._world.touch()
                continue
            hook.last_error_date = self._world.clock.timestamp()
            hook.last_error_message = error
            self._world.touch()
            await asyncio.sleep(retry)
            retry = min(retry * 2, self._max_retry)

    async def _post(self, hook: WebhookConfig, update: PendingUpdate) -> str | None:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        body = json.dumps(update.to_json(), ensure_ascii=False, separators=(",", ":"))
        try:
            async with self._session.post(
                hook.url,
                data=body.encode("utf-8"),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as response:
                payload = await response.read()
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as exc:
            return f"Connection error: {exc}"
        await self._reply_call(payload)
        return None

    async def _reply_call(self, payload: bytes) -> None:
        """Run a method the receiver put in its answer (``{"method": ..., ...}``)."""
        try:
            body = json.loads(payload) if payload else None
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            return
        method = body.pop("method")
        await self._dispatcher.call(method, flatten_json(body))
