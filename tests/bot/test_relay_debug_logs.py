"""`writein bot --log-level debug` with photos, files and downloads: the log names neither
the bot token, in any encoding, nor anything of the source (issue 13, item 3).

A real relay process (tests/bot/relay_process.py) against telesim. The source sends a
photo, an image as a file (Telegram keeps its EXIF: Pillow reads it, and Pillow logs EXIF
values at DEBUG) and a text file; the relay downloads each (PTB percent-encodes the
download URL, so the token's colon becomes ``%3A``; PTB's own transport, httpx, would log
that URL). The log is then searched for every form of the token and for the source's
canaries.
"""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
import time
import urllib.parse

import pytest
from PIL import Image

from telesim import TelegramSimulator

from .photos import phone_exif
from .relay_process import TOKEN, RelayProcess, onboard, prepare

STORED_TIMEOUT = 90.0  # generous: a loaded 2-core CI machine


@pytest.fixture
async def sim():
    async with TelegramSimulator(token=TOKEN) as sim:
        yield sim


def token_forms(token: str) -> dict[str, str]:
    """The token as a log line could carry it: whole, URL-encoded (once, twice, in either
    case), inside a file-download path, and its secret alone (a URL split in two)."""
    bot_id, secret = token.split(":", 1)
    quoted = urllib.parse.quote(token, safe="")
    return {
        "plain": token,
        "url-encoded": quoted,
        "url-encoded lower": f"{bot_id}%3a{secret}",
        "url-encoded twice": urllib.parse.quote(quoted, safe=""),
        "download path": f"/file/bot{quoted}/",
        "secret alone": secret,
        "secret, base64": base64.b64encode(secret.encode()).decode(),
        "token, base64": base64.b64encode(token.encode()).decode(),
        "token, urlsafe base64": base64.urlsafe_b64encode(token.encode()).decode(),
        "token, hex": token.encode().hex(),
    }


def exif_jpeg(description: str, gps: bytes) -> bytes:
    """A phone-like JPEG; both canaries are under Pillow's 32-byte limit for logging a
    tag's value, so a Pillow logger at DEBUG would print them."""
    exif = phone_exif(description, gps, latitude=(48.0, 51.0, 30.24), longitude=(2.0, 17.0, 40.2))
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


async def wait_stored(relay: RelayProcess, case_id: str, count: int) -> None:
    """Until the handler can read ``count`` messages of the case (polled, with a deadline)."""
    deadline = time.monotonic() + STORED_TIMEOUT
    while len(await relay.source_messages(case_id)) < count:
        assert not relay.exited(), relay.newest_log_text()[-3000:]
        assert time.monotonic() < deadline, f"fewer than {count} messages stored in time"
        await asyncio.sleep(0.05)


async def test_debug_log_has_no_token_in_any_encoding_and_no_source_canary(tmp_path, sim):
    relay = await prepare(tmp_path, sim)
    canary = {
        "first name": "Dbgf" + secrets.token_hex(5),
        "last name": "Dbgl" + secrets.token_hex(5),
        "username": "dbgu" + secrets.token_hex(5),
        "text": "dbgt" + secrets.token_hex(6),
        "caption": "dbgc" + secrets.token_hex(6),
        "photo exif": "dbgp" + secrets.token_hex(4),
        "file exif": "dbge" + secrets.token_hex(4),
        "gps": "dbgg" + secrets.token_hex(4),
        "file name": "dbgn" + secrets.token_hex(5),
        "file text": "dbgx" + secrets.token_hex(6),
    }
    user_id = 6_000_000_000 + secrets.randbelow(10**9)
    user = sim.add_user(
        id=user_id,
        first_name=canary["first name"],
        last_name=canary["last name"],
        username=canary["username"],
    )
    gps = canary["gps"].encode()
    await relay.start(log_level="debug")
    try:
        case_id = await onboard(user, timeout=30)
        await user.send_text(canary["text"])
        await user.send_photo(exif_jpeg(canary["photo exif"], gps), caption=canary["caption"])
        # Sent as a file, the image keeps its EXIF: the relay's Pillow reads it to clean it.
        await user.send_document(
            exif_jpeg(canary["file exif"], gps),
            file_name=canary["file name"] + ".jpg",
            mime_type="image/jpeg",
        )
        await user.send_document(
            canary["file text"].encode() * 20, file_name="notes.txt", mime_type="text/plain"
        )
        await wait_stored(relay, case_id, 4)
        assert await relay.stop() == 0
    finally:
        await relay.kill()

    messages = await relay.source_messages(case_id)
    assert sorted(m.kind for m in messages) == ["document", "document", "photo", "text"]
    images = [a for m in messages for a in m.attachments if a.mime == "image/jpeg"]
    assert len(images) == 2 and all(a.metadata_stripped for a in images), "Pillow read both"

    log = relay.log_text()
    needles = {f"token, {name}": form for name, form in token_forms(TOKEN).items()}
    needles |= {f"source's {name}": value for name, value in canary.items()}
    needles["source's user id"] = str(user_id)
    needles["the phone's model (EXIF)"] = "PhoneModel X"
    leaked = {name: value for name, value in needles.items() if value in log}
    assert leaked == {}, f"in the relay's DEBUG log: {leaked}"
    # ...and the log was a real DEBUG log. The relay's transport (bot/transport.py, aiohttp)
    # logs no request lines, so no URL reaches it at all, downloads included; redacting
    # the lines of a library that does log them: tests/bot/test_logsafety.py.
    assert " DEBUG " in log, "the relay ran at DEBUG"
    assert "/bot" not in log and "/file/" not in log, "a Bot API URL in the relay's log"
