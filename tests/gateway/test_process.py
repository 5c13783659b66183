"""`writein gateway` as a real process: it says when it listens (never a fixed wait), serves
signed requests on the port it bound, and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from crypto import sign_request

from .conftest import CASE_A, Client, World

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"gateway listening on (http://127\.0\.0\.1:(\d+))")
# Generous: a start on a loaded 2-core CI machine takes seconds (imports, the roster).
READY_TIMEOUT = 90.0
EXIT_TIMEOUT = 30.0


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    url: str
    log: Path

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), EXIT_TIMEOUT)


async def spawn(config: Path, log: Path, *extra: str) -> asyncio.subprocess.Process:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    with log.open("wb") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "writein",
            "gateway",
            "--config",
            str(config),
            "--port",
            "0",
            *extra,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=ROOT,
        )


@asynccontextmanager
async def running(world: World, *extra: str) -> AsyncIterator[Process]:
    log = world.root / "gateway.log"
    proc = await spawn(world.config_path, log, *extra)
    try:
        assert proc.stdout is not None
        # The readiness line: printed once the socket is bound, with the real port.
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        found = READY.fullmatch(line.decode().strip())
        assert found, f"{line!r}; log: {log.read_text(errors='replace')[-2000:]}"
        assert int(found[2]) > 0
        yield Process(proc, found[1], log)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def call(url: str, world: World, name: str, path: str, **options: object) -> int:
    async with aiohttp.ClientSession() as http:
        client = Client(http, url)
        return (await client.call(world.officers[name].signing, "GET", path, **options)).status


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_it_listens_serves_and_stops_cleanly(world: World, sig: signal.Signals) -> None:
    async with running(world) as gateway:
        assert await call(gateway.url, world, "alice", f"/v1/cases/{CASE_A}") == 200
        assert await call(gateway.url, world, "bob", f"/v1/cases/{CASE_A}") == 403
        async with aiohttp.ClientSession() as http, http.get(gateway.url + "/v1/cases") as r:
            assert r.status == 401
        assert await gateway.stop(sig) == 0
        text = gateway.log.read_text()
        assert "refused 401 GET /v1/cases: unsigned request" in text
        assert "refused 403 GET /v1/cases/" in text
        assert "Traceback" not in text


async def test_requests_are_signed_for_the_public_origin(world: World) -> None:
    async with running(world, "--origin", "https://gateway.example.org") as gateway:
        # Signed for the address it happens to listen on: not this gateway's name.
        assert await call(gateway.url, world, "alice", "/v1/cases") == 401
        async with aiohttp.ClientSession() as http:
            client = Client(http, gateway.url)
            path = "/v1/cases"
            headers = sign_request(
                world.officers["alice"].signing, "GET", "https://gateway.example.org" + path
            )
            assert (await client.send("GET", path, headers=headers)).status == 200
        assert await gateway.stop() == 0


async def test_a_wrong_fingerprint_stops_it_before_it_listens(world: World) -> None:
    other = world.root / "other"
    other.mkdir()
    data = world.config.data_dir
    (other / "writein.toml").write_text(
        f'[paths]\ndata_dir = "{data}"\n\n[trust]\norg_fingerprint = "{"ab" * 16}"\n',
        encoding="utf-8",
    )
    log = world.root / "refused.log"
    proc = await spawn(other / "writein.toml", log)
    assert proc.stdout is not None
    out = await asyncio.wait_for(proc.stdout.read(), READY_TIMEOUT)
    code = await asyncio.wait_for(proc.wait(), EXIT_TIMEOUT)
    assert out == b""  # never ready
    lines = [line for line in log.read_text().splitlines() if line.startswith("writein:")]
    assert code != 0 and len(lines) == 1, log.read_text()
