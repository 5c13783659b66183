"""Fixtures for the telesim tests: a running simulator, a PTB bot, raw HTTP calls."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest
from PIL import Image
from telegram import Bot

from telesim import TelegramSimulator

TOKEN = "123456:TEST-token"


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta durations; otherwise a RetryAfter warns (an error here)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def sim() -> AsyncIterator[TelegramSimulator]:
    async with TelegramSimulator(token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
async def bot(sim: TelegramSimulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=sim.base_url, base_file_url=sim.base_file_url) as b:
        yield b


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def jpeg(width: int = 640, height: int = 480, color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


async def call(
    http: aiohttp.ClientSession,
    sim: TelegramSimulator,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    files: Mapping[str, tuple[str, bytes]] | None = None,
    how: str = "json",
    token: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Call the Bot API over HTTP the way a client other than PTB might."""
    url = f"{sim.url}/bot{token or sim.token}/{method}"
    params = dict(params or {})
    if files or how == "multipart":
        form = aiohttp.FormData()
        for key, value in params.items():
            form.add_field(key, value if isinstance(value, str) else json.dumps(value))
        for key, (name, data) in (files or {}).items():
            form.add_field(
                key, io.BytesIO(data), filename=name, content_type="application/octet-stream"
            )
        request = http.post(url, data=form)
    elif how == "json":
        request = http.post(url, json=params)
    elif how == "form":
        encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        request = http.post(url, data=encoded)
    else:
        encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        request = http.get(url, params=encoded)
    async with request as response:
        return response.status, await response.json(content_type=None)
