"""The JSON control API under /_sim/, as another process would use it."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest

from telesim import TelegramSimulator
from tests.telesim.conftest import call, jpeg


class Control:
    def __init__(self, http: aiohttp.ClientSession, sim: TelegramSimulator) -> None:
        self.http = http
        self.root = sim.control_url

    async def request(
        self, verb: str, path: str, body: dict[str, Any] | None = None, status: int = 200
    ) -> Any:
        async with self.http.request(verb, self.root + path, json=body) as response:
            data = await response.json()
            assert response.status == status, data
            return data["result"] if data["ok"] else data["error"]

    async def get(self, path: str, status: int = 200) -> Any:
        return await self.request("GET", path, status=status)

    async def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        return await self.request("POST", path, body or {}, status)


@pytest.fixture
def control(http: aiohttp.ClientSession, sim: TelegramSimulator) -> Control:
    return Control(http, sim)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_info(control: Control, sim: TelegramSimulator) -> None:
    info = await control.get("")
    assert info["base_url"] == sim.base_url
    assert info["api_version"] == "Bot API 10.1"
    assert info["bot"]["id"] == sim.bot_id


async def test_users_send_and_see(
    control: Control, sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    user = await control.post(
        "/users", {"id": 5001, "first_name": "Olena", "username": "olena", "language_code": "uk"}
    )
    assert user == {
        "id": 5001,
        "is_bot": False,
        "first_name": "Olena",
        "username": "olena",
        "language_code": "uk",
        "blocked": False,
        "chat_action": None,
    }
    sent = await control.post("/users/5001/send_text", {"text": "/start"})
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    await control.post("/users/5001/send_photo", {"data_base64": b64(jpeg()), "caption": "pic"})
    await control.post(
        "/users/5001/send_document", {"data_base64": b64(b"doc"), "file_name": "d.txt"}
    )
    await control.post("/users/5001/send_voice", {"data_base64": b64(b"OggS"), "duration": 4})
    await control.post("/users/5001/send_video", {"data_base64": b64(b"mp4")})
    album = await control.post(
        "/users/5001/send_album",
        {
            "items": [
                {"kind": "photo", "data_base64": b64(jpeg())},
                {"kind": "video", "data_base64": b64(b"v")},
            ]
        },
    )
    assert album[0]["media_group_id"] == album[1]["media_group_id"]
    await control.post("/users", {"id": 5002, "first_name": "Taras"})
    forwarded = await control.post(
        "/users/5001/send_forwarded", {"text": "look", "from_user_id": 5002}
    )
    assert forwarded["forward_origin"]["sender_user"]["id"] == 5002

    _, body = await call(
        http,
        sim,
        "sendMessage",
        {
            "chat_id": 5001,
            "text": "Pick",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        },
    )
    mid = body["result"]["message_id"]
    waited = await control.get(f"/users/5001/messages/wait?after={mid - 1}&timeout=1")
    assert waited["message_id"] == mid and waited["buttons"][0][0]["callback_data"] == "a"
    pressed = await control.post("/users/5001/press_button", {"message_id": mid, "data": "a"})
    assert await control.get(f"/users/5001/callback_answers/{pressed['callback_query_id']}") is None
    await call(
        http, sim, "answerCallbackQuery", {"callback_query_id": pressed["callback_query_id"]}
    )
    answer = await control.get(f"/users/5001/callback_answers/{pressed['callback_query_id']}")
    assert answer["show_alert"] is False

    await control.post("/users/5001/edit_message", {"message_id": 1, "text": "/start again"})
    await control.post("/users/5001/react", {"message_id": mid, "emoji": ["👍"]})
    await control.post("/users/5001/delete_messages", {"message_ids": [2]})
    messages = await control.get("/users/5001/messages")
    assert [m["message_id"] for m in messages][:2] == [1, 3]
    assert messages[0]["text"] == "/start again" and messages[0]["edited"] is True
    assert messages[-1]["user_reactions"] == ["👍"]
    assert messages[-1]["raw"]["chat"]["id"] == 5001

    await control.post("/users/5001/block")
    assert (await control.get("/users/5001"))["blocked"] is True
    await control.post("/users/5001/unblock")
    assert len(await control.get("/users")) == 2
    kinds = {next(k for k in u if k != "update_id") for u in await control.get("/updates")}
    assert kinds == {"message", "edited_message", "callback_query", "my_chat_member"}


async def test_calls_faults_clock_files(
    control: Control, sim: TelegramSimulator, http: aiohttp.ClientSession
) -> None:
    await control.post("/users", {"id": 7, "first_name": "Olena"})
    await control.post("/users/7/send_text", {"text": "hi"})
    fault = await control.post(
        "/faults", {"method": "sendMessage", "error": 429, "retry_after": 2, "times": 1}
    )
    assert fault["remaining"] == 1
    status, _ = await call(http, sim, "sendMessage", {"chat_id": 7, "text": "a"})
    assert status == 429
    status, _ = await call(
        http, sim, "sendDocument", {"chat_id": 7}, files={"document": ("f.txt", b"file!")}
    )
    assert status == 200
    calls = await control.get("/calls?method=sendMessage")
    assert [(c["ok"], c["error_code"], c["fault"]) for c in calls] == [(False, 429, True)]
    assert calls[0]["params"] == {"chat_id": 7, "text": "a"}
    assert (await control.get("/faults"))[0]["hits"] == 1
    await control.request("DELETE", f"/faults/{fault['id']}")
    await control.request("DELETE", "/faults/999", status=404)
    await control.post("/faults", {"chat_id": 7, "drop": True})
    await control.request("DELETE", "/faults")
    assert await control.get("/faults") == []

    before = (await control.get("/clock"))["now"]
    after = (await control.post("/clock/advance", {"hours": 49}))["now"]
    assert after - before >= 49 * 3600
    status, body = await call(http, sim, "deleteMessage", {"chat_id": 7, "message_id": 1})
    assert body["description"] == "Bad Request: message can't be deleted"

    documents = await control.get("/calls?method=sendDocument")
    assert documents[0]["params"]["document"] == "<file f.txt, 5 bytes>"
    messages = await control.get("/users/7/messages")
    async with http.get(f"{sim.control_url}/files/{messages[-1]['file_id']}") as r:
        assert await r.read() == b"file!"
    assert await control.get("/problems") == []


async def test_errors(control: Control) -> None:
    assert "no simulated user" in await control.post("/users/1/send_text", {"text": "x"}, 404)
    await control.post("/users", {"id": 1, "first_name": "A"})
    assert "taken" in await control.post("/users", {"id": 1, "first_name": "B"}, 400)
    assert await control.post("/users", {"id": "x", "first_name": "B"}, 400)
    assert "'text' is required" in await control.post("/users/1/send_text", {}, 400)
    assert "base64" in await control.post("/users/1/send_photo", {"data_base64": "%%"}, 400)
    assert "no user action" in await control.post("/users/1/dance", {}, 404)
    assert "not in the chat" in await control.post("/users/1/press_button", {"message_id": 9}, 400)
    assert await control.get("/users/1/messages/wait?timeout=0.1", 408)
    assert "error" in await control.post("/faults", {"error": 200}, 400)
    assert await control.get("/files/nope", 404)
