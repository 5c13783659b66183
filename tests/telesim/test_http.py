"""The HTTP surface: request encodings, routing, tokens and Telegram's error shape."""

from __future__ import annotations

import aiohttp
import pytest

from telesim import TelegramSimulator
from tests.telesim.conftest import call


@pytest.fixture
async def olena(sim: TelegramSimulator) -> int:
    user = sim.add_user(first_name="Olena")
    await user.send_text("/start")
    return user.id


@pytest.mark.parametrize("how", ["json", "form", "get", "multipart"])
async def test_every_encoding_is_understood(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: int, how: str
) -> None:
    params = {
        "chat_id": olena,
        "text": "Привіт, *світ*",
        "parse_mode": "Markdown",
        "protect_content": True,
        "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]},
    }
    status, body = await call(http, sim, "sendMessage", params, how=how)
    assert status == 200, body
    result = body["result"]
    assert result["text"] == "Привіт, світ"
    assert result["entities"] == [{"type": "bold", "offset": 8, "length": 4}]
    assert result["has_protected_content"] is True
    assert result["reply_markup"] == params["reply_markup"]
    assert result["chat"] == {"id": olena, "type": "private", "first_name": "Olena"}
    assert result["from"]["is_bot"] is True


async def test_method_names_are_case_insensitive(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, sim, "GETME")
    assert status == 200 and body["result"]["username"] == "telesim_bot"


async def test_get_me_describes_the_bot(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    _, body = await call(http, sim, "getMe")
    assert body["result"]["id"] == 123456 == sim.bot_id
    assert body["result"]["is_bot"] is True


async def test_unknown_method_is_not_found(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, sim, "sendTelepathy", {"chat_id": 1})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_wrong_token_is_unauthorized(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, sim, "getMe", token="123456:WRONG")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_malformed_token_and_other_paths_are_not_found(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    for path in ("/botnotatoken/getMe", "/", "/api/v1", f"/bot{sim.token}"):
        async with http.get(sim.url + path) as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }


async def test_bad_json_body(sim: TelegramSimulator, http: aiohttp.ClientSession) -> None:
    url = f"{sim.base_url}{sim.token}/sendMessage"
    for payload in (b"{not json", b"[1, 2]"):
        async with http.post(url, data=payload, headers={"Content-Type": "application/json"}) as r:
            assert r.status == 400
            assert (await r.json())["description"] == "Bad Request: can't parse JSON object"


async def test_json_values_are_flattened_like_telegram(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: int
) -> None:
    status, body = await call(http, sim, "sendMessage", {"chat_id": str(olena), "text": 12345})
    assert status == 200 and body["result"]["text"] == "12345"


async def test_wrong_structured_parameter(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: int
) -> None:
    status, body = await call(
        http,
        sim,
        "sendMessage",
        {"chat_id": olena, "text": "x", "reply_markup": "{oops"},
        how="form",
    )
    assert status == 400
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
    _, body = await call(
        http,
        sim,
        "sendMessage",
        {"chat_id": olena, "text": "x", "reply_markup": {"inline_keyboard": [[{"txt": "a"}]]}},
    )
    assert body["description"].startswith("Bad Request: can't parse reply keyboard markup")


async def test_upload_limit(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: int
) -> None:
    big = b"\0" * (50 * 1024 * 1024 + 1)
    status, body = await call(
        http, sim, "sendDocument", {"chat_id": olena}, files={"document": ("big.bin", big)}
    )
    assert (status, body) == (
        413,
        {"ok": False, "error_code": 413, "description": "Request Entity Too Large"},
    )


async def test_errors_carry_only_telegram_fields(
    sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    sim.faults.add(method="getMe", error=429, retry_after=3, times=1)
    status, body = await call(http, sim, "getMe")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
