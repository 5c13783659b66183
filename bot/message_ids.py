"""What the relay knows of each chat's message ids, to find a copy that a lost answer left.

When Telegram carries out a ``sendMessage`` but its answer is lost, the relay sends the
text again and learns only the second copy's id. The first copy's id lies between the
highest id the relay knew in that chat when it began, and the second copy's. Ids of a
private chat are shared by both sides, so that gap may also hold messages the source sent
meanwhile. This module remembers, per chat, the ids the relay has seen (the source's
messages it processed, its own sends) and which sends are still on their way, so that
the gap holds only ids nobody has accounted for. TelegramIO then asks Telegram which of
those is a copy (docs/decisions/0093).

It lives in memory only and is bounded: chat ids are already in memory for pacing, and
nothing here is written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Iterator

KEPT_PER_CHAT = 64  # ids remembered per chat: a gap is a few seconds of a conversation
CHATS_KEPT = 10_000
MAX_GAP = 10  # ids probed below a copy, nearest first


class _Chat:
    __slots__ = ("highest", "known", "sending", "settled")

    def __init__(self) -> None:
        self.highest = 0
        self.known: deque[int] = deque(maxlen=KEPT_PER_CHAT)
        self.sending = 0
        self.settled = asyncio.Event()
        self.settled.set()


class MessageIds:
    def __init__(self) -> None:
        self._chats: OrderedDict[int, _Chat] = OrderedDict()

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
            while len(self._chats) > CHATS_KEPT:
                # The least recent chat goes, never one with a send on its way.
                idle = next((c for c, v in self._chats.items() if not v.sending), None)
                if idle is None:
                    break
                del self._chats[idle]
        else:
            self._chats.move_to_end(chat_id)
        return chat

    def saw(self, chat_id: int, message_id: int) -> None:
        """``message_id`` is accounted for: the source sent it, or the relay did."""
        chat = self._chat(chat_id)
        chat.known.append(message_id)
        chat.highest = max(chat.highest, message_id)

    def highest(self, chat_id: int) -> int:
        """The highest id seen in the chat, 0 if none."""
        chat = self._chats.get(chat_id)
        return chat.highest if chat is not None else 0

    @contextlib.contextmanager
    def sending(self, chat_id: int) -> Iterator[None]:
        """Around a send whose id is not known yet."""
        chat = self._chat(chat_id)
        chat.sending += 1
        chat.settled.clear()
        try:
            yield
        finally:
            chat.sending -= 1
            if not chat.sending:
                chat.settled.set()

    async def settled(self, chat_id: int, *, within: float) -> bool:
        """Wait until no send to the chat is on its way; False if one still is."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return True
        try:
            await asyncio.wait_for(chat.settled.wait(), within)
        except TimeoutError:
            return False
        return True

    def unaccounted(self, chat_id: int, low: int, high: int) -> list[int]:
        """Ids strictly between ``low`` and ``high`` that nobody accounted for, nearest
        ``high`` first, at most ``MAX_GAP``. None when ``low`` is unknown (0): then any id
        below could be an earlier message of the relay's, sent before a restart."""
        if low <= 0:
            return []
        chat = self._chats.get(chat_id)
        known = set(chat.known) if chat is not None else set()
        start = max(low + 1, high - MAX_GAP)
        return [i for i in range(high - 1, start - 1, -1) if i not in known]
