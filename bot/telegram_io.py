"""Everything the relay says to Telegram goes through here: protected, HTML-escaped, quiet,
paced within Telegram's limits and retried through its transient failures.

Telegram answers a flood with 429 and a ``retry_after``; it fails now and then with a 5xx
or a dropped connection. Each call is therefore tried up to ``attempts`` times: 429 waits
what Telegram asked for, the others back off exponentially. A call that timed out or lost
its connection may still have been carried out: retrying a *send* then risks showing the
source the same text twice, so such a retry is counted and logged as a possible duplicate,
and bounded like every other retry. Once the retry got through, the first copy is looked
for and deleted (docs/decisions/0093): a case ID or a recovery phrase must not stay in the
chat because an answer was lost. Permanent refusals (400, 403) are never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReactionTypeEmoji
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.message_ids import MessageIds
from bot.pace import Pace
from bot.supervise import Backoff

log = logging.getLogger("writein.relay")

T = TypeVar("T")
Buttons = list[list[tuple[str, str]]]  # rows of (label, callback data)

# Eight tries over about two minutes; a 429 longer than this is not waited out in-line.
CALL_BACKOFF = Backoff(first=1.0, cap=30.0, give_up_after=8)
MAX_RETRY_AFTER = 300.0
# How long a search for a lost answer's copy may take, other sends' ids awaited included.
SEARCH_SECONDS = 120.0
DOUBTS_KEPT = 1_000  # sends in doubt whose copies are still to be looked for
# Refusals that another try cannot change.
PERMANENT = (BadRequest, Forbidden, InvalidToken, ChatMigrated, Conflict, EndPointNotFound)


@dataclass
class CallStats:
    """What the relay's Telegram calls went through, for logs, tests and benchmarks."""

    calls: int = 0
    retries: int = 0
    possible_duplicates: int = 0
    copies_deleted: int = 0
    gave_up: int = 0


