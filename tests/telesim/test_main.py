"""``python -m telesim`` as a separate process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp
import pytest

from telesim.__main__ import build_parser, main, serve


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
    try:
        assert process.stdout is not None
        lines = {}
        for _ in range(4):
            key, _, value = (
                (await asyncio.wait_for(process.stdout.readline(), 20))
                .decode()
                .strip()
                .partition("=")
            )
            lines[key] = value
        assert lines["token"] == "42:ABC"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{lines['base_url']}42:ABC/getMe") as r:
                assert (await r.json())["result"]["id"] == 42
            async with http.get(f"{lines['control_url']}/users/7") as r:
                assert (await r.json())["result"]["language_code"] == "uk"
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
    assert code == 0


async def test_serve_in_process_without_control_api(capsys: pytest.CaptureFixture[str]) -> None:
    stop = asyncio.Event()
    args = build_parser().parse_args(["--port", "0", "--token", "1:A", "--no-control-api"])
    task = asyncio.create_task(serve(args, stop))
    out = ""
    for _ in range(200):
        await asyncio.sleep(0.01)
        out += capsys.readouterr().out
        if "token=1:A" in out:
            break
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
