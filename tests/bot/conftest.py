"""The relay's tests: a simulator, a relay on it, an onboarded source (tests/support/fixtures.py).

Options for one test's relay: ``@pytest.mark.relay_config(allow_voice=True, ...)`` takes
[relay] configuration keys and ``make_env``'s own options (``backoff=``, ``pace=``).
"""

from __future__ import annotations

import pytest

from tests.support.fixtures import env, register_relay_config, sim, source

__all__ = ["env", "sim", "source"]


def pytest_configure(config: pytest.Config) -> None:
    register_relay_config(config)


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # python-telegram-bot 22 warns when it builds RetryAfter unless told to use timedelta;
    # the suite runs with warnings as errors.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
