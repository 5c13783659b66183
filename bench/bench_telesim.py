"""How fast is telesim, and how many updates does a bare PTB echo bot get through it?

    .venv/bin/python bench/bench_telesim.py [--updates 2000] [--calls 5000]

Prints:
* the simulator's own cost per call: ``sendMessage`` dispatched in-process (parse,
  check against api.json, handle, check the answer, log), with and without the
  strict answer checks; then over loopback HTTP with a keep-alive client, next to
  a bare aiohttp server answering the same request (what HTTP alone costs);
* updates per second a bare python-telegram-bot echo bot (no writein code) handles
  through it: a backlog of text messages, drained by polling, each answered with
  ``reply_text``. Once with the simulator in the bot's own event loop (as the tests
  run it), once with ``python -m telesim`` in a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

import telesim
from telesim import TelegramSimulator

TOKEN = "123456:BENCH-token"


async def timed(n: int, one: Callable[[int], Awaitable[object]]) -> float:
    """Seconds per call of ``one`` over ``n`` sequential calls."""
    start = time.perf_counter()
    for i in range(n):
        await one(i)
    return (time.perf_counter() - start) / n


async def dispatch_cost(calls: int, *, strict: bool) -> float:
    async with TelegramSimulator(token=TOKEN, strict=strict) as sim:
        user = sim.add_user(first_name="Bench")
        await user.send_text("/start")
        dispatcher = sim._dispatcher  # the in-process entry point behind the HTTP handler
        raw = {"chat_id": str(user.id), "text": "hello <b>world</b>", "parse_mode": "HTML"}
        await timed(200, lambda i: dispatcher.call("sendMessage", raw))  # warm up
        return await timed(calls, lambda i: dispatcher.call("sendMessage", raw))


async def http_cost(calls: int, concurrency: int) -> tuple[float, float]:
    """Per-call latency (sequential) and calls/s (``concurrency`` in flight)."""
    async with TelegramSimulator(token=TOKEN) as sim, aiohttp.ClientSession() as http:
        user = sim.add_user(first_name="Bench")
        await user.send_text("/start")
        url = f"{sim.base_url}{TOKEN}/sendMessage"
        form = {"chat_id": str(user.id), "text": "hello"}

        async def one(_: int) -> None:
            async with http.post(url, data=form) as response:
                await response.read()

        await timed(200, one)
        latency = await timed(calls, one)
        gate = asyncio.Semaphore(concurrency)

        async def gated(i: int) -> None:
            async with gate:
                await one(i)

        start = time.perf_counter()
        await asyncio.gather(*(gated(i) for i in range(calls)))
        return latency, calls / (time.perf_counter() - start)


async def http_floor(calls: int) -> float:
    """Per-call latency of a bare aiohttp server and client: what HTTP alone costs."""

    async def answer(request: web.Request) -> web.Response:
        await request.post()
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with aiohttp.ClientSession() as http:

            async def one(_: int) -> None:
                async with http.post(url, data={"chat_id": "1", "text": "hello"}) as response:
                    await response.read()

            await timed(200, one)
            return await timed(calls, one)
    finally:
        await runner.cleanup()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def echo_bot(base_url: str, base_file_url: str, *, concurrent: bool) -> Application:  # type: ignore[type-arg]
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .concurrent_updates(concurrent)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


async def drain(app: Application, done: Callable[[], Awaitable[None]]) -> float:  # type: ignore[type-arg]
    """Seconds from the start of polling until ``done`` returns."""
    async with app:
        await app.start()
        assert app.updater is not None
        start = time.perf_counter()
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await done()
        elapsed = time.perf_counter() - start
        await app.updater.stop()
        await app.stop()
    return elapsed


async def echo_in_loop(updates: int, *, concurrent: bool) -> float:
    async with TelegramSimulator(token=TOKEN, seed=1) as sim:
        user = sim.add_user(first_name="Bench")
        for i in range(updates):
            await user.send_text(f"message {i}")
        app = echo_bot(sim.base_url, sim.base_file_url, concurrent=concurrent)

        async def done() -> None:
            await user.wait_for_bot_message(after=2 * updates - 1, timeout=600)

        return updates / await drain(app, done)


async def echo_in_process(updates: int, *, concurrent: bool) -> float:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = await asyncio.create_subprocess_exec(  # a child we start and stop ourselves
        *(sys.executable, "-m", "telesim", "--port", "0", "--token", TOKEN, "--user", "7:Bench"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [(await proc.stdout.readline()).decode().strip() for _ in range(4)]
        urls = dict(line.split("=", 1) for line in lines)
        control = urls["control_url"]
        async with aiohttp.ClientSession() as http:
            for i in range(updates):
                async with http.post(f"{control}/users/7/send_text", json={"text": f"m {i}"}) as r:
                    await r.read()
            app = echo_bot(urls["base_url"], urls["base_file_url"], concurrent=concurrent)

            async def done() -> None:
                last = f"{control}/users/7/messages/wait?after={2 * updates - 1}&timeout=600"
                async with http.get(last) as r:
                    assert r.status == 200, await r.text()

            return updates / await drain(app, done)
    finally:
        proc.terminate()
        await proc.wait()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args(argv)

    print(
        f"telesim bench: Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {telesim.load_spec().version}"
    )
    strict = await dispatch_cost(args.calls, strict=True)
    lenient = await dispatch_cost(args.calls, strict=False)
    print(f"  dispatch sendMessage, strict (in-process): {strict * 1e6:8.0f} µs/call")
    print(f"  dispatch sendMessage, no answer checks:    {lenient * 1e6:8.0f} µs/call")
    floor = await http_floor(args.calls)
    latency, throughput = await http_cost(args.calls, concurrency=16)
    print(f"  HTTP round trip, bare aiohttp (the floor):  {floor * 1e6:8.0f} µs/call")
    print(f"  HTTP sendMessage, one at a time:            {latency * 1e6:8.0f} µs/call")
    print(f"  HTTP sendMessage, 16 in flight:             {throughput:8.0f} calls/s")
    for concurrent in (False, True):
        label = "concurrent_updates" if concurrent else "sequential"
        same = await echo_in_loop(args.updates, concurrent=concurrent)
        apart = await echo_in_process(args.updates, concurrent=concurrent)
        print(f"  PTB echo bot, {label:18s} same loop:     {same:8.0f} updates/s")
        print(f"  PTB echo bot, {label:18s} telesim process: {apart:6.0f} updates/s")


if __name__ == "__main__":
    asyncio.run(main())
