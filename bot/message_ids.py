"""What the relay knows of each chat's message ids, to find a copy that a lost answer left.

When Telegram carries out a ``sendMessage`` but its answer is lost, the relay sends the
text again and learns only the second copy's id. The first copy's id lies above every id
the relay itself had sent to that chat when it began, and below the second copy's. Ids
of a private chat are shared by both sides, so that gap may also hold messages the
source wrote meanwhile, or a reply still on its way. This module remembers, per chat:

- the ids the relay has accounted for: its own sends, and the source's messages;
- the sends still on their way, so that a search waits for their ids;
- sends that may have gone through but whose copy was never identified ("losses"), so
  that no search takes such a copy for one of its own. Once a send that *started* after
  the last loss has an id, every lost copy lies below that id: the floor.

The gap starts at an id the relay sent itself in this process, never at one of the
source's, so it cannot reach a message sent before a restart. TelegramIO then asks
Telegram which id in the gap is a copy (docs/decisions/0093).

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
    __slots__ = ("covered", "floor", "held", "known", "losses", "sending", "sent_high", "settled")

    def __init__(self) -> None:
        self.sent_high = 0  # the highest id the relay sent here in this process
        self.known: deque[int] = deque(maxlen=KEPT_PER_CHAT)
        self.sending = 0
        self.settled = asyncio.Event()
        self.settled.set()
        self.held = 0  # searches under way
        self.losses = 0
        self.covered = 0  # the losses that lie below ``floor``
        self.floor = 0


class Send:
    """One send on its way: what it learns when it gets its id."""

    __slots__ = ("chat", "losses_at_start")

    def __init__(self, chat: _Chat) -> None:
        self.chat = chat
        self.losses_at_start = chat.losses


class MessageIds:
    def __init__(self) -> None:
        self._chats: OrderedDict[int, _Chat] = OrderedDict()

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
            while len(self._chats) > CHATS_KEPT:
                # The least recent chat goes, never one with a send or a search under way.
                idle = next((c for c, v in self._chats.items() if not (v.sending or v.held)), None)
                if idle is None:
                    break
                del self._chats[idle]
        else:
            self._chats.move_to_end(chat_id)
        return chat

    def saw(self, chat_id: int, message_id: int) -> None:
        """The source sent ``message_id``: never a copy."""
        self._chat(chat_id).known.append(message_id)

    def sent_high(self, chat_id: int) -> int:
        """The highest id the relay sent to the chat since it started, 0 if none."""
        chat = self._chats.get(chat_id)
        return chat.sent_high if chat is not None else 0

    @contextlib.contextmanager
    def sending(self, chat_id: int) -> Iterator[Send]:
        """Around a send, its retries included, until its id is known or it gave up."""
        chat = self._chat(chat_id)
        chat.sending += 1
        chat.settled.clear()
        try:
            yield Send(chat)
        finally:
            chat.sending -= 1
            if not chat.sending:
                chat.settled.set()

    def sent(self, send: Send, message_id: int) -> None:
        chat = send.chat
        chat.known.append(message_id)
        chat.sent_high = max(chat.sent_high, message_id)
        if send.losses_at_start > chat.covered:
            # It started after those losses: each lost copy has a lower id than this one.
            chat.covered = send.losses_at_start
            chat.floor = max(chat.floor, message_id)

    def lost(self, chat_id: int) -> None:
        """A send may have gone through, and its copy will not be looked for."""
        self._chat(chat_id).losses += 1

    @contextlib.contextmanager
    def searching(self, chat_id: int) -> Iterator[None]:
        chat = self._chat(chat_id)
        chat.held += 1
        try:
            yield
        finally:
            chat.held -= 1

    async def settled(self, chat_id: int) -> None:
        """Wait until no send to the chat is on its way (bound it with a timeout)."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            await chat.settled.wait()

    def unaccounted(self, chat_id: int, low: int, high: int) -> list[int]:
        """Ids strictly between ``low`` and ``high`` that nobody accounted for, nearest
        ``high`` first, at most ``MAX_GAP``. None when ``low`` is unknown (0: nothing sent
        here since the start), or while another send's copy may be somewhere unknown."""
        chat = self._chats.get(chat_id)
        if low <= 0 or chat is None or chat.covered < chat.losses:
            return []
        start = max(low, chat.floor, high - MAX_GAP - 1) + 1
        known = set(chat.known)
        return [i for i in range(high - 1, start - 1, -1) if i not in known]
