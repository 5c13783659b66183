"""Helpers for the admin tests: onboarded sources, what they sent, the CLI's configuration."""

from __future__ import annotations

from pathlib import Path

from core.payload import SourceMessage
from store import Case
from telesim import SimUser, TelegramSimulator
from tests.support import relay_env
from tests.support.relay_env import RelayEnv
from tests.support.world import ADMIN_PASS, RELAY_PASS

__all__ = ["ADMIN_PASS", "RELAY_PASS", "onboard", "texts_of"]


async def onboard(
    env: RelayEnv, sim: TelegramSimulator, name: str = "Source"
) -> tuple[SimUser, Case]:
    """A source through the whole onboarding (tests/support/relay_env.py), as (user, case)."""
    source = await relay_env.onboard(env, sim, first_name=name)
    return source.user, source.case


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
