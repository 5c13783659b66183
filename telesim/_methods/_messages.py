"""Sending, forwarding, copying and deleting messages; chat actions; reactions."""

from __future__ import annotations

import copy
from typing import Any

from telesim._errors import bad_request
from telesim._methods._common import caption_content, reply_markup, reply_to, text_content
from telesim._methods._registry import MethodGroup
from telesim._params import Params
from telesim._render import message_json, origin_of
from telesim._state import MessageRecord, World

group = MethodGroup()

CHAT_ACTION_SECONDS = 5.0
MAX_DELETE = 100
MAX_BOT_REACTIONS = 1
_SEND = ("chat_id", "protect_content", "reply_parameters", "reply_markup")


@group.method(
    "sendMessage",
    returns="Message",
    honours=(*_SEND, "text", "parse_mode", "entities", "disable_notification"),
)
async def send_message(world: World, p: Params) -> Any:
    chat = world.chat_to_send(p.chat_id())
    content = text_content(world, p)
    markup = reply_markup(p)
    replied = reply_to(world, chat, p)
    message = world.add_message(
        chat,
        from_bot=True,
        kind="text",
        content=content,
        reply_markup=markup,
        protect_content=p.flag("protect_content"),
        reply_to=replied,
        silent=p.flag("disable_notification"),
    )
    return message_json(world, message)


def _source(world: World, p: Params, missing: str) -> MessageRecord:
    source_chat = world.find_chat(p.chat_id("from_chat_id"))
    message = world.message(source_chat, p.req_int("message_id"), missing)
    if message.protect_content:
        raise bad_request("message has protected content and can't be forwarded")
    return message


@group.method(
    "forwardMessage",
    returns="Message",
    honours=("chat_id", "from_chat_id", "message_id", "protect_content"),
)
async def forward_message(world: World, p: Params) -> Any:
    source = _source(world, p, "message to forward not found")
    chat = world.chat_to_send(p.chat_id())
    content = copy.deepcopy(source.content)
    content.pop("media_group_id", None)
    content["forward_origin"] = origin_of(world, source)
    message = world.add_message(
        chat,
        from_bot=True,
        kind=source.kind,
        content=content,
        protect_content=p.flag("protect_content"),
    )
    return message_json(world, message)


@group.method(
    "copyMessage",
    returns="MessageId",
    honours=(*_SEND, "from_chat_id", "message_id", "caption", "parse_mode", "caption_entities"),
)
async def copy_message(world: World, p: Params) -> Any:
    source = _source(world, p, "message to copy not found")
    chat = world.chat_to_send(p.chat_id())
    content = copy.deepcopy(source.content)
    for key in ("forward_origin", "media_group_id"):
        content.pop(key, None)
    if p.has("caption") and source.kind != "text":
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(
            caption_content(
                world, p.opt_str("caption"), p.opt_str("parse_mode"), p.opt_list("caption_entities")
            )
        )
    markup = reply_markup(p)
    replied = reply_to(world, chat, p)
    message = world.add_message(
        chat,
        from_bot=True,
        kind=source.kind,
        content=content,
        reply_markup=markup,
        protect_content=p.flag("protect_content"),
        reply_to=replied,
    )
    return {"message_id": message.message_id}


@group.method("deleteMessage", returns="Boolean", honours=("chat_id", "message_id"))
async def delete_message(world: World, p: Params) -> Any:
    chat = world.find_chat(p.chat_id())
    message = world.message(chat, p.req_int("message_id"), "message to delete not found")
    if not world.can_delete(message):
        raise bad_request("message can't be deleted")
    del chat.messages[message.message_id]
    return True


@group.method("deleteMessages", returns="Boolean", honours=("chat_id", "message_ids"))
async def delete_messages(world: World, p: Params) -> Any:
    chat = world.find_chat(p.chat_id())
    ids = p.opt_list("message_ids") or []
    if not ids:
        raise bad_request("message identifiers are not specified")
    if len(ids) > MAX_DELETE:
        raise bad_request("too many messages to delete")
    found = [chat.messages[i] for i in dict.fromkeys(ids) if i in chat.messages]
    if not found:
        raise bad_request("message to delete not found")
    if not all(world.can_delete(m) for m in found):
        raise bad_request("message can't be deleted")
    for message in found:
        del chat.messages[message.message_id]
    return True


@group.method("sendChatAction", returns="Boolean", honours=("chat_id", "action"))
async def send_chat_action(world: World, p: Params) -> Any:
    chat = world.chat_to_send(p.chat_id())
    action = p.req_str("action")
    if action not in world.chat_actions:
        raise bad_request("wrong parameter action in request")
    chat.chat_action = (action, world.clock.now() + CHAT_ACTION_SECONDS)
    return True


@group.method(
    "setMessageReaction", returns="Boolean", honours=("chat_id", "message_id", "reaction")
)
async def set_message_reaction(world: World, p: Params) -> Any:
    chat = world.find_chat(p.chat_id())
    message = world.message(chat, p.req_int("message_id"), "message to react not found")
    reactions = p.opt_list("reaction") or []
    for reaction in reactions:
        if reaction["type"] != "emoji" or reaction["emoji"] not in world.reaction_emojis:
            raise bad_request("REACTION_INVALID")
    if len(reactions) > MAX_BOT_REACTIONS:
        raise bad_request("REACTIONS_TOO_MANY")
    message.bot_reactions = [{"type": "emoji", "emoji": r["emoji"]} for r in reactions]
    return True
