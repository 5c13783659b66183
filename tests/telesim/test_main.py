"""``python -m telesim`` as a separate process.

Ready means printed: telesim installs its SIGINT/SIGTERM handlers and binds before it
prints its four ``key=value`` lines, so the test reads them (with a generous deadline for a
busy machine) before it talks to it or signals it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import aiohttp
import pytest

from telesim.__main__ import build_parser, main, serve

READY_TIMEOUT = 90.0


async def test_standalone_process_serves_and_stops_cleanly() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telesim",
        "--port",
        "0",
        "--token",
        "42:ABC",
        "--user",
        "7:Olena:olena:uk",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    ready = False
    try:
        assert process.stdout is not None
        lines = {}
        async with asyncio.timeout(READY_TIMEOUT):
            while len(lines) < 4:
                line = (await process.stdout.readline()).decode()
                assert line, f"telesim exited before it was ready (code {await process.wait()})"
                key, _, value = line.strip().partition("=")
                lines[key] = value
        ready = True
        assert lines["token"] == "42:ABC"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{lines['base_url']}42:ABC/getMe") as r:
                assert (await r.json())["result"]["id"] == 42
            async with http.get(f"{lines['control_url']}/users/7") as r:
                assert (await r.json())["result"]["language_code"] == "uk"
    finally:
        if process.returncode is None:
            # Before it is ready, a SIGTERM may still find Python's default action.
            process.send_signal(signal.SIGTERM if ready else signal.SIGKILL)
        code = await asyncio.wait_for(process.wait(), 20)
    assert code == 0


async def test_serve_in_process_without_control_api(capsys: pytest.CaptureFixture[str]) -> None:
    stop = asyncio.Event()
    args = build_parser().parse_args(["--port", "0", "--token", "1:A", "--no-control-api"])
    task = asyncio.create_task(serve(args, stop))
    out = ""
    deadline = time.monotonic() + READY_TIMEOUT
    while "token=1:A" not in out:
        assert not task.done(), f"serve() ended before it was ready: {task!r}"
        assert time.monotonic() < deadline, f"not ready within {READY_TIMEOUT:.0f} s: {out!r}"
        await asyncio.sleep(0.01)
        out += capsys.readouterr().out
    control = next(line for line in out.splitlines() if line.startswith("control_url="))
    async with aiohttp.ClientSession() as http, http.get(control.split("=", 1)[1]) as r:
        assert r.status == 404
    stop.set()
    assert await task == 0


@pytest.mark.parametrize("argv", [["--user", "x:Olena"], ["--token", "no-colon", "--port", "0"]])
def test_bad_arguments(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
