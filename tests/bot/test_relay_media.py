"""What a source sends, end to end through telesim: sealed, cleaned, refused or dropped."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from PIL import Image
from telegram import Bot
from telegram.error import NetworkError

from bot.incoming import MalformedUpdate, parse_update
from core.payload import SourceMessage
from telesim import AlbumItem, TelegramSimulator
from telesim._render import file_json
from tests.support.chat import said
from tests.support.relay_env import Onboarded, RelayEnv, inject_message

from .photos import phone_exif

CANARY = "CANARY-writein-media-5d81e2"
GPS_CANARY = b"GPS-CANARY-48.8584N"


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    """A phone-like JPEG: GPS position, device, and a canary in ImageDescription."""
    exif = phone_exif(CANARY, GPS_CANARY, latitude=(48.0, 51.0, 30.24), longitude=(2.0, 17.0, 40.2))
    picture = Image.new("RGB", size, "blue")
    picture.paste("red", (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif, comment=CANARY.encode(), quality=95)
    return out.getvalue()


def assert_clean_jpeg(data: bytes, size: tuple[int, int]) -> None:
    assert CANARY.encode() not in data
    assert GPS_CANARY not in data
    assert b"PhoneModel" not in data
    assert b"Exif\x00\x00" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == size
        assert len(image.getexif()) == 0
        assert not image.getexif().get_ifd(0x8825)


async def stored(env: RelayEnv, source: Onboarded) -> list[SourceMessage]:
    return await env.source_messages(source.case.case_id, env.handlers[0])


def visible_ids(source: Onboarded) -> list[int]:
    return [m.message_id for m in source.user.visible_messages()]


# -- attachments ---------------------------------------------------------------------------


async def test_photo_loses_its_metadata(env, sim, source):
    original = jpeg_with_gps()
    sent = await source.user.send_photo(original, caption="the gate at night")
    await env.pump()
    (message,) = await stored(env, source)
    assert message.kind == "photo" and message.text == "the gate at night"
    (ref,) = message.attachments
    assert ref.metadata_stripped and ref.mime == "image/jpeg"
    data = await env.read_attachment(ref)
    assert len(data) == ref.size
    assert_clean_jpeg(data, (64, 48))
    assert sent.message_id not in visible_ids(source)  # deleted once sealed


async def test_image_sent_as_a_file_loses_its_metadata(env, sim, source):
    # Sent "as a file", Telegram keeps the original bytes, GPS and all: only the relay cleans.
    original = jpeg_with_gps((80, 60))
    assert CANARY.encode() in original and GPS_CANARY in original
    await source.user.send_document(original, file_name="IMG_2207.jpg", mime_type="image/jpeg")
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert message.kind == "document"
    assert ref.name == "document-1.jpg" and ref.metadata_stripped  # bot/documents.py
    assert_clean_jpeg(await env.read_attachment(ref), (80, 60))


async def test_document_kept_as_the_original_arrives_byte_for_byte(env, sim, source):
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"  # spans several chunks
    await source.user.send_document(
        pdf, file_name="contract.pdf", mime_type="application/pdf", caption="page 4"
    )
    await env.pump()
    # Not a PDF the cleaner can read: the source is asked, and keeps the original.
    prompt = source.user.last_bot_message()
    (original,) = [b for row in prompt.buttons for b in row if ":original:" in b.callback_data]
    await source.user.press_button(prompt.message_id, original.callback_data)
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert (message.kind, message.text) == ("document", "page 4")
    assert (ref.name, ref.mime, ref.size, ref.metadata_stripped) == (
        "contract.pdf",
        "application/pdf",
        len(pdf),
        False,
    )
    assert await env.read_attachment(ref) == pdf


@pytest.mark.relay_config(max_attachment_mb=1)
@pytest.mark.parametrize("size_in_update", [True, False], ids=["size-known", "size-unknown"])
async def test_file_over_the_limit_is_refused(env, sim, source, size_in_update):
    big = b"%PDF-1.4\n" + b"x" * 1_000_000
    if size_in_update:
        sent_id = (await source.user.send_document(big, file_name="big.pdf")).message_id
    else:  # Telegram may leave file_size out: the relay must notice while downloading
        stored_file = sim.world.files.add("document", big, file_name="big.pdf")
        document = {k: v for k, v in file_json(stored_file).items() if k != "file_size"}
        sent_id = inject_message(sim, source.user, {"document": document})
    before = await env.store.count_envelopes(source.case.case_id)
    await env.pump()
    assert await env.store.count_envelopes(source.case.case_id) == before
    assert source.user.last_bot_message().text == said("en", "refuse.file_too_large", limit_mb=1)
    assert sent_id not in visible_ids(source)
    downloads = [c for c in sim.calls_to("getFile") if c.ok]
    assert len(downloads) == (0 if size_in_update else 1)


async def test_file_telegram_will_not_hand_out_is_refused(env, sim, source):
    sim.faults.add(method="getFile", error=400, description="Bad Request: wrong file_id")
    sent = await source.user.send_document(b"%PDF-1.4\n...", file_name="gone.pdf")
    await env.pump()
    assert await stored(env, source) == []
    assert await env.store.count_inbox() == 0  # dropped, not retried forever
    assert source.user.last_bot_message().text == said("en", "refuse.unsupported")
    assert sent.message_id not in visible_ids(source)
    sim.faults.clear()
    await source.user.send_text("and this?")
    await env.pump()
    assert [m.text for m in await stored(env, source)] == ["and this?"]


async def test_file_download_cut_off_is_tried_again(env, sim, source):
    sim.faults.add(method="getFile", drop=True, times=1)
    await source.user.send_document(b"second try", file_name="retry.txt")
    with contextlib.suppress(NetworkError):
        await env.pump(rounds=1)
    assert await stored(env, source) == []
    assert await env.store.count_inbox() == 1  # kept: nothing lost
    await env.pump()
    (message,) = await stored(env, source)
    assert await env.read_attachment(message.attachments[0]) == b"second try"


async def test_voice_is_refused_by_default(env, sim, source):
    sent = await source.user.send_voice(b"OggS" + b"\x00" * 500)
    before = await env.store.count_envelopes(source.case.case_id)
    await env.pump()
    assert await env.store.count_envelopes(source.case.case_id) == before
    assert source.user.last_bot_message().text == said("en", "refuse.voice")
    assert sent.message_id not in visible_ids(source)
    assert not sim.calls_to("getFile")


@pytest.mark.relay_config(allow_voice=True)
async def test_voice_is_sealed_when_allowed(env, sim, source):
    voice = b"OggS" + bytes(range(200)) * 3
    await source.user.send_voice(voice, duration=3)
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert message.kind == "voice" and ref.mime == "audio/ogg"
    assert await env.read_attachment(ref) == voice
    assert source.user.last_bot_message().text == said("en", "ack.received")


async def test_video_is_sealed(env, sim, source):
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20
    await source.user.send_video(video, caption="from the yard", file_name="yard.mp4")
    await env.pump()
    (message,) = await stored(env, source)
    (ref,) = message.attachments
    assert (message.kind, message.text, ref.name, ref.mime) == (
        "video",
        "from the yard",
        "yard.mp4",
        "video/mp4",
    )
    assert await env.read_attachment(ref) == video


async def test_album_parts_share_their_group(env, sim, source):
    items = [
        AlbumItem("photo", jpeg_with_gps((40 + i, 30)), caption="page 1" if i == 0 else None)
        for i in range(3)
    ]
    sent = await source.user.send_album(items)
    await env.pump()
    messages = await stored(env, source)
    assert [m.kind for m in messages] == ["photo"] * 3
    assert {m.media_group for m in messages} == {sent[0].media_group_id}
    assert [m.ref for m in messages] == [s.message_id for s in sent]  # order kept
    assert messages[0].text == "page 1"
    for i, message in enumerate(messages):
        (ref,) = message.attachments
        assert_clean_jpeg(await env.read_attachment(ref), (40 + i, 30))
    # One acknowledgement for the album, not one per part.
    acks = [m for m in source.user.bot_messages() if m.text == said("en", "ack.received")]
    assert len(acks) == 1
    assert not set(visible_ids(source)) & {s.message_id for s in sent}


# -- text, forwards, edits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "expected", "names"),
    [
        ({"sender_name": "Ivan Petrov"}, {"type": "hidden_user"}, ["Ivan", "Petrov"]),
        ({"channel_title": "Plant news"}, {"type": "channel"}, ["Plant news"]),
        ("user", {"type": "user"}, ["Olga", "Ivanova", "olga_iv"]),
    ],
    ids=["hidden-user", "channel", "user"],
)
async def test_a_forward_keeps_only_the_kind_of_its_origin(
    env, sim, source, origin, expected, names
):
    # ADR 0077: a forward's origin can name the source (their own earlier message) or their
    # workplace (a private channel); only its kind is sealed. Public channels: test_forwards.
    if origin == "user":
        other = sim.add_user(first_name="Olga", last_name="Ivanova", username="olga_iv")
        origin = {"from_user": other}
    await source.user.send_forwarded("the memo as it was sent", **origin)
    await env.pump()
    (message,) = await stored(env, source)
    assert message.text == "the memo as it was sent"
    assert message.forward_origin == expected
    for name in names:
        assert name not in str(message.forward_origin)
    assert str(source.user.id) not in str(message.forward_origin)


async def test_edit_is_sealed_as_a_new_version(env, sim, source):
    sent = await source.user.send_text("the meeting is on Monday")
    await source.user.edit_message(sent.message_id, "the meeting is on Tuesday")
    await env.pump()
    first, edit = await stored(env, source)
    assert (first.text, first.edit, first.ref) == (
        "the meeting is on Monday",
        False,
        sent.message_id,
    )
    assert (edit.text, edit.edit, edit.ref) == ("the meeting is on Tuesday", True, sent.message_id)
    texts = [m.text for m in source.user.bot_messages()]
    assert said("en", "ack.edited") in texts
    assert sent.message_id not in visible_ids(source)


@pytest.mark.relay_config(delete_ingested=False)
async def test_without_deletion_a_reaction_acknowledges(env, sim, source):
    sent = await source.user.send_text("keep this in my chat")
    await env.pump()
    assert [m.text for m in await stored(env, source)] == ["keep this in my chat"]
    kept = source.user.message(sent.message_id)
    assert kept.bot_reactions == ("👍",)


@pytest.mark.relay_config(max_text_chars=100)
@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        (" \n ", "refuse.empty"),
        ("\u200b\u2800\u3164", "refuse.empty"),  # invisible characters only
        ("x" * 101, "refuse.too_long"),
    ],
    ids=["blank", "invisible", "too-long"],
)
async def test_empty_or_too_long_text_is_refused(env, sim, source, text, refusal):
    if text.strip():
        sent_id = (await source.user.send_text(text)).message_id
    else:  # Telegram's apps trim blanks; only a raw update can carry them
        sent_id = inject_message(sim, source.user, {"text": text})
    await env.pump()
    assert await stored(env, source) == []
    assert source.user.last_bot_message().text == said("en", refusal)
    assert sent_id not in visible_ids(source)


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (
            {
                "sticker": {
                    "file_id": "CAACAgIAAxkBAAIBsticker",
                    "file_unique_id": "AgADsticker",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            "refuse.sticker",
        ),
        ({"dice": {"emoji": "🎲", "value": 4}}, "refuse.sticker"),
        ({"location": {"latitude": 55.7558, "longitude": 37.6173}}, "refuse.location"),
        (
            {
                "venue": {
                    "location": {"latitude": 55.7558, "longitude": 37.6173},
                    "title": "Main gate",
                    "address": "1 Factory Road",
                },
                "location": {"latitude": 55.7558, "longitude": 37.6173},
            },
            "refuse.location",
        ),
        (
            {"contact": {"phone_number": "+79990001122", "first_name": "Ivan", "user_id": 42}},
            "refuse.contact",
        ),
        ({"game": {"title": "Quiz", "description": "A game", "photo": []}}, "refuse.unsupported"),
    ],
    ids=["sticker", "dice", "location", "venue", "contact", "game"],
)
async def test_refused_kinds_are_deleted_and_not_stored(env, sim, source, content, refusal):
    sent_id = inject_message(sim, source.user, content)
    before = await env.store.count_envelopes(source.case.case_id)
    await env.pump()
    assert await env.store.count_envelopes(source.case.case_id) == before
    assert source.user.last_bot_message().text == said("en", refusal)
    assert sent_id not in visible_ids(source)


# -- floods, garbage, foreign buttons -------------------------------------------------------


@pytest.mark.relay_config(rate_limit_messages=3, rate_limit_window_seconds=60)
async def test_past_the_hard_cap_nothing_is_destroyed_and_the_source_is_told_once(env, sim, source):
    sent = [await source.user.send_text(f"message {i}") for i in range(6)]
    await env.pump()
    assert [m.text for m in await stored(env, source)] == ["message 0", "message 1", "message 2"]
    told = said("en", "refuse.rate_limited", minutes=1)
    assert [m.text for m in source.user.bot_messages()].count(told) == 1
    # What was stored left the chat; what was refused stays there, to be sent again.
    visible = set(visible_ids(source))
    assert not visible & {m.message_id for m in sent[:3]}
    assert {m.message_id for m in sent[3:]} <= visible


async def test_a_burst_is_stored_whole_and_acknowledged_once(env, sim, source):
    before = len(source.user.bot_messages())
    texts = [f"part {i} of a long paste" for i in range(60)]
    for text in texts:
        await source.user.send_text(text)
    await env.pump()
    assert [m.text for m in await stored(env, source)] == texts
    new = [m.text for m in source.user.bot_messages()[before:]]
    assert new.count(said("en", "ack.received")) == 1
    assert len(new) == 1  # no notice of any kind besides the one acknowledgement


def _private(**fields: object) -> dict[str, object]:
    base = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 1, "type": "private"},
        "from": {"id": 1, "is_bot": False, "first_name": "x"},
    }
    return {**base, **fields}


# One shape per way PTB's de_json fails: (update field, its value off the Bot API spec).
MALFORMED: dict[str, tuple[str, object]] = {
    "message-not-object": ("message", "not an object"),
    "message-fields-wrong": ("message", {"message_id": "x", "chat": 5}),
    "edit-is-a-list": ("edited_message", [1, 2, 3]),
    "callback-without-user": ("callback_query", {"id": 1, "from": None}),
    "callback-not-object": ("callback_query", 17),
    "text-not-a-string": (
        "message",
        {**_private(text=5), "from": {"id": "me", "is_bot": False}},
    ),
    "photo-sizes-wrong": (
        "message",
        _private(
            photo=[
                {"file_id": "a", "file_unique_id": "b", "width": "w", "height": 1},
                {"file_id": "c", "file_unique_id": "d", "width": 2, "height": 2},
            ]
        ),
    ),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_parse_update_has_one_failure(name):
    field, value = MALFORMED[name]
    raw = json.dumps({"update_id": 7, field: value}).encode()
    with pytest.raises(MalformedUpdate):
        parse_update(raw, Bot("1:test"))


class TestMalformedUpdatesFromTelegram:
    """Off-spec updates served by getUpdates itself (telesim not checking its own output)."""

    @pytest.fixture
    async def sim(self):
        async with TelegramSimulator(strict=False) as sim:
            yield sim

    @pytest.mark.parametrize(
        "name",
        list(MALFORMED),
    )
    async def test_dropped_and_later_updates_flow(self, env, sim, source, name):
        field, value = MALFORMED[name]
        update_id = sim.world.updates.push(field, value)  # type: ignore[arg-type]
        await source.user.send_text("still here")
        await env.pump()
        assert await env.store.count_inbox() == 0
        assert await env.store.is_update_processed(update_id)
        assert [m.text for m in await stored(env, source)] == ["still here"]


async def test_foreign_button_is_answered_and_ignored(env, sim, source):
    chat = sim.world.chats[source.user.id]
    markup = {"inline_keyboard": [[{"text": "Pay", "callback_data": "admin:delete-all"}]]}
    stale = sim.world.add_message(
        chat, from_bot=True, kind="text", content={"text": "old"}, reply_markup=markup
    )
    before = await env.store.count_envelopes(source.case.case_id)
    seen = len(source.user.bot_messages())
    query = await source.user.press_button(stale.message_id, "admin:delete-all")
    await env.pump()
    assert source.user.callback_answer(query) is not None
    assert await env.store.count_envelopes(source.case.case_id) == before
    assert len(source.user.bot_messages()) == seen  # nothing said
    assert await env.store.get_dialogue(env.ring.current.lookup_hash(source.user.id)) is None