def keyboard(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


def retry_after_seconds(value: object) -> float:
    """``retry_after`` as seconds: PTB gives a timedelta (PTB_TIMEDELTA) or an int."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return 1.0


def maybe_applied(exc: NetworkError) -> bool:
    """Whether Telegram may have carried out a call that failed this way."""
    if isinstance(exc, TimedOut):
        return True
    # The transports word a lost connection "aiohttp.ServerDisconnectedError: …" (ours,
    # bot/transport.py) or "httpx.RemoteProtocolError: …" (PTB's); a 5xx answer has a status.
    return str(exc).startswith(("aiohttp.", "httpx."))


class TelegramIO:
    def __init__(
        self,
        bot: Bot,
        *,
        pace: Pace | None = None,
        backoff: Backoff = CALL_BACKOFF,
        stats: CallStats | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.pace = pace or Pace()
        self.backoff = backoff
        self.stats = stats or CallStats()
        self.ids = MessageIds()
        self._sleep = sleep
        # Sends in doubt, by (chat, the id they got): where their copies may be, and the text.
        self._doubts: dict[tuple[int, int], tuple[int, str, Buttons | None]] = {}

    async def call(
        self,
        what: str,
        request: Callable[[], Awaitable[T]],
        *,
        sends: bool = False,
        on_doubt: Callable[[], object] | None = None,
    ) -> T:
        """``request`` with retries; raises its last error if it never got through.
        ``on_doubt`` is told of each failure after which a send may have gone through."""
        attempt = 0
        while True:
            attempt += 1
            self.stats.calls += 1
            try:
                return await request()
            except PERMANENT:
                raise
            except RetryAfter as exc:
                wait = retry_after_seconds(exc.retry_after)
                if wait > MAX_RETRY_AFTER:
                    self.stats.gave_up += 1
                    raise
                error: TelegramError = exc
            except NetworkError as exc:
                wait = self.backoff.delay(attempt)
                error = exc
                if sends and maybe_applied(exc):
                    self.stats.possible_duplicates += 1
                    log.warning("%s may have gone through before it failed: retrying", what)
                    if on_doubt is not None:
                        on_doubt()
            if attempt >= self.backoff.give_up_after:
                self.stats.gave_up += 1
                log.error("%s failed %d times (%s): given up", what, attempt, type(error).__name__)
                raise error
            self.stats.retries += 1
            log.info("%s failed (%s); retry in %.1f s", what, type(error).__name__, wait)
            await self._sleep(wait)

    async def send(
        self, chat_id: int, html: str, buttons: Buttons | None = None, *, quiet: bool = False
    ) -> int:
        """Send a protected message within the pace; returns its id or raises. ``quiet``:
        without a sound or a banner (disable_notification)."""
        low = self.ids.sent_high(chat_id)
        doubts: list[None] = []
        with self.ids.sending(chat_id) as on_its_way:

            async def request() -> int:
                async with self.pace.slot(chat_id):
                    message = await self.bot.send_message(
                        chat_id,
                        html,
                        parse_mode=ParseMode.HTML,
                        protect_content=True,
                        reply_markup=keyboard(buttons),
                        disable_notification=quiet or None,
                    )
                self.ids.sent(on_its_way, message.message_id)
                return message.message_id

            try:
                mid = await self.call(
                    "sendMessage", request, sends=True, on_doubt=lambda: doubts.append(None)
                )
            except BaseException:
                if doubts:
                    self.ids.lost(chat_id)  # a copy may be in the chat, never to be found
                raise
        if doubts:
            if len(self._doubts) >= DOUBTS_KEPT:
                oldest = next(iter(self._doubts))
                del self._doubts[oldest]
                self.ids.lost(oldest[0])
            self._doubts[(chat_id, mid)] = (low, html, buttons)
        return mid

    async def delete_copies(self, chat_id: int, mid: int) -> list[int]:
        """Find and delete the copies that lost answers left of message ``mid``, if its
        send was in doubt; returns the copies found that Telegram would not delete yet.

        Every id between the relay's last own message before the send and ``mid`` that
        nobody accounted for is asked to become this very text: Telegram answers "not
        modified" only for a message of the bot's that already says exactly this, that
        is a copy, and "can't be edited" for one of the source's, which is left alone.
        Other sends to the chat are waited for first, so that none of their ids is taken
        for a candidate.
        """
        doubt = self._doubts.pop((chat_id, mid), None)
        if doubt is None:
            return []
        low, html, buttons = doubt
        if any(chat == chat_id for chat, _ in self._doubts):
            # Another send's copy is still to be looked for: it could be taken for this one's.
            self.ids.lost(chat_id)
            return []
        with self.ids.searching(chat_id):
            try:
                async with asyncio.timeout(SEARCH_SECONDS):
                    await self.ids.settled(chat_id)
                    copies = [
                        c
                        for c in self.ids.unaccounted(chat_id, low, mid)
                        if await self._is_copy(chat_id, c, html, buttons)
                    ]
            except TimeoutError:
                self.ids.lost(chat_id)
                log.warning("a copy of a message may have stayed in a chat: search timed out")
                return []
        if not copies:
            self.ids.lost(chat_id)  # it may lie where no search may look
            return []
        gone = await self.delete_many(chat_id, copies)
        self.stats.copies_deleted += len(gone)
        log.warning("deleted %d copy(ies) left by a lost answer", len(gone))
        return [c for c in copies if c not in gone]

    async def _is_copy(
        self, chat_id: int, candidate: int, html: str, buttons: Buttons | None
    ) -> bool:
        async def same_text() -> object:
            async with self.pace.slot(chat_id):
                return await self.bot.edit_message_text(
                    html,
                    chat_id,
                    candidate,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(buttons),
                )

        try:
            await self.call("editMessageText", same_text)
        except BadRequest as exc:
            # "not modified": it says exactly this already. Otherwise it is one of the
            # source's messages ("can't be edited"), or nothing ("not found").
            return "not modified" in exc.message.lower()
        except TelegramError as exc:
            log.info("a possible copy was not checked: %s", type(exc).__name__)
            return False
        # It said something else and says this now: a message of the relay's that nothing
        # accounted for (none should exist). It goes like a copy.
        log.warning("a message that was not a copy was overwritten by the search")
        return True

    async def say(
        self,
        chat_id: int,
        html: str,
        buttons: Buttons | None = None,
        *,
        quiet: bool = False,
        copies_later: bool = False,
    ) -> int | None:
        """Send a message with protect_content; returns its id, or None if it never went.
        Copies a lost answer left are deleted before it returns, unless ``copies_later``:
        the caller then records the message first and calls :meth:`delete_copies`."""
        try:
            mid = await self.send(chat_id, html, buttons, quiet=quiet)
        except TelegramError as exc:
            log.warning("could not send a message: %s", type(exc).__name__)
            return None
        if not copies_later and await self.delete_copies(chat_id, mid):
            log.warning("a copy of a message stayed in a chat: Telegram would not delete it")
        return mid

    async def delete(self, chat_id: int, message_id: int) -> bool:
        """Delete a message; True when it is gone (also when it was already gone)."""
        try:
            await self.call("deleteMessage", lambda: self.bot.delete_message(chat_id, message_id))
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

    async def delete_many(self, chat_id: int, message_ids: Sequence[int]) -> set[int]:
        """Delete messages of one chat in one call (deleteMessages); the ids now gone.

        Telegram skips ids it cannot find, but refuses the whole call if one of them may
        not be deleted: then each is deleted on its own, so one old message never keeps
        the others in the chat.
        """
        ids = list(dict.fromkeys(message_ids))
        if len(ids) == 1:
            return set(ids) if await self.delete(chat_id, ids[0]) else set()
        try:
            await self.call("deleteMessages", lambda: self.bot.delete_messages(chat_id, ids))
        except BadRequest as exc:
            log.info("messages not deleted together (%s): one by one", type(exc).__name__)
        except Forbidden:
            return set(ids)  # the source blocked the bot: nothing more can be done
        except TelegramError as exc:
            log.warning("could not delete messages: %s", type(exc).__name__)
            return set()
        else:
            return set(ids)
        return {mid for mid in ids if await self.delete(chat_id, mid)}

    async def react(self, chat_id: int, message_id: int, emoji: str = "👍") -> None:
        reaction = ReactionTypeEmoji(emoji)
        try:
            await self.call(
                "setMessageReaction",
                lambda: self.bot.set_message_reaction(chat_id, message_id, reaction),
            )
        except TelegramError as exc:
            log.info("no reaction: %s", type(exc).__name__)

    async def answer_button(self, callback_id: str | None) -> None:
        if callback_id is None:
            return
        try:
            await self.call(
                "answerCallbackQuery", lambda: self.bot.answer_callback_query(callback_id)
            )
        except TelegramError as exc:
            log.info("callback not answered: %s", type(exc).__name__)

    async def clear_buttons(self, chat_id: int, message_id: int) -> None:
        try:
            await self.call(
                "editMessageReplyMarkup",
                lambda: self.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None),
            )
        except TelegramError as exc:
            log.info("buttons not cleared: %s", type(exc).__name__)
