"""Editing the bot's messages: text, caption, inline keyboard."""

from __future__ import annotations

from typing import Any

from telesim._errors import bad_request, forbidden
from telesim._methods._common import caption_of, reply_markup, text_content
from telesim._methods._registry import MethodGroup
from telesim._params import Params
from telesim._render import message_json
from telesim._state import MessageRecord, World

group = MethodGroup()

_TARGET = ("chat_id", "message_id", "reply_markup")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def _target(world: World, p: Params) -> MessageRecord:
    if p.has("inline_message_id"):
        raise bad_request("inline messages are not simulated")
    if not p.has("chat_id"):
        raise bad_request("chat_id is empty")
    if not p.has("message_id"):
        raise bad_request("message identifier is not specified")
    chat = world.find_chat(p.chat_id())
    if chat.blocked:
        raise forbidden("bot was blocked by the user")
    message = world.message(chat, p.req_int("message_id"), "message to edit not found")
    if not message.from_bot or "forward_origin" in message.content:
        raise bad_request("message can't be edited")
    return message


def _apply(
    world: World, message: MessageRecord, content: dict[str, Any], markup: dict[str, Any] | None
) -> Any:
    if content == message.content and markup == message.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    message.content = content
    message.reply_markup = markup
    message.edit_date = world.clock.timestamp()
    return message_json(world, message)


@group.method(
    "editMessageText",
    returns=("Message", "Boolean"),
    honours=(*_TARGET, "text", "parse_mode", "entities"),
)
async def edit_message_text(world: World, p: Params) -> Any:
    message = _target(world, p)
    if message.kind != "text":
        raise bad_request("there is no text in the message to edit")
    content = text_content(world, p)
    return _apply(world, message, content, reply_markup(p))


@group.method(
    "editMessageCaption",
    returns=("Message", "Boolean"),
    honours=(*_TARGET, "caption", "parse_mode", "caption_entities"),
)
async def edit_message_caption(world: World, p: Params) -> Any:
    message = _target(world, p)
    if message.kind == "text":
        raise bad_request("there is no caption in the message to edit")
    content = {k: v for k, v in message.content.items() if k not in ("caption", "caption_entities")}
    content.update(caption_of(world, p))
    return _apply(world, message, content, reply_markup(p))


@group.method("editMessageReplyMarkup", returns=("Message", "Boolean"), honours=_TARGET)
async def edit_message_reply_markup(world: World, p: Params) -> Any:
    message = _target(world, p)
    return _apply(world, message, message.content, reply_markup(p))
