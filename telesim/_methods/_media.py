"""Sending files (photo, document, voice, video, audio, albums) and getFile."""

from __future__ import annotations

from typing import Any

from telesim._errors import bad_request
from telesim._methods._common import (
    caption_content,
    caption_of,
    input_files,
    reply_markup,
    reply_to,
    resolve_file,
)
from telesim._methods._registry import MethodGroup
from telesim._params import Params
from telesim._render import media_content, message_json
from telesim._state import World

group = MethodGroup()

GET_FILE_LIMIT = 20 * 1024 * 1024
_SEND = ("chat_id", "protect_content", "reply_parameters", "reply_markup")
_CAPTION = ("caption", "parse_mode", "caption_entities")


async def _send_media(world: World, p: Params, kind: str) -> Any:
    chat = world.chat_to_send(p.chat_id())
    caption = caption_of(world, p)
    markup = reply_markup(p)
    replied = reply_to(world, chat, p)
    files = input_files(world, p, kind, kind)
    content = {**media_content(kind, files), **caption}
    message = world.add_message(
        chat,
        from_bot=True,
        kind=kind,
        content=content,
        reply_markup=markup,
        protect_content=p.flag("protect_content"),
        reply_to=replied,
    )
    return message_json(world, message)


@group.method("sendPhoto", returns="Message", honours=(*_SEND, *_CAPTION, "photo"))
async def send_photo(world: World, p: Params) -> Any:
    return await _send_media(world, p, "photo")


@group.method("sendDocument", returns="Message", honours=(*_SEND, *_CAPTION, "document"))
async def send_document(world: World, p: Params) -> Any:
    return await _send_media(world, p, "document")


@group.method("sendVoice", returns="Message", honours=(*_SEND, *_CAPTION, "voice", "duration"))
async def send_voice(world: World, p: Params) -> Any:
    return await _send_media(world, p, "voice")


@group.method(
    "sendVideo",
    returns="Message",
    honours=(*_SEND, *_CAPTION, "video", "duration", "width", "height"),
)
async def send_video(world: World, p: Params) -> Any:
    return await _send_media(world, p, "video")


@group.method("sendAudio", returns="Message", honours=(*_SEND, *_CAPTION, "audio", "duration"))
async def send_audio(world: World, p: Params) -> Any:
    return await _send_media(world, p, "audio")


_ALBUM_KINDS = {"photo": "visual", "video": "visual", "document": "document", "audio": "audio"}


@group.method(
    "sendMediaGroup",
    returns="Array of Message",
    honours=("chat_id", "media", "protect_content", "reply_parameters"),
)
async def send_media_group(world: World, p: Params) -> Any:
    chat = world.chat_to_send(p.chat_id())
    items = p.opt_list("media") or []
    if not 2 <= len(items) <= 10:
        raise bad_request("media must include 2-10 items")
    families = {_ALBUM_KINDS.get(item["type"]) for item in items}
    if len(families) != 1 or None in families:
        raise bad_request("Can't use the media of the specified type in the album")
    replied = reply_to(world, chat, p)
    prepared = []
    for item in items:
        caption = caption_content(
            world, item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
        )
        media = item["media"]
        if media.startswith("attach://"):
            upload = p.uploads.get(media[len("attach://") :])
            if upload is None:
                raise bad_request(f"file {media} not found in the request")
            files = resolve_file(world, upload, item["type"], None)
        else:
            files = resolve_file(world, media, item["type"], None)
        prepared.append((item["type"], {**media_content(item["type"], files), **caption}))
    group_id = world.next_media_group_id()
    results = []
    for kind, content in prepared:
        message = world.add_message(
            chat,
            from_bot=True,
            kind=kind,
            content={**content, "media_group_id": group_id},
            protect_content=p.flag("protect_content"),
            reply_to=replied,
        )
        results.append(message_json(world, message))
    return results


@group.method("getFile", returns="File", honours=("file_id",))
async def get_file(world: World, p: Params) -> Any:
    stored = world.files.get(p.req_str("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.file_size > GET_FILE_LIMIT:
        raise bad_request("file is too big")
    world.files.issue_link(stored, world.clock.now())
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.file_size,
        "file_path": stored.file_path,
    }
