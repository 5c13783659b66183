"""Helpers for the admin tests: onboarding sources through telesim, reading what they sent."""

from __future__ import annotations

from pathlib import Path

from core.payload import SourceMessage
from store import Case
from telesim import SimUser, TelegramSimulator
from tests.bot.relay_env import ADMIN_PASS, RELAY_PASS, RelayEnv

__all__ = ["ADMIN_PASS", "RELAY_PASS", "onboard", "texts_of"]


async def onboard(
    env: RelayEnv, sim: TelegramSimulator, name: str = "Source"
) -> tuple[SimUser, Case]:
    """A source through language, consent, both intake questions and the phrase."""
    user = sim.add_user(first_name=name)
    await user.send_text("/start")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "lang:en")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "consent:yes")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "q:relation:witness")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "skip:topic")
    await env.pump()
    await user.press_button(user.last_bot_message().message_id, "saved")
    await env.pump()
    case = await env.store.get_case_by_lookup_hash(env.relay.ring.current.lookup_hash(user.id))
    assert case is not None
    return user, case


async def texts_of(env: RelayEnv, case_id: str, handler_index: int = 0) -> list[str]:
    """The texts a handler reads in a case, oldest first (intake answers left out)."""
    thread = await env.read_case(case_id, env.handlers[handler_index])
    return [m.text for m in thread if isinstance(m, SourceMessage) and m.kind == "text"]


def write_config(env: RelayEnv, sim: TelegramSimulator, token_file: Path | None = None) -> str:
    """The env's configuration as a TOML file next to its data directory (for the CLI)."""
    base = env.config.base_dir
    telegram = f'base_url = "{sim.base_url}"\nbase_file_url = "{sim.base_file_url}"'
    if token_file is not None:
        telegram += f'\ntoken_file = "{token_file}"'
    lines = [
        '[paths]\ndata_dir = "data"',
        f"[telegram]\n{telegram}",
        f'[trust]\norg_fingerprint = "{env.config.trust.org_fingerprint}"',
    ]
    path = base / "writein.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)
