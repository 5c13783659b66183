"""A relay with two handlers (tests/bot/relay_env.py), sources onboarded through telesim.

The relay must look a source up under the current and the previous pepper while a key
rotation moves lookup hashes (RelayKeyRing.lookup_hashes). Until bot/conversation.py does
that, :func:`multi_pepper_lookup` stands in for exactly the change asked of it.
"""

from __future__ import annotations

import inspect

import pytest

from bot.conversation import Conversation
from bot.dialogue import DialogueState
from bot.incoming import Incoming, Kind
from bot.turn import Turn
from store import Case
from telesim import TelegramSimulator
from tests.bot.relay_env import make_env


async def _find(
    conv: Conversation, inc: Incoming
) -> tuple[bytes, DialogueState | None, Case | None]:
    """The lookup the relay is asked to do: each hash, newest first; the dialogue decides
    the turn's hash, then the case."""
    hashes = conv.ring.lookup_hashes(inc.user_id)
    lookup, state, case = hashes[0], None, None
    for candidate in hashes:
        state = await conv._dialogue(candidate)
        if state is not None:
            lookup = candidate
            break
    for candidate in hashes:
        case = await conv.store.get_case_by_lookup_hash(candidate)
        if case is not None:
            if state is None:
                lookup = candidate
            break
    return lookup, state, case


async def multi_pepper_lookup(self: Conversation, inc: Incoming) -> Turn:
    lookup, state, case = await _find(self, inc)
    turn = Turn(inc, lookup)
    if inc.kind is Kind.BUTTON:
        turn.then(lambda: self.io.answer_button(inc.callback_id))
    if state is not None:
        await self._step(turn, state, case)
    elif case is not None:
        await self._active(turn, case)
    else:
        await self._stranger(turn)
    return turn


@pytest.fixture(autouse=True)
def _relay_looks_up_every_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    if "lookup_hashes" not in inspect.getsource(Conversation.handle):
        monkeypatch.setattr(Conversation, "handle", multi_pepper_lookup)


@pytest.fixture(autouse=True)
def _no_per_chat_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram's one message a second per chat is tested elsewhere; here it only waits."""
    monkeypatch.setattr("bot.delivery.PER_CHAT_INTERVAL", 0.0)


@pytest.fixture
async def sim():
    async with TelegramSimulator() as sim:
        yield sim


@pytest.fixture
async def env(tmp_path, sim):
    env = await make_env(tmp_path, sim)
    pace = env.relay.delivery.pace
    if hasattr(pace, "per_chat_interval"):
        pace.per_chat_interval = 0.0
    yield env
    await env.bot.shutdown()
    await env.store.close()
