"""Getting updates: offsets, limits, long polling, allowed_updates, webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from telesim import TelegramSimulator
from tests.telesim.conftest import call


async def updates(
    http: aiohttp.ClientSession, sim: TelegramSimulator, **params: object
) -> list[dict[str, Any]]:
    status, body = await call(http, sim, "getUpdates", params)
    assert status == 200, body
    result: list[dict[str, Any]] = body["result"]
    return result


async def test_updates_stay_until_confirmed(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")
    for text in ("a", "b", "c"):
        await user.send_text(text)
    first = await updates(http, sim)
    assert [u["message"]["text"] for u in first] == ["a", "b", "c"]
    assert await updates(http, sim) == first  # nothing confirmed yet
    ids = [u["update_id"] for u in first]
    assert ids == list(range(ids[0], ids[0] + 3))
    after = await updates(http, sim, offset=ids[1])
    assert [u["message"]["text"] for u in after] == ["b", "c"]
    assert await updates(http, sim, offset=ids[2] + 1) == []
    assert sim.pending_updates == []


async def test_limit_and_negative_offset(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")
    for i in range(5):
        await user.send_text(f"m{i}")
    assert [u["message"]["text"] for u in await updates(http, sim, limit=2)] == ["m0", "m1"]
    assert [u["message"]["text"] for u in await updates(http, sim, offset=-2)] == ["m3", "m4"]
    assert len(sim.pending_updates) == 2  # everything before was forgotten


async def test_long_poll_returns_when_an_update_arrives(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")
    poll = asyncio.create_task(updates(http, sim, timeout=60))
    await sim.wait_for(lambda: sim.world.updates.polls == 1)  # it waits in the server
    assert not poll.done()
    await user.send_text("wake up")
    result = await asyncio.wait_for(poll, 30)  # long before its 60 s
    assert result[0]["message"]["text"] == "wake up"


async def test_long_poll_times_out_empty(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await updates(http, sim, timeout=1) == []
    assert loop.time() - start >= 0.9


async def test_second_poller_terminates_the_first(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, sim, "getUpdates", {"timeout": 60}))
    await sim.wait_for(lambda: sim.world.updates.polls == 1)  # the first waits in the server
    second = asyncio.create_task(call(http, sim, "getUpdates", {"timeout": 0}))
    status, body = await asyncio.wait_for(first, 30)  # long before its 60 s
    assert status == 409
    assert body["description"] == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )
    assert (await second)[0] == 200


async def test_allowed_updates(sim: TelegramSimulator, http: aiohttp.ClientSession) -> None:
    user = sim.add_user(first_name="Olena")
    sent = await user.send_text("hi")
    await user.react(sent.message_id, "👍")  # not asked for: dropped
    kinds = [next(k for k in u if k != "update_id") for u in await updates(http, sim)]
    assert kinds == ["message"]
    await updates(http, sim, allowed_updates=["message_reaction"], offset=-1)
    await user.send_text("ignored now")
    await user.react(sent.message_id, "🔥")
    result = await updates(http, sim, offset=-1)
    assert result[-1]["message_reaction"]["new_reaction"] == [{"type": "emoji", "emoji": "🔥"}]
    assert result[-1]["message_reaction"]["old_reaction"] == [{"type": "emoji", "emoji": "👍"}]
    await updates(http, sim, allowed_updates=[])  # back to the default
    await user.send_text("seen again")
    assert (await updates(http, sim, offset=-1))[-1]["message"]["text"] == "seen again"


async def test_old_updates_expire_after_a_day(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")
    await user.send_text("stale")
    sim.clock.advance(hours=25)
    assert await updates(http, sim) == []


@asynccontextmanager
async def receiver(statuses: list[int]) -> AsyncIterator[tuple[str, list[web.Request], list[Any]]]:
    """A webhook receiver answering ``statuses`` in turn, then 200."""
    seen: list[web.Request] = []
    bodies: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(request)
        bodies.append(await request.json())
        status = statuses.pop(0) if statuses else 200
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", seen, bodies
    finally:
        await runner.cleanup()


async def test_webhook_delivers_in_order_with_the_secret(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")
    async with receiver([503]) as (url, seen, bodies):
        await user.send_text("queued before the webhook")
        status, _ = await call(http, sim, "setWebhook", {"url": url, "secret_token": "Tok_en-1"})
        assert status == 200
        await user.send_text("after")
        await sim.wait_for(lambda: len(bodies) == 3)
        await sim.wait_for(lambda: not sim.pending_updates)
        _, info = await call(http, sim, "getWebhookInfo")
    assert [b["message"]["text"] for b in bodies] == [
        "queued before the webhook",  # answered 503: delivered again
        "queued before the webhook",
        "after",
    ]
    assert {r.headers["X-Telegram-Bot-Api-Secret-Token"] for r in seen} == {"Tok_en-1"}
    assert {r.headers["Content-Type"] for r in seen} == {"application/json"}
    result = info["result"]
    assert result["url"] == url and result["pending_update_count"] == 0
    assert (
        result["last_error_message"] == "Wrong response from the webhook: 503 Service Unavailable"
    )
    status, body = await call(http, sim, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]


async def test_webhook_answer_can_carry_a_method(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        reply = {"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": "ack"}
        return web.Response(text=json.dumps(reply), content_type="application/json")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        await call(http, sim, "setWebhook", {"url": url})
        await user.send_text("hello")
        reply = await user.wait_for_bot_message()
    finally:
        await runner.cleanup()
    assert reply.text == "ack"


async def test_unreachable_webhook_keeps_updates(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = sim.add_user(first_name="Olena")
    await call(http, sim, "setWebhook", {"url": "http://127.0.0.1:9/nothing-here"})
    await user.send_text("waiting")
    await sim.wait_for(lambda: sim.world.webhook and sim.world.webhook.last_error_message)
    _, info = await call(http, sim, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 1
    assert info["result"]["last_error_message"] == "Connection refused"
    await call(http, sim, "deleteWebhook", {"drop_pending_updates": True})
    assert sim.pending_updates == []


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"url": "ftp://127.0.0.1/x"}, "An HTTPS URL must be provided for webhook"),
        ({"url": "https://example.org/hook"}, "only to loopback hosts"),
        ({"url": "http://127.0.0.1/x", "secret_token": "no spaces"}, "unallowed characters"),
        ({"url": "http://127.0.0.1/x", "max_connections": 1000}, "max_connections"),
    ],
)
async def test_bad_webhooks(
    sim: TelegramSimulator, http: aiohttp.ClientSession, params: dict[str, Any], error: str
) -> None:
    status, body = await call(http, sim, "setWebhook", params)
    assert status == 400
    assert body["description"].startswith("Bad Request: bad webhook: ")
    assert error in body["description"]
    assert sim.webhook_url is None
