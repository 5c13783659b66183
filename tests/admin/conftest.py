"""A relay with two handlers (tests/support/fixtures.py), sources onboarded through telesim."""

from __future__ import annotations

import pytest

from tests.support.fixtures import env, register_relay_config, sim

__all__ = ["env", "sim"]


def pytest_configure(config: pytest.Config) -> None:
    register_relay_config(config)
