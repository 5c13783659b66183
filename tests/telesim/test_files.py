"""Files: uploads, file_id / file_unique_id, getFile, downloads and their limits."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from telesim import AlbumItem, SimUser, TelegramSimulator
from tests.telesim.conftest import call, jpeg


@pytest.fixture
async def olena(sim: TelegramSimulator) -> SimUser:
    user = sim.add_user(first_name="Olena")
    await user.send_text("/start")
    return user


async def upload(
    http: aiohttp.ClientSession,
    sim: TelegramSimulator,
    method: str,
    field: str,
    name: str,
    data: bytes,
    **params: Any,
) -> dict[str, Any]:
    _, body = await call(http, sim, method, params, files={field: (name, data)})
    return body


async def download(http: aiohttp.ClientSession, sim: TelegramSimulator, file_id: str) -> bytes:
    _, body = await call(http, sim, "getFile", {"file_id": file_id})
    async with http.get(f"{sim.base_file_url}{sim.token}/{body['result']['file_path']}") as r:
        assert r.status == 200
        return await r.read()


async def test_file_ids_are_per_upload_unique_ids_per_content(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    first = await upload(http, sim, "sendDocument", "document", "a.txt", b"same", chat_id=olena.id)
    second = await upload(http, sim, "sendDocument", "document", "b.txt", b"same", chat_id=olena.id)
    other = await upload(http, sim, "sendDocument", "document", "c.txt", b"else", chat_id=olena.id)
    a, b, c = (x["result"]["document"] for x in (first, second, other))
    assert a["file_id"] != b["file_id"]
    assert a["file_unique_id"] == b["file_unique_id"] != c["file_unique_id"]
    assert a["file_name"] == "a.txt" and a["mime_type"] == "text/plain" and a["file_size"] == 4


async def test_resending_by_file_id(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    photo = await upload(
        http, sim, "sendPhoto", "photo", "p.jpg", jpeg(2000, 1000), chat_id=olena.id
    )
    sizes = photo["result"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 45),
        (320, 160),
        (800, 400),
        (1280, 640),
        (2000, 1000),
    ]
    _, again = await call(
        http, sim, "sendPhoto", {"chat_id": olena.id, "photo": sizes[1]["file_id"]}
    )
    assert again["result"]["photo"] == sizes
    _, wrong = await call(
        http, sim, "sendDocument", {"chat_id": olena.id, "document": sizes[0]["file_id"]}
    )
    assert wrong["description"] == "Bad Request: can't use file of type Photo as Document"
    _, unknown = await call(http, sim, "sendDocument", {"chat_id": olena.id, "document": "nope"})
    assert unknown["description"] == "Bad Request: wrong file identifier/HTTP URL specified"
    _, url = await call(
        http, sim, "sendPhoto", {"chat_id": olena.id, "photo": "https://example.org/cat.jpg"}
    )
    assert url["description"] == "Bad Request: failed to get HTTP URL content"


@pytest.mark.parametrize(
    ("data", "description"),
    [
        (b"not an image", "Bad Request: IMAGE_PROCESS_FAILED"),
        (jpeg(4000, 100), "Bad Request: PHOTO_INVALID_DIMENSIONS"),
        (b"", "Bad Request: file must be non-empty"),
    ],
)
async def test_refused_photos(
    sim: TelegramSimulator,
    http: aiohttp.ClientSession,
    olena: SimUser,
    data: bytes,
    description: str,
) -> None:
    body = await upload(http, sim, "sendPhoto", "photo", "x.jpg", data, chat_id=olena.id)
    assert body["description"] == description


async def test_captions(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    long = await upload(
        http, sim, "sendDocument", "document", "a", b"x", chat_id=olena.id, caption="c" * 1025
    )
    assert long["description"] == "Bad Request: message caption is too long"
    ok = await upload(
        http,
        sim,
        "sendVoice",
        "voice",
        "v.ogg",
        b"OggS",
        chat_id=olena.id,
        caption="<i>listen</i>",
        parse_mode="HTML",
        duration=7,
    )
    voice = ok["result"]
    assert voice["caption"] == "listen" and voice["caption_entities"][0]["type"] == "italic"
    assert voice["voice"]["duration"] == 7 and voice["voice"]["mime_type"] == "audio/ogg"


async def test_bot_downloads_what_users_send(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    sent = await olena.send_document(
        b"%PDF-1.7 ...", file_name="leak.pdf", mime_type="application/pdf"
    )
    assert sent.file_id is not None and sent.mime_type == "application/pdf"
    assert await download(http, sim, sent.file_id) == b"%PDF-1.7 ..."
    photo = await olena.send_photo(jpeg(100, 80, "blue"))
    assert photo.file_id is not None
    assert (await download(http, sim, photo.file_id))[:2] == b"\xff\xd8"  # re-encoded JPEG


async def test_get_file_limits_and_link_lifetime(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    big = await olena.send_document(b"\0" * (20 * 1024 * 1024 + 1), file_name="big.bin")
    _, body = await call(http, sim, "getFile", {"file_id": big.file_id})
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}
    _, body = await call(http, sim, "getFile", {"file_id": "AgAC-invented"})
    assert body["description"] == "Bad Request: invalid file_id"

    small = await olena.send_voice(b"OggS tiny", duration=2)
    _, body = await call(http, sim, "getFile", {"file_id": small.file_id})
    url = f"{sim.base_file_url}{sim.token}/{body['result']['file_path']}"
    async with http.get(url.replace(sim.token, "123456:OTHER")) as r:
        assert r.status == 404
    sim.clock.advance(minutes=61)
    async with http.get(url) as r:
        assert r.status == 404  # links last an hour
    async with http.get(f"{sim.base_file_url}{sim.token}/documents/never.bin") as r:
        assert r.status == 404


async def test_albums_both_ways(
    sim: TelegramSimulator, http: aiohttp.ClientSession, olena: SimUser
) -> None:
    sent = await olena.send_album(
        [AlbumItem("photo", jpeg(), caption="first"), AlbumItem("video", b"mp4 data")]
    )
    assert len({m.media_group_id for m in sent}) == 1 and sent[0].media_group_id
    assert [m.kind for m in sent] == ["photo", "video"]
    with pytest.raises(ValueError, match="one kind per album"):
        await olena.send_album([AlbumItem("photo", jpeg()), AlbumItem("document", b"d")])

    _, body = await call(
        http,
        sim,
        "sendMediaGroup",
        {
            "chat_id": olena.id,
            "media": [
                {"type": "document", "media": "attach://a", "caption": "A"},
                {"type": "document", "media": "attach://b"},
            ],
        },
        files={"a": ("a.txt", b"aaa"), "b": ("b.txt", b"bbb")},
    )
    messages = body["result"]
    assert [m["document"]["file_name"] for m in messages] == ["a.txt", "b.txt"]
    assert messages[0]["media_group_id"] == messages[1]["media_group_id"]
    _, mixed = await call(
        http,
        sim,
        "sendMediaGroup",
        {
            "chat_id": olena.id,
            "media": [
                {"type": "document", "media": messages[0]["document"]["file_id"]},
                {"type": "photo", "media": sent[0].file_id},
            ],
        },
    )
    assert (
        mixed["description"]
        == "Bad Request: Can't use the media of the specified type in the album"
    )
