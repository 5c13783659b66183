"""Shared fixtures for the relay's tests: a simulator, a relay on it, an onboarded source.

Options for one test's relay: ``@pytest.mark.relay_config(allow_voice=True, ...)`` takes
[relay] configuration keys and ``make_env``'s own options (``backoff=``, ``pace=``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from telesim import TelegramSimulator

from .relay_env import Onboarded, RelayEnv, onboard, running_env


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "relay_config(**options): [relay] keys and make_env options for `env`"
    )


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-telegram-bot 22 warns when it builds RetryAfter unless told to use timedelta;
    # the suite runs with warnings as errors.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def sim() -> AsyncIterator[TelegramSimulator]:
    async with TelegramSimulator() as sim:
        yield sim


@pytest.fixture
async def env(tmp_path, sim, request: pytest.FixtureRequest) -> AsyncIterator[RelayEnv]:
    marker = request.node.get_closest_marker("relay_config")
    options = dict(marker.kwargs) if marker else {}
    async with running_env(tmp_path, sim, **options) as env:
        yield env


@pytest.fixture
async def source(env: RelayEnv, sim: TelegramSimulator) -> Onboarded:
    """A source who finished onboarding in English and may now write."""
    return await onboard(env, sim)
