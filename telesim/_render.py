"""State records as Bot API JSON objects (User, Chat, Message, ...) and user views."""

from __future__ import annotations

import hashlib
from typing import Any

from telesim._files import StoredFile
from telesim._state import BotRecord, ChatRecord, MessageRecord, UserRecord, World
from telesim._views import ChatMessage, InlineButton


def user_json(user: UserRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user.id, "is_bot": False, "first_name": user.first_name}
    if user.last_name:
        data["last_name"] = user.last_name
    if user.username:
        data["username"] = user.username
    if user.language_code:
        data["language_code"] = user.language_code
    if user.is_premium:
        data["is_premium"] = True
    return data


def bot_json(bot: BotRecord, *, full: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": bot.id,
        "is_bot": True,
        "first_name": bot.first_name,
        "username": bot.username,
    }
    if full:
        data.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
    return data


def chat_json(user: UserRecord) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user.id, "type": "private", "first_name": user.first_name}
    if user.last_name:
        data["last_name"] = user.last_name
    if user.username:
        data["username"] = user.username
    return data


def chat_full_info_json(world: World, user: UserRecord) -> dict[str, Any]:
    data = chat_json(user)
    data.update(
        accent_color_id=user.id % 7,
        max_reaction_count=11,
        accepted_gift_types={
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    )
    if user.hide_forwards:
        data["has_private_forwards"] = True
    chat = world.chats.get(user.id)
    if chat is not None and chat.auto_delete_seconds:
        data["message_auto_delete_time"] = chat.auto_delete_seconds
    return data


def chat_instance(world: World, chat: ChatRecord) -> str:
    digest = hashlib.sha256(f"{world.bot.id}:{chat.id}".encode()).digest()
    return str(int.from_bytes(digest[:8], "big") >> 1)


def message_json(
    world: World, message: MessageRecord, *, with_reply: bool = True
) -> dict[str, Any]:
    """The Bot API ``Message`` object for a stored message."""
    user = world.users[message.chat_id]
    data: dict[str, Any] = {"message_id": message.message_id}
    data["from"] = bot_json(world.bot) if message.from_bot else user_json(user)
    data["chat"] = chat_json(user)
    data["date"] = message.date
    if message.edit_date is not None:
        data["edit_date"] = message.edit_date
    if message.protect_content:
        data["has_protected_content"] = True
    if with_reply and message.reply_to is not None:
        chat = world.chats[message.chat_id]
        replied = chat.messages.get(message.reply_to)
        if replied is not None:
            data["reply_to_message"] = message_json(world, replied, with_reply=False)
    data.update(message.content)
    if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
        data["reply_markup"] = message.reply_markup
    return data


def file_json(stored: StoredFile) -> dict[str, Any]:
    """The media object (Document, Voice, ...) of a stored file, without ``photo``."""
    data: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
    }
    if stored.kind in ("photo", "thumbnail", "video", "animation"):
        data["width"] = stored.width or 0
        data["height"] = stored.height or 0
    if stored.kind in ("voice", "video", "audio", "animation"):
        data["duration"] = stored.duration or 0
    if stored.kind in ("document", "video", "audio", "animation") and stored.file_name:
        data["file_name"] = stored.file_name
    if stored.kind != "photo" and stored.kind != "thumbnail" and stored.mime_type:
        data["mime_type"] = stored.mime_type
    data["file_size"] = stored.file_size
    return data


def origin_of(world: World, message: MessageRecord) -> dict[str, Any]:
    """The ``forward_origin`` a forward of ``message`` carries."""
    if "forward_origin" in message.content:
        origin: dict[str, Any] = message.content["forward_origin"]
        return origin
    if message.from_bot:
        return {"type": "user", "date": message.date, "sender_user": bot_json(world.bot)}
    user = world.users[message.sender_id]
    if user.hide_forwards:
        name = " ".join(filter(None, (user.first_name, user.last_name)))
        return {"type": "hidden_user", "date": message.date, "sender_user_name": name}
    return {"type": "user", "date": message.date, "sender_user": user_json(user)}


def media_content(kind: str, files: list[StoredFile]) -> dict[str, Any]:
    """The message field for ``files`` (``photo`` is a list of sizes)."""
    if kind == "photo":
        return {"photo": [file_json(f) for f in files]}
    return {kind: file_json(files[0])}


def message_view(world: World, message: MessageRecord) -> ChatMessage:
    """What the user sees of ``message``."""
    raw = message_json(world, message)
    content = message.content
    main = _main_file(content)
    markup = message.reply_markup
    buttons: tuple[tuple[InlineButton, ...], ...] = ()
    if markup is not None and "inline_keyboard" in markup:
        buttons = tuple(
            tuple(InlineButton(b["text"], b.get("callback_data"), b.get("url")) for b in row)
            for row in markup["inline_keyboard"]
        )
    entities = content.get("entities", content.get("caption_entities", []))
    return ChatMessage(
        chat_id=message.chat_id,
        message_id=message.message_id,
        date=message.date,
        from_bot=message.from_bot,
        sender_id=message.sender_id,
        kind=message.kind,
        text=content.get("text"),
        caption=content.get("caption"),
        entities=tuple(entities),
        file_id=main.get("file_id") if main else None,
        file_unique_id=main.get("file_unique_id") if main else None,
        file_name=main.get("file_name") if main else None,
        mime_type=main.get("mime_type") if main else None,
        file_size=main.get("file_size") if main else None,
        protect_content=message.protect_content,
        reply_markup=markup,
        buttons=buttons,
        edited=message.edit_date is not None,
        forward_origin=content.get("forward_origin"),
        media_group_id=content.get("media_group_id"),
        reply_to_message_id=message.reply_to,
        bot_reactions=tuple(_emoji(r) for r in message.bot_reactions),
        user_reactions=tuple(_emoji(r) for r in message.user_reactions),
        raw=raw,
        silent=message.silent,
    )


def _main_file(content: dict[str, Any]) -> dict[str, Any] | None:
    if "photo" in content:
        largest: dict[str, Any] = content["photo"][-1]
        return largest
    for key in ("document", "voice", "video", "audio", "animation"):
        if key in content:
            found: dict[str, Any] = content[key]
            return found
    return None


def _emoji(reaction: dict[str, Any]) -> str:
    return str(reaction.get("emoji") or reaction.get("custom_emoji_id") or reaction["type"])
