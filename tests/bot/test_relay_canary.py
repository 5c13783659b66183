"""P1, checked on real files: a source's identity and words never reach the relay's disk or
logs in the clear, while the handler still decrypts every message."""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
from pathlib import Path

import pytest
from PIL import Image

from telesim import TelegramSimulator

from .relay_process import TOKEN, onboard, prepare


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


def encodings(text: str) -> list[bytes]:
    raw = text.encode("utf-8")
    return [
        raw,
        text.encode("utf-16-le"),
        text.encode("utf-16-be"),
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
    ]


def id_forms(user_id: int) -> list[bytes]:
    return [
        *encodings(str(user_id)),
        user_id.to_bytes(8, "big"),
        user_id.to_bytes(8, "little"),
    ]


def photo_with_exif(canary: str) -> bytes:
    image = Image.new("RGB", (64, 48), (120, 30, 200))
    exif = Image.Exif()
    exif[0x010E] = canary  # ImageDescription
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def scan(root: Path, extra: list[bytes], needles: dict[str, list[bytes]]) -> dict[str, list[str]]:
    blobs = [(str(p), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]
    blobs += [(f"log {i}", b) for i, b in enumerate(extra)]
    hits: dict[str, list[str]] = {}
    for name, forms in needles.items():
        for where, data in blobs:
            if any(form in data for form in forms):
                hits.setdefault(name, []).append(where)
    return hits


async def test_no_canary_on_disk_or_in_logs(tmp_path, sim):
    relay = await prepare(tmp_path, sim)
    canary = {
        "first_name": "Cn" + secrets.token_hex(6),
        "last_name": "Cl" + secrets.token_hex(6),
        "username": "cu" + secrets.token_hex(6),
        "text": "ct" + secrets.token_hex(8) + " Сообщение",
        "edit": "ce" + secrets.token_hex(8),
        "caption": "cc" + secrets.token_hex(8),
        "exif": "cx" + secrets.token_hex(8),
        "document": "cd" + secrets.token_hex(8),
    }
    user_id = 5_000_000_000 + secrets.randbelow(10**9)
    user = sim.add_user(
        id=user_id,
        first_name=canary["first_name"],
        last_name=canary["last_name"],
        username=canary["username"],
        language_code="ru",
    )
    await relay.start(log_level="debug")
    try:
        case_id = await onboard(user, timeout=30)
        # The relay deletes what it stored at once; Telegram's 429 on that deletion keeps
        # the message in the chat long enough for the source to edit it.
        sim.faults.add(method="deleteMessage", error=429, retry_after=60, times=1)
        sent = await user.send_text(canary["text"])
        await user.wait_for_bot_message(where=lambda m: "Received" in (m.text or ""), timeout=30)
        await user.edit_message(sent.message_id, canary["edit"])
        await user.send_photo(photo_with_exif(canary["exif"]), caption=canary["caption"])
        await user.send_document(
            canary["document"].encode() * 50, file_name="notes.txt", mime_type="text/plain"
        )
        for _ in range(300):
            if len(await relay.source_messages(case_id)) >= 4:
                break
            await asyncio.sleep(0.1)
        assert await relay.stop() == 0
    finally:
        await relay.kill()

    # The handler reads everything...
    messages = await relay.source_messages(case_id)
    texts = [m.text for m in messages]
    assert canary["text"] in texts
    assert canary["edit"] in texts and any(m.edit for m in messages)
    assert canary["caption"] in texts
    assert [m.kind for m in messages].count("photo") == 1
    assert [m.kind for m in messages].count("document") == 1

    # ...and nothing of it is anywhere on disk or in the logs.
    needles = {key: encodings(value) for key, value in canary.items()}
    needles["user_id"] = id_forms(user_id)
    logs = [p.read_bytes() for p in relay.logs if p.exists()]
    data_dir = relay.config.data_dir
    assert (data_dir / "writein.db").stat().st_size > 0
    assert scan(data_dir, logs, needles) == {}
    # The scan is able to find things: the same needles are in what telesim holds.
    assert scan(tmp_path / "nowhere", [repr(user.to_json()).encode()], needles)
