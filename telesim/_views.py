"""Frozen records the simulator hands out: what a user sees, what the bot called."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class InlineButton:
    """One button of an inline keyboard."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message present in a private chat, as the user sees it."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender_id: int
    kind: str  # "text", "photo", "document", "voice", "video", "audio"
    text: str | None
    caption: str | None
    entities: tuple[Mapping[str, Any], ...]
    file_id: str | None
    file_unique_id: str | None
    file_name: str | None
    mime_type: str | None
    file_size: int | None
    protect_content: bool
    reply_markup: Mapping[str, Any] | None
    buttons: tuple[tuple[InlineButton, ...], ...]
    edited: bool
    forward_origin: Mapping[str, Any] | None
    media_group_id: str | None
    reply_to_message_id: int | None
    bot_reactions: tuple[str, ...]
    user_reactions: tuple[str, ...]
    raw: Mapping[str, Any]  # the Bot API Message object
    # Sent with disable_notification (sendMessage): no sound, no banner on a locked screen.
    silent: bool = False

    @property
    def notified(self) -> bool:
        """Whether the user's phone announced this message (a bot's message, not silent)."""
        return self.from_bot and not self.silent

    @property
    def content(self) -> str | None:
        """The text, or the caption of a media message."""
        return self.text if self.text is not None else self.caption

    def button(self, *, text: str | None = None, data: str | None = None) -> InlineButton:
        """The inline button with this text or callback data (``LookupError`` if absent)."""
        for row in self.buttons:
            for button in row:
                if (text is None or button.text == text) and (
                    data is None or button.callback_data == data
                ):
                    return button
        raise LookupError(f"message {self.message_id} has no button text={text!r} data={data!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["content"] = self.content
        return data


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """The bot's ``answerCallbackQuery`` for one button press."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Bot API call the bot made, as the simulator answered it."""

    seq: int  # 1, 2, 3, ... in the order the calls were answered
    method: str
    params: Mapping[str, Any]
    ok: bool
    error_code: int | None
    description: str | None
    at: float
    fault: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
