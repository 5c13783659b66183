"""One walk of a source through onboarding, for every test that needs an onboarded source.

/start, the language, consent, the intake questions, the recovery phrase saved: then the
case is ready. The relay either runs step by step in the test (``pump``: after each action
the test makes it fetch, process and deliver, so the next message is there at once and must
be the bot's last one) or on its own, as a task or a process (each step waits for the bot's
message with the button it needs, up to a deadline: never for a fixed time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from telesim import ChatMessage, SimUser

from .chat import has_button, said

# One intake question: the button the bot offers with it, and the text the source types
# instead of pressing that button (None: the button is pressed).
Answer = tuple[str, str | None]
# The intake questions of tests/support/relay_env.py's configuration, answered the short way.
INTAKE: tuple[Answer, ...] = (("q:relation:employee", None), ("skip:topic", None))


@dataclass
class Onboarding:
    """How far one source got (for the report when onboarding stalls) and what it saw."""

    user: SimUser
    step: str = "not started"
    phrase_message: ChatMessage | None = None
    pressed: list[int] = field(default_factory=list)  # the messages answered, in order
    ready: bool = False
    # What the source had to do, /start included: each tap of a button or typed answer.
    actions: int = 0


async def walk(
    progress: Onboarding,
    *,
    language: str = "en",
    intake: Sequence[Answer] = INTAKE,
    pump: Callable[[], Awaitable[None]] | None = None,
    timeout: float = 20.0,
    deadline: float | None = None,
    check: Callable[[str, ChatMessage], None] | None = None,
) -> None:
    """Take ``progress.user`` from /start to the case.ready message.

    ``pump`` runs the relay after each action (in-process relays); without it each step
    waits for its message, ``timeout`` seconds or until ``deadline`` (a loop time), and a
    step that does not come in time raises TimeoutError. ``check(button, message)`` sees
    each message the source answers, before it is answered.
    """
    user = progress.user
    loop = asyncio.get_running_loop()

    def wait_time() -> float:
        return timeout if deadline is None else max(0.1, deadline - loop.time())

    async def next_message(
        after: int, what: str, where: Callable[[ChatMessage], bool]
    ) -> ChatMessage:
        if pump is None:
            return await user.wait_for_bot_message(after=after, where=where, timeout=wait_time())
        await pump()
        message = user.last_bot_message()
        assert message is not None, f"the bot sent nothing, {what} was due"
        assert where(message), f"the bot's last message is not {what}: {message.text!r}"
        return message

    sent = await user.send_text("/start")
    progress.actions += 1
    last = sent.message_id
    steps: list[Answer] = [
        (f"lang:{language}", None),
        ("consent:yes", None),
        *intake,
        ("saved", None),
    ]
    for data, typed in steps:
        progress.step = f"waiting for a message with button {data!r}"
        message = await next_message(
            last, f"a message with button {data!r}", lambda m, data=data: has_button(m, data)
        )
        if data == "saved":
            progress.phrase_message = message
        if check is not None:
            check(data, message)
        if typed is None:
            progress.step = f"pressing {data!r}"
            await user.press_button(message.message_id, data)
        else:
            progress.step = f"typing the answer instead of {data!r}"
            await user.send_text(typed)
        progress.actions += 1
        progress.pressed.append(message.message_id)
        last = message.message_id
    progress.step = "waiting for case.ready"
    ready = said(language, "case.ready")
    await next_message(last, "case.ready", lambda m: m.text == ready)
    progress.step = "done"
    progress.ready = True
