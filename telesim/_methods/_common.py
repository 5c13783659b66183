"""What several methods share: texts and captions, keyboards, replies, input files."""

from __future__ import annotations

from typing import Any

from telesim._entities import Entity, EntityParseError
from telesim._errors import bad_request
from telesim._files import StoredFile
from telesim._images import ImageError
from telesim._params import Params, Upload
from telesim._state import ChatRecord, World
from telesim._text import format_text

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
MAX_BUTTONS = 100
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = ("http://", "https://", "tg://")


def formatted(
    world: World, text: str, parse_mode: str | None, entities: list[Entity] | None
) -> tuple[str, list[Entity]]:
    """``text`` after parse_mode/entities, trimming and auto-detection (400 on bad markup)."""
    try:
        return format_text(
            text, parse_mode=parse_mode, entities=entities, entity_types=world.entity_types
        )
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    except ValueError:
        raise bad_request("unsupported parse_mode") from None


def text_content(world: World, p: Params) -> dict[str, Any]:
    """``text``/``entities`` of sendMessage and editMessageText."""
    text, entities = formatted(
        world, p.opt_str("text") or "", p.opt_str("parse_mode"), p.opt_list("entities")
    )
    if not text:
        raise bad_request("message text is empty")
    if len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return content


def caption_content(
    world: World,
    caption: str | None,
    parse_mode: str | None,
    entities: list[Entity] | None,
) -> dict[str, Any]:
    """``caption``/``caption_entities`` of a media message (empty when there is none)."""
    if caption is None:
        return {}
    text, found = formatted(world, caption, parse_mode, entities)
    if len(text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    content: dict[str, Any] = {}
    if text:
        content["caption"] = text
        if found:
            content["caption_entities"] = found
    return content


def caption_of(world: World, p: Params) -> dict[str, Any]:
    return caption_content(
        world, p.opt_str("caption"), p.opt_str("parse_mode"), p.opt_list("caption_entities")
    )


def reply_markup(p: Params) -> dict[str, Any] | None:
    """The ``reply_markup`` parameter, with Telegram's checks of inline keyboards."""
    markup = p.opt_obj("reply_markup")
    if markup is None or "inline_keyboard" not in markup:
        return markup
    count = 0
    for row in markup["inline_keyboard"]:
        for button in row:
            count += 1
            check_inline_button(button)
    if count > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return markup


def check_inline_button(button: dict[str, Any]) -> None:
    if not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not url.startswith(_URL_SCHEMES):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def reply_to(world: World, chat: ChatRecord, p: Params) -> int | None:
    """The message id ``reply_parameters`` point at, if it is still there."""
    params = p.opt_obj("reply_parameters")
    if params is None:
        return None
    target_chat = params.get("chat_id", chat.id)
    message_id = params["message_id"]
    if target_chat == chat.id and message_id in chat.messages:
        assert isinstance(message_id, int)
        return message_id
    if params.get("allow_sending_without_reply"):
        return None
    raise bad_request("message to be replied not found")


def input_files(world: World, p: Params, name: str, kind: str) -> list[StoredFile]:
    """The file(s) a ``photo``/``document``/... parameter names: upload, file_id or URL."""
    value = p.input_file(name)
    if value is None:
        raise bad_request(f"there is no {name} in the request")
    return resolve_file(world, value, kind, p)


def resolve_file(
    world: World, value: Upload | str, kind: str, p: Params | None
) -> list[StoredFile]:
    if isinstance(value, Upload):
        return store_upload(world, value, kind, p)
    if value.startswith(("http://", "https://")):
        # The simulator never fetches URLs: nothing may leave the machine.
        raise bad_request("failed to get HTTP URL content")
    stored = world.files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(
            f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
        )
    if kind == "photo":
        return world.files.photo_set(value)
    return [stored]


def store_upload(world: World, upload: Upload, kind: str, p: Params | None) -> list[StoredFile]:
    if not upload.data:
        raise bad_request("file must be non-empty")
    if kind == "photo":
        if len(upload.data) > PHOTO_UPLOAD_LIMIT:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        try:
            return world.files.add_photo(upload.data)
        except ImageError as exc:
            raise bad_request(str(exc)) from None
    mime = upload.content_type
    if mime in (None, "application/octet-stream"):
        mime = None
    defaults = {"voice": "audio/ogg", "video": "video/mp4", "audio": "audio/mpeg"}
    return [
        world.files.add(
            kind,
            upload.data,
            file_name=upload.filename if kind != "voice" else None,
            mime_type=mime or defaults.get(kind),
            width=p.opt_int("width") if p else None,
            height=p.opt_int("height") if p else None,
            duration=p.opt_int("duration") if p else None,
        )
    ]
