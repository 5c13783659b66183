"""Everything the relay says to Telegram goes through here: protected, HTML-escaped, quiet."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReactionTypeEmoji
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

log = logging.getLogger("writein.relay")

Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


class TelegramIO:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def say(self, chat_id: int, html: str, buttons: Buttons | None = None) -> int | None:
        """Send a message with protect_content; returns its id, or None if Telegram refused."""
        try:
            message = await self.bot.send_message(
                chat_id,
                html,
                parse_mode=ParseMode.HTML,
                protect_content=True,
                reply_markup=keyboard(buttons),
            )
        except TelegramError as exc:
            log.warning("could not send a message: %s", type(exc).__name__)
            return None
        return message.message_id

    async def delete(self, chat_id: int, message_id: int) -> bool:
        """Delete a message; True when it is gone (also when it was already gone)."""
        try:
            await self.bot.delete_message(chat_id, message_id)
        except BadRequest as exc:
            # Already deleted, or older than Telegram's 48 h window: nothing more to do.
            log.info("message not deleted: %s", type(exc).__name__)
            return True
        except Forbidden:
            return True
        except TelegramError as exc:
            log.warning("could not delete a message: %s", type(exc).__name__)
            return False
        return True

    async def react(self, chat_id: int, message_id: int, emoji: str = "👍") -> None:
        try:
            await self.bot.set_message_reaction(chat_id, message_id, ReactionTypeEmoji(emoji))
        except TelegramError as exc:
            log.info("no reaction: %s", type(exc).__name__)

    async def answer_button(self, callback_id: str | None) -> None:
        if callback_id is None:
            return
        try:
            await self.bot.answer_callback_query(callback_id)
        except TelegramError as exc:
            log.info("callback not answered: %s", type(exc).__name__)

    async def clear_buttons(self, chat_id: int, message_id: int) -> None:
        try:
            await self.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
        except TelegramError as exc:
            log.info("buttons not cleared: %s", type(exc).__name__)
