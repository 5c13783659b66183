"""The Bot API methods the simulator serves, one module per group."""

from __future__ import annotations

from telesim._methods import _bot, _chats, _edits, _media, _messages, _updates
from telesim._methods._registry import MethodDef, MethodTable

METHODS = MethodTable(
    [_bot.group, _updates.group, _messages.group, _edits.group, _media.group, _chats.group]
)

__all__ = ["METHODS", "MethodDef", "MethodTable"]
