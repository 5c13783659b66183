"""The simulated world: users, their private chats with the bot, messages, settings.

Everything here is plain in-memory state mutated from one event loop; method
handlers and simulated users change it synchronously, then ``World.touch()`` wakes
whoever waits for a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from telesim._clock import Clock
from telesim._errors import CHAT_NOT_FOUND, ApiError, bad_request, forbidden
from telesim._files import FileStore
from telesim._spec import Spec
from telesim._updates import UpdateQueue
from telesim._views import ApiCall, CallbackAnswer

DELETE_WINDOW = 48 * 3600.0  # bots may delete messages younger than 48 hours


@dataclass
class BotRecord:
    id: int
    token: str
    first_name: str
    username: str


@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_premium: bool = False
    hide_forwards: bool = False


@dataclass
class MessageRecord:
    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender_id: int
    kind: str  # text, photo, document, voice, video, audio
    content: dict[str, Any]  # the Bot API fields of the content (text, photo, caption, ...)
    reply_markup: dict[str, Any] | None = None
    protect_content: bool = False
    # sendMessage's disable_notification: the message arrived without a sound or a banner.
    silent: bool = False
    reply_to: int | None = None
    edit_date: int | None = None
    # When Telegram deletes the message by itself (the chat's auto-delete timer), if ever.
    auto_delete_at: float | None = None
    bot_reactions: list[dict[str, Any]] = field(default_factory=list)
    user_reactions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text_or_caption(self) -> tuple[str, list[dict[str, Any]]] | None:
        if "text" in self.content:
            return self.content["text"], self.content.get("entities", [])
        if "caption" in self.content:
            return self.content["caption"], self.content.get("caption_entities", [])
        return None


@dataclass
class ChatRecord:
    """The private chat between the bot and one user (chat id == user id)."""

    id: int
    messages: dict[int, MessageRecord] = field(default_factory=dict)
    next_message_id: int = 1
    started: bool = False
    blocked: bool = False
    chat_action: tuple[str, float] | None = None
    menu_button: dict[str, Any] | None = None
    # The user's auto-delete timer for this chat, in seconds (0: off): ChatFullInfo's
    # message_auto_delete_time. Messages sent while it is on go when it runs out.
    auto_delete_seconds: int = 0

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float
    answer: CallbackAnswer | None = None


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class World:
    """All state of one simulated bot and its users."""

    def __init__(
        self,
        *,
        spec: Spec,
        clock: Clock,
        bot: BotRecord,
        seed: int,
        strict: bool = True,
        allow_remote_webhooks: bool = False,
        call_log_size: int = 10_000,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.bot = bot
        # Simulation randomness (ids, draws), seeded for reproducible runs; not crypto.
        self.rng = random.Random(seed)  # noqa: S311
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.files = FileStore(random.Random(seed + 1))  # noqa: S311
        self.updates = UpdateQueue(clock)
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self.webhook: WebhookConfig | None = None
        self.allow_remote_webhooks = allow_remote_webhooks
        self.strict = strict
        self._call_seq = 0
        self.calls: deque[ApiCall] = deque(maxlen=call_log_size)
        self.problems: list[str] = []
        self.reaction_emojis = spec.reaction_emojis
        self.entity_types = spec.entity_types
        self.chat_actions = spec.chat_actions
        self._next_user_id = 100_000_001
        self._next_media_group = 13_000_000_000_000_000
        self._changed = asyncio.Event()

    # -- change notification --------------------------------------------------------

    def touch(self) -> None:
        """Something changed: wake everyone waiting in ``changed()``."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, within: float) -> None:
        """Wait until the next ``touch()``, at most ``within`` seconds."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._changed.wait()

    def next_call_seq(self) -> int:
        self._call_seq += 1
        return self._call_seq

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for the bot (checked against api.json in strict mode)."""
        if self.strict:
            field = self.spec.types["Update"].fields.get(kind)
            problems = self.spec.check(payload, field.types if field else [], f"Update.{kind}")
            if problems:
                self.record_problem(f"off-spec update: {'; '.join(problems)}")
        update_id = self.updates.push(kind, payload)
        self.touch()
        return update_id

    # -- users and chats ------------------------------------------------------------

    def add_user(self, user: UserRecord) -> UserRecord:
        if user.id in self.users or user.id == self.bot.id:
            raise ValueError(f"user id {user.id} is taken")
        if user.id <= 0:
            raise ValueError("user ids are positive")
        self.users[user.id] = user
        self.chats[user.id] = ChatRecord(id=user.id)
        return user

    def next_user_id(self) -> int:
        while self._next_user_id in self.users:
            self._next_user_id += 1
        return self._next_user_id

    def next_media_group_id(self) -> str:
        self._next_media_group += 1
        return str(self._next_media_group)

    def expire(self, chat: ChatRecord) -> ChatRecord:
        """Remove what the chat's auto-delete timer has taken by now (Telegram does it on
        its own clock; the simulator whenever the chat is looked at)."""
        now = self.clock.now()
        gone = [
            mid
            for mid, m in chat.messages.items()
            if m.auto_delete_at is not None and m.auto_delete_at <= now
        ]
        for mid in gone:
            del chat.messages[mid]
        return chat

    def find_chat(self, chat_id: int | str) -> ChatRecord:
        """The chat ``chat_id`` names, if the bot knows it (400 chat not found)."""
        if isinstance(chat_id, int):
            chat = self.chats.get(chat_id)
            if chat is not None and chat.started:
                return self.expire(chat)
        # Bots cannot look private chats up by @username.
        raise bad_request(CHAT_NOT_FOUND)

    def chat_to_send(self, chat_id: int | str) -> ChatRecord:
        """The chat the bot wants to write to, or Telegram's refusal."""
        if isinstance(chat_id, int) and chat_id in self.chats:
            chat = self.chats[chat_id]
            if not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            return chat
        if chat_id == self.bot.id:
            raise forbidden("bot can't send messages to bots")
        raise bad_request(CHAT_NOT_FOUND)

    def message(self, chat: ChatRecord, message_id: int, missing: str) -> MessageRecord:
        found = chat.messages.get(message_id)
        if found is None:
            raise bad_request(missing)
        return found

    def can_delete(self, message: MessageRecord) -> bool:
        return self.clock.now() - message.date < DELETE_WINDOW

    def add_message(
        self,
        chat: ChatRecord,
        *,
        from_bot: bool,
        kind: str,
        content: dict[str, Any],
        reply_markup: dict[str, Any] | None = None,
        protect_content: bool = False,
        reply_to: int | None = None,
        silent: bool = False,
    ) -> MessageRecord:
        """Append a message to ``chat`` with the chat's next message id."""
        message = MessageRecord(
            chat_id=chat.id,
            message_id=chat.new_message_id(),
            date=self.clock.timestamp(),
            from_bot=from_bot,
            sender_id=self.bot.id if from_bot else chat.id,
            kind=kind,
            content=content,
            reply_markup=reply_markup,
            protect_content=protect_content,
            silent=silent,
            reply_to=reply_to,
        )
        if chat.auto_delete_seconds:
            message.auto_delete_at = self.clock.now() + chat.auto_delete_seconds
        chat.messages[message.message_id] = message
        if from_bot:
            chat.chat_action = None  # a message ends the bot's "typing..."
        return message

    def user_of(self, chat: ChatRecord) -> UserRecord:
        return self.users[chat.id]

    def record_problem(self, problem: str) -> None:
        self.problems.append(problem)


def require(condition: bool, error: ApiError) -> None:
    """Raise ``error`` unless ``condition`` holds."""
    if not condition:
        raise error
