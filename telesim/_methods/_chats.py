"""Chats and callback queries."""

from __future__ import annotations

from typing import Any

from telesim._errors import bad_request
from telesim._methods._registry import MethodGroup
from telesim._params import Params
from telesim._render import chat_full_info_json
from telesim._state import World
from telesim._views import CallbackAnswer

group = MethodGroup()

ANSWER_TEXT_LIMIT = 200
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


@group.method("getChat", returns="ChatFullInfo", honours=("chat_id",))
async def get_chat(world: World, p: Params) -> Any:
    chat = world.find_chat(p.chat_id())
    return chat_full_info_json(world, world.user_of(chat))


@group.method(
    "answerCallbackQuery",
    returns="Boolean",
    honours=("callback_query_id", "text", "show_alert", "url", "cache_time"),
)
async def answer_callback_query(world: World, p: Params) -> Any:
    query = world.callback_queries.get(p.req_str("callback_query_id"))
    if query is None or query.answer is not None:
        raise bad_request(_QUERY_INVALID)
    text = p.opt_str("text")
    if text is not None and len(text) > ANSWER_TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = CallbackAnswer(
        query_id=query.id,
        text=text,
        show_alert=p.flag("show_alert"),
        url=p.opt_str("url"),
        cache_time=p.opt_int("cache_time") or 0,
    )
    return True
