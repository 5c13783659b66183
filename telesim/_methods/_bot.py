"""The bot itself: identity, session, commands, descriptions, menu button."""

from __future__ import annotations

import json
import re
from typing import Any

from telesim._errors import bad_request
from telesim._methods._registry import MethodGroup
from telesim._params import Params
from telesim._render import bot_json
from telesim._state import World

group = MethodGroup()

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
MAX_COMMANDS = 100
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


@group.method("getMe", returns="User")
async def get_me(world: World, p: Params) -> Any:
    return bot_json(world.bot, full=True)


@group.method("logOut", returns="Boolean")
async def log_out(world: World, p: Params) -> Any:
    return True  # nothing to log out from


@group.method("close", returns="Boolean")
async def close(world: World, p: Params) -> Any:
    return True


def _scope_key(world: World, p: Params) -> tuple[str, str]:
    scope = p.opt_obj("scope") or {"type": "default"}
    if "chat_id" in scope:
        world.find_chat(scope["chat_id"])
    language = p.opt_str("language_code") or ""
    if language and not _LANGUAGE.fullmatch(language):
        raise bad_request("invalid language code specified")
    return json.dumps(scope, sort_keys=True), language


@group.method("setMyCommands", returns="Boolean", honours=("commands", "scope", "language_code"))
async def set_my_commands(world: World, p: Params) -> Any:
    commands = p.opt_list("commands") or []
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands specified")
    for command in commands:
        if not _COMMAND.fullmatch(command["command"]):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"]) <= 256:
            raise bad_request("command description must be 1-256 characters long")
    key = _scope_key(world, p)
    if commands:
        world.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
    else:
        world.commands.pop(key, None)
    return True


@group.method("getMyCommands", returns="Array of BotCommand", honours=("scope", "language_code"))
async def get_my_commands(world: World, p: Params) -> Any:
    return world.commands.get(_scope_key(world, p), [])


@group.method("deleteMyCommands", returns="Boolean", honours=("scope", "language_code"))
async def delete_my_commands(world: World, p: Params) -> Any:
    world.commands.pop(_scope_key(world, p), None)
    return True


def _language(p: Params) -> str:
    language = p.opt_str("language_code") or ""
    if language and not _LANGUAGE.fullmatch(language):
        raise bad_request("invalid language code specified")
    return language


@group.method("setMyDescription", returns="Boolean", honours=("description", "language_code"))
async def set_my_description(world: World, p: Params) -> Any:
    text = p.opt_str("description") or ""
    if len(text) > DESCRIPTION_LIMIT:
        raise bad_request("description is too long")
    _store(world.descriptions, _language(p), text)
    return True


@group.method("getMyDescription", returns="BotDescription", honours=("language_code",))
async def get_my_description(world: World, p: Params) -> Any:
    return {"description": world.descriptions.get(_language(p), "")}


@group.method(
    "setMyShortDescription", returns="Boolean", honours=("short_description", "language_code")
)
async def set_my_short_description(world: World, p: Params) -> Any:
    text = p.opt_str("short_description") or ""
    if len(text) > SHORT_DESCRIPTION_LIMIT:
        raise bad_request("short description is too long")
    _store(world.short_descriptions, _language(p), text)
    return True


@group.method("getMyShortDescription", returns="BotShortDescription", honours=("language_code",))
async def get_my_short_description(world: World, p: Params) -> Any:
    return {"short_description": world.short_descriptions.get(_language(p), "")}


def _store(table: dict[str, str], language: str, text: str) -> None:
    if text:
        table[language] = text
    else:
        table.pop(language, None)


@group.method("setChatMenuButton", returns="Boolean", honours=("chat_id", "menu_button"))
async def set_chat_menu_button(world: World, p: Params) -> Any:
    button = p.opt_obj("menu_button") or {"type": "default"}
    chat_id = p.opt_int("chat_id")
    if chat_id is None:
        world.default_menu_button = button if button["type"] != "default" else {"type": "commands"}
    else:
        world.find_chat(chat_id).menu_button = None if button["type"] == "default" else button
    return True


@group.method("getChatMenuButton", returns="MenuButton", honours=("chat_id",))
async def get_chat_menu_button(world: World, p: Params) -> Any:
    chat_id = p.opt_int("chat_id")
    if chat_id is not None:
        chat = world.find_chat(chat_id)
        if chat.menu_button is not None:
            return chat.menu_button
    return world.default_menu_button
