from __future__ import annotations

import pytest

from crypto import Envelope

from .support import seal_in


@pytest.fixture
def envelope() -> Envelope:
    """A fresh IN envelope from the relay to Alice and Bob."""
    return seal_in()
