"""Faults on demand, seen by a real PTB bot."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from telesim import SimUser, TelegramSimulator
from tests.telesim.conftest import TOKEN


@pytest.fixture
async def olena(sim: TelegramSimulator) -> SimUser:
    user = sim.add_user(first_name="Olena")
    await user.send_text("/start")
    return user


async def test_server_errors(sim: TelegramSimulator, bot: Bot, olena: SimUser) -> None:
    sim.faults.add(method="sendMessage", error=500, times=1)
    sim.faults.add(method="sendMessage", error=502, times=1)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(olena.id, "a")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(olena.id, "b")
    await bot.send_message(olena.id, "c")
    assert [m.text for m in olena.bot_messages()] == ["c"]
    assert [c.fault for c in sim.calls_to("sendMessage")] == [True, True, False]


async def test_dropped_connection(sim: TelegramSimulator, bot: Bot, olena: SimUser) -> None:
    sim.faults.add(method="sendMessage", drop=True, times=1)
    with pytest.raises(NetworkError):
        await bot.send_message(olena.id, "lost")
    assert olena.bot_messages() == []


async def test_answer_lost_after_the_effect(
    sim: TelegramSimulator, bot: Bot, olena: SimUser
) -> None:
    sim.faults.add(method="sendMessage", drop=True, after_effect=True, times=1)
    with pytest.raises(NetworkError):
        await bot.send_message(olena.id, "delivered anyway")
    assert [m.text for m in olena.bot_messages()] == ["delivered anyway"]


async def test_slow_answers(sim: TelegramSimulator, bot: Bot, olena: SimUser) -> None:
    sim.faults.add(method="sendChatAction", delay=0.3)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await bot.send_chat_action(olena.id, "typing")
    assert loop.time() - start >= 0.3


async def test_blocked_fault_for_one_chat(sim: TelegramSimulator, bot: Bot, olena: SimUser) -> None:
    taras = sim.add_user(first_name="Taras")
    await taras.send_text("/start")
    sim.faults.add(chat_id=olena.id, error=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(olena.id, "x")
    with pytest.raises(Forbidden):
        await bot.send_photo(olena.id, "AgAC-unused")
    await bot.send_message(taras.id, "fine")


async def test_custom_bad_request(sim: TelegramSimulator, bot: Bot, olena: SimUser) -> None:
    sim.faults.add(method="getChat", error=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(olena.id)


async def seeded_pattern(seed: int) -> list[bool]:
    async with TelegramSimulator(token=TOKEN, seed=seed) as sim:
        user = sim.add_user(first_name="A")
        await user.send_text("/start")
        sim.faults.add(method="sendMessage", error=429, retry_after=1, probability=0.5)
        async with Bot(TOKEN, base_url=sim.base_url) as bot:
            results = []
            for _ in range(20):
                try:
                    await bot.send_message(user.id, "x")
                    results.append(True)
                except RetryAfter:
                    results.append(False)
        return results


async def test_fraction_of_calls_is_seeded() -> None:
    first = await seeded_pattern(7)
    assert first == await seeded_pattern(7)
    assert 3 <= first.count(False) <= 17
    assert first != await seeded_pattern(8)


async def test_times_and_removal(sim: TelegramSimulator, bot: Bot, olena: SimUser) -> None:
    fault = sim.faults.add(method=["sendMessage", "getMe"], error=503, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.get_me()
    await bot.get_me()
    assert (fault.hits, fault.remaining, fault.active) == (2, 0, False)
    forever = sim.faults.add(error=500)
    with pytest.raises(NetworkError):
        await bot.get_me()
    sim.faults.remove(forever)
    await bot.get_me()
    assert len(sim.faults) == 1
    sim.faults.clear()
    assert list(sim.faults) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"error": 200},
        {"error": 500, "probability": 2.0},
        {"error": 500, "times": 0},
        {"error": 500, "method": "sendMesage"},
    ],
)
def test_invalid_faults(sim: TelegramSimulator, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        sim.faults.add(**kwargs)  # type: ignore[arg-type]
