"""Simulated Telegram users: what they send to the bot and what they see."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from telesim._entities import Entity, EntityParseError
from telesim._errors import UserActionError
from telesim._files import StoredFile
from telesim._images import ImageError
from telesim._methods._common import CAPTION_LIMIT, TEXT_LIMIT
from telesim._render import (
    bot_json,
    chat_instance,
    chat_json,
    media_content,
    message_json,
    message_view,
    origin_of,
    user_json,
)
from telesim._state import CallbackQueryRecord, ChatRecord, MessageRecord, UserRecord, World
from telesim._text import format_text
from telesim._views import CallbackAnswer, ChatMessage

MediaKind = Literal["photo", "video", "document", "audio"]
_ALBUM_FAMILY = {"photo": "visual", "video": "visual", "document": "document", "audio": "audio"}
AUTO_DELETE_MIN = 86_400  # the apps offer 1 day, 1 week, 1 month or a custom period
AUTO_DELETE_MAX = 365 * 86_400


@dataclass(frozen=True, slots=True)
class AlbumItem:
    """One photo, video, document or audio file of an album (``SimUser.send_album``)."""

    kind: MediaKind
    data: bytes
    caption: str | None = None
    file_name: str | None = None
    mime_type: str | None = None


class SimUser:
    """A Telegram user in a private chat with the bot.

    Every ``send_*`` puts a message in the chat and an update in the bot's queue;
    ``visible_messages()`` shows the chat as the user's app would.
    """

    def __init__(self, world: World, record: UserRecord) -> None:
        self._world = world
        self._record = record
        self._last_sent = 0

    # -- identity -------------------------------------------------------------

    @property
    def id(self) -> int:
        return self._record.id

    @property
    def chat_id(self) -> int:
        """The private chat's id, equal to the user's id as in Telegram."""
        return self._record.id

    @property
    def first_name(self) -> str:
        return self._record.first_name

    @property
    def last_name(self) -> str | None:
        return self._record.last_name

    @property
    def username(self) -> str | None:
        return self._record.username

    @property
    def language_code(self) -> str | None:
        return self._record.language_code

    @property
    def hide_forwards(self) -> bool:
        return self._record.hide_forwards

    def to_json(self) -> dict[str, Any]:
        """The user as a Bot API ``User`` object."""
        return user_json(self._record)

    def __repr__(self) -> str:
        return f"SimUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def _chat(self) -> ChatRecord:
        return self._world.expire(self._world.chats[self.id])

    # -- sending --------------------------------------------------------------

    async def send_text(
        self, text: str, *, entities: Sequence[Entity] | None = None, reply_to: int | None = None
    ) -> ChatMessage:
        """Type and send ``text``; ``/commands`` get their ``bot_command`` entities."""
        text, found = self._format(text, entities, TEXT_LIMIT)
        if not text:
            raise ValueError("Telegram does not send empty messages")
        content: dict[str, Any] = {"text": text}
        if found:
            content["entities"] = found
        return await self._send("text", content, reply_to)

    async def send_photo(
        self, data: bytes, *, caption: str | None = None, reply_to: int | None = None
    ) -> ChatMessage:
        """Send a photo (any image Pillow reads; stored re-encoded in several sizes)."""
        files = self._store_photo(data)
        content = {**media_content("photo", files), **self._caption(caption)}
        return await self._send("photo", content, reply_to)

    async def send_document(
        self,
        data: bytes,
        *,
        file_name: str = "document.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> ChatMessage:
        """Send a file as a document (kept byte for byte)."""
        stored = self._store("document", data, file_name=file_name, mime_type=mime_type)
        content = {**media_content("document", [stored]), **self._caption(caption)}
        return await self._send("document", content, reply_to)

    async def send_voice(
        self,
        data: bytes,
        *,
        duration: int = 1,
        mime_type: str = "audio/ogg",
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> ChatMessage:
        """Send a voice note."""
        stored = self._store("voice", data, mime_type=mime_type, duration=duration)
        content = {**media_content("voice", [stored]), **self._caption(caption)}
        return await self._send("voice", content, reply_to)

    async def send_video(
        self,
        data: bytes,
        *,
        duration: int = 1,
        width: int = 640,
        height: int = 360,
        file_name: str = "video.mp4",
        mime_type: str = "video/mp4",
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> ChatMessage:
        """Send a video."""
        stored = self._store(
            "video",
            data,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
            duration=duration,
        )
        content = {**media_content("video", [stored]), **self._caption(caption)}
        return await self._send("video", content, reply_to)

    async def send_album(self, items: Sequence[AlbumItem]) -> list[ChatMessage]:
        """Send 2-10 media as one album: one message (and update) each, one media_group_id."""
        if not 2 <= len(items) <= 10:
            raise ValueError("an album has 2 to 10 items")
        families = {_ALBUM_FAMILY[i.kind] for i in items}
        if len(families) != 1:
            raise ValueError("photos and videos, documents, or audio files: one kind per album")
        prepared: list[tuple[str, dict[str, Any]]] = []
        for item in items:
            if item.kind == "photo":
                files = self._store_photo(item.data)
            else:
                files = [
                    self._store(
                        item.kind, item.data, file_name=item.file_name, mime_type=item.mime_type
                    )
                ]
            prepared.append(
                (item.kind, {**media_content(item.kind, files), **self._caption(item.caption)})
            )
        group_id = self._world.next_media_group_id()
        return [
            await self._send(kind, {**content, "media_group_id": group_id}, None)
            for kind, content in prepared
        ]

    async def send_forwarded(
        self,
        text: str,
        *,
        from_user: SimUser | None = None,
        sender_name: str | None = None,
        channel_title: str | None = None,
        group_title: str | None = None,
        channel_id: int = -1001234567890,
        channel_message_id: int = 1,
        channel_username: str | None = None,
        group_id: int = -1009876543210,
        author_signature: str | None = None,
        date: int | None = None,
    ) -> ChatMessage:
        """Forward to the bot a text message that came from someone else.

        Name exactly one origin: another simulated user (``from_user``; shown as a
        hidden user if they hide forwards), a ``sender_name`` (a hidden user), a
        channel (``channel_title``; public with a ``channel_username``), or a group's
        anonymous admin (``group_title``: a ``chat`` origin). ``author_signature`` is
        the post's or the admin's signature (channels and groups only).
        """
        when = date if date is not None else self._world.clock.timestamp() - 60
        origin: dict[str, Any]
        named = (from_user, sender_name, channel_title, group_title)
        if sum(x is not None for x in named) != 1:
            raise ValueError(
                "give exactly one of from_user, sender_name, channel_title, group_title"
            )
        if author_signature is not None and channel_title is None and group_title is None:
            raise ValueError("only a channel post or a group's admin has an author_signature")
        if from_user is not None:
            if from_user.hide_forwards:
                name = " ".join(filter(None, (from_user.first_name, from_user.last_name)))
                origin = {"type": "hidden_user", "date": when, "sender_user_name": name}
            else:
                origin = {"type": "user", "date": when, "sender_user": from_user.to_json()}
        elif sender_name is not None:
            origin = {"type": "hidden_user", "date": when, "sender_user_name": sender_name}
        elif channel_title is not None:
            chat: dict[str, Any] = {"id": channel_id, "type": "channel", "title": channel_title}
            if channel_username is not None:
                chat["username"] = channel_username
            origin = {
                "type": "channel",
                "date": when,
                "chat": chat,
                "message_id": channel_message_id,
            }
        else:
            group = {"id": group_id, "type": "supergroup", "title": group_title}
            origin = {"type": "chat", "date": when, "sender_chat": group}
        if author_signature is not None:
            origin["author_signature"] = author_signature
        text, found = self._format(text, None, TEXT_LIMIT)
        content: dict[str, Any] = {"text": text, "forward_origin": origin}
        if found:
            content["entities"] = found
        return await self._send("text", content, None)

    async def forward(self, message_id: int) -> ChatMessage:
        """Forward a message of this chat back into it (refused for protected content)."""
        source = self._visible(message_id)
        if source.protect_content:
            raise UserActionError("the message has protected content and can't be forwarded")
        content = {k: v for k, v in source.content.items() if k != "media_group_id"}
        content["forward_origin"] = origin_of(self._world, source)
        return await self._send(source.kind, content, None)

    async def press_button(
        self, message_id: int, data: str | None = None, *, text: str | None = None
    ) -> str:
        """Press an inline button (by callback data or text); returns the callback query id."""
        message = self._visible(message_id)
        view = message_view(self._world, message)
        try:
            button = view.button(text=text, data=data)
        except LookupError as exc:
            raise UserActionError(str(exc)) from None
        if button.callback_data is None:
            raise UserActionError(f"button {button.text!r} is not a callback button")
        self._check_can_write()
        query_id = str(self._world.rng.getrandbits(63))
        self._world.callback_queries[query_id] = CallbackQueryRecord(
            id=query_id,
            user_id=self.id,
            chat_id=self.id,
            message_id=message_id,
            data=button.callback_data,
            created=self._world.clock.now(),
        )
        self._world.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": self.to_json(),
                "message": message_json(self._world, message),
                "chat_instance": chat_instance(self._world, self._chat),
                "data": button.callback_data,
            },
        )
        await asyncio.sleep(0)
        return query_id

    async def edit_message(self, message_id: int, text: str) -> ChatMessage:
        """Edit one of the user's own messages (its text, or a media message's caption)."""
        message = self._visible(message_id)
        if message.from_bot or "forward_origin" in message.content:
            raise UserActionError("users can edit only their own messages")
        if message.kind == "text":
            new_text, found = self._format(text, None, TEXT_LIMIT)
            if not new_text:
                raise ValueError("Telegram does not keep empty messages")
            content = {"text": new_text, **({"entities": found} if found else {})}
            keep: dict[str, Any] = {}
        else:
            content = self._caption(text)
            keep = {
                k: v for k, v in message.content.items() if k not in ("caption", "caption_entities")
            }
        message.content = {**keep, **content}
        message.edit_date = self._world.clock.timestamp()
        self._world.push_update("edited_message", message_json(self._world, message))
        await asyncio.sleep(0)
        return message_view(self._world, message)

    async def react(self, message_id: int, *emoji: str) -> None:
        """Set the user's reactions on a message (none: remove them)."""
        message = self._visible(message_id)
        for item in emoji:
            if item not in self._world.reaction_emojis:
                raise ValueError(f"{item!r} is not a reaction Telegram offers")
        old = message.user_reactions
        message.user_reactions = [{"type": "emoji", "emoji": e} for e in emoji]
        self._world.push_update(
            "message_reaction",
            {
                "chat": chat_json(self._record),
                "message_id": message_id,
                "user": self.to_json(),
                "date": self._world.clock.timestamp(),
                "old_reaction": old,
                "new_reaction": message.user_reactions,
            },
        )
        await asyncio.sleep(0)

    async def delete_messages(self, *message_ids: int) -> None:
        """Delete messages for both sides (private chats); the bot is not told."""
        for message_id in message_ids:
            self._visible(message_id)
        for message_id in message_ids:
            del self._chat.messages[message_id]
        self._world.touch()
        await asyncio.sleep(0)

    async def set_auto_delete(self, seconds: int) -> ChatMessage:
        """Turn the chat's auto-delete timer on (seconds: a day to a year, as the apps offer)
        or off (0). Telegram posts a service message about it, which the bot receives;
        messages sent from now on go by themselves when the timer runs out."""
        if seconds != 0 and not AUTO_DELETE_MIN <= seconds <= AUTO_DELETE_MAX:
            raise UserActionError("auto-delete is off (0) or from one day to one year")
        chat = self._chat
        chat.started = True
        chat.auto_delete_seconds = seconds
        content = {"message_auto_delete_timer_changed": {"message_auto_delete_time": seconds}}
        message = self._world.add_message(chat, from_bot=False, kind="service", content=content)
        self._world.push_update("message", message_json(self._world, message))
        await asyncio.sleep(0)
        return message_view(self._world, message)

    async def block(self) -> None:
        """Block the bot: its messages now fail with 403; it gets ``my_chat_member``."""
        if self._chat.blocked:
            return
        self._chat.blocked = True
        self._member_update("member", "kicked")
        await asyncio.sleep(0)

    async def unblock(self) -> None:
        """Unblock (restart) the bot."""
        if not self._chat.blocked:
            return
        self._chat.blocked = False
        self._member_update("kicked", "member")
        await asyncio.sleep(0)

    # -- what the user sees -----------------------------------------------------

    def visible_messages(self) -> list[ChatMessage]:
        """Every message still in the chat, both sides, oldest first."""
        return [message_view(self._world, m) for m in self._chat.messages.values()]

    def message(self, message_id: int) -> ChatMessage:
        """One message still in the chat (``LookupError`` if it is gone)."""
        return message_view(self._world, self._visible(message_id, error=LookupError))

    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.visible_messages() if m.from_bot]

    def last_bot_message(self) -> ChatMessage | None:
        found = self.bot_messages()
        return found[-1] if found else None

    async def wait_for_bot_message(
        self,
        *,
        after: int | None = None,
        where: Callable[[ChatMessage], bool] | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - the familiar name for a test helper
    ) -> ChatMessage:
        """The first bot message newer than ``after`` (default: the user's last message)."""
        floor = self._last_sent if after is None else after

        def found() -> ChatMessage | None:
            newer = []
            for message in reversed(self._chat.messages.values()):
                if message.message_id <= floor:
                    break
                newer.append(message)
            for message in reversed(newer):
                if message.from_bot:
                    view = message_view(self._world, message)
                    if where is None or where(view):
                        return view
            return None

        return await wait_until(self._world, found, timeout)

    def callback_answer(self, query_id: str) -> CallbackAnswer | None:
        """The bot's answer to a button press, once it has answered."""
        query = self._world.callback_queries.get(query_id)
        if query is None or query.user_id != self.id:
            raise LookupError(f"no button press {query_id!r} by this user")
        return query.answer

    @property
    def chat_action(self) -> str | None:
        """The bot's current chat action ("typing", ...), shown for 5 s or until it sends."""
        action = self._chat.chat_action
        if action is None or action[1] < self._world.clock.now():
            return None
        return action[0]

    @property
    def blocked(self) -> bool:
        return self._chat.blocked

    # -- internals ----------------------------------------------------------------

    def _format(
        self, text: str, entities: Sequence[Entity] | None, limit: int
    ) -> tuple[str, list[Entity]]:
        try:
            formatted, found = format_text(
                text,
                parse_mode=None,
                entities=list(entities) if entities is not None else None,
                entity_types=self._world.entity_types,
            )
        except EntityParseError as exc:
            raise ValueError(str(exc)) from None
        if len(formatted) > limit:
            raise ValueError(f"longer than {limit} characters")
        return formatted, found

    def _caption(self, caption: str | None) -> dict[str, Any]:
        if caption is None:
            return {}
        text, found = self._format(caption, None, CAPTION_LIMIT)
        if not text:
            return {}
        return {"caption": text, **({"caption_entities": found} if found else {})}

    def _store_photo(self, data: bytes) -> list[StoredFile]:
        try:
            return self._world.files.add_photo(data)
        except ImageError as exc:
            raise ValueError(f"Telegram would not take this photo: {exc}") from None

    def _store(self, kind: str, data: bytes, **details: Any) -> StoredFile:
        if not data:
            raise ValueError("Telegram does not send empty files")
        return self._world.files.add(kind, data, **details)

    def _check_can_write(self) -> None:
        if self._chat.blocked:
            raise UserActionError(f"{self!r} has blocked the bot; unblock() first")

    def _visible(self, message_id: int, error: type[Exception] = UserActionError) -> MessageRecord:
        message = self._chat.messages.get(message_id)
        if message is None:
            raise error(f"message {message_id} is not in the chat")
        return message

    async def _send(self, kind: str, content: dict[str, Any], reply_to: int | None) -> ChatMessage:
        self._check_can_write()
        if reply_to is not None:
            self._visible(reply_to)
        chat = self._chat
        chat.started = True
        message = self._world.add_message(
            chat, from_bot=False, kind=kind, content=content, reply_to=reply_to
        )
        self._last_sent = message.message_id
        self._world.push_update("message", message_json(self._world, message))
        await asyncio.sleep(0)
        return message_view(self._world, message)

    def _member_update(self, old: str, new: str) -> None:
        bot = bot_json(self._world.bot)
        now = self._world.clock.timestamp()

        def member(status: str) -> dict[str, Any]:
            data: dict[str, Any] = {"status": status, "user": bot}
            if status == "kicked":
                data["until_date"] = 0
            return data

        self._world.push_update(
            "my_chat_member",
            {
                "chat": chat_json(self._record),
                "from": self.to_json(),
                "date": now,
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )


T = TypeVar("T")


async def wait_until(world: World, found: Callable[[], T | None], within: float) -> T:
    """Wait (up to ``within`` s) until ``found()`` returns something truthy; return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = found()
        if value:
            return value
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(f"nothing happened within {within} s")
        await world.changed(min(remaining, 0.05))
