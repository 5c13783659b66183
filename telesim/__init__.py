"""telesim: a local Telegram Bot API simulator that real bots talk to over HTTP.

Point python-telegram-bot (or any Bot API client) at it with
``ApplicationBuilder().base_url(sim.base_url).base_file_url(sim.base_file_url)``;
simulated users send messages, files and button presses, and see what the bot
does. Parameters and answers are checked against the official spec (the bundled
``api.json``, Bot API 10.1). Nothing leaves the machine.

::

    async with TelegramSimulator(token="123:ABC") as sim:
        user = sim.add_user(first_name="Olena", username="olena", language_code="uk")
        await user.send_text("/start")
        reply = await user.wait_for_bot_message()
        sim.faults.add(method="sendMessage", error=429, retry_after=1, times=1)
        sim.clock.advance(hours=49)

Run it standalone with ``python -m telesim --port 8081 --token 123:ABC``; other
processes drive it through the JSON control API under ``/_sim/``.
"""

from telesim._clock import Clock
from telesim._errors import SimulatorProblem, TelesimError, UserActionError
from telesim._faults import Fault, FaultRule, Faults
from telesim._simulator import DEFAULT_TOKEN, TelegramSimulator
from telesim._spec import Spec, load_spec
from telesim._users import AlbumItem, SimUser
from telesim._views import ApiCall, CallbackAnswer, ChatMessage, InlineButton

__all__ = [
    "DEFAULT_TOKEN",
    "AlbumItem",
    "ApiCall",
    "CallbackAnswer",
    "ChatMessage",
    "Clock",
    "Fault",
    "FaultRule",
    "Faults",
    "InlineButton",
    "SimUser",
    "SimulatorProblem",
    "Spec",
    "TelegramSimulator",
    "TelesimError",
    "UserActionError",
    "load_spec",
]
