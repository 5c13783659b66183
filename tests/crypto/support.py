"""Shared keys and helpers for the crypto tests (module-level, so hypothesis tests can use them)."""

from __future__ import annotations

import hashlib
from typing import Any

from crypto import (
    Direction,
    EncryptionKeyPair,
    Envelope,
    Opened,
    SigningKeyPair,
    open_envelope,
    seal,
)


def seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


RELAY = SigningKeyPair(seed("relay signing"))
HANDLER_SIGNER = SigningKeyPair(seed("handler signing"))
ALICE = EncryptionKeyPair(seed("alice"))
BOB = EncryptionKeyPair(seed("bob"))
CAROL = EncryptionKeyPair(seed("carol"))
CASE = "K7-QX4F"


def seal_in(
    plaintext: bytes = b"the documents are in the usual place", **overrides: object
) -> Envelope:
    args: dict[str, object] = {
        "case_id": CASE,
        "direction": Direction.IN,
        "recipients": [ALICE.public, BOB.public],
        "signer": RELAY,
    }
    args.update(overrides)
    return seal(plaintext, **args)  # type: ignore[arg-type]


def open_in(envelope: Envelope, **overrides: Any) -> Opened:
    args: dict[str, object] = {
        "recipient": ALICE,
        "trusted_signers": [RELAY.public],
        "expect_case_id": CASE,
        "expect_direction": Direction.IN,
    }
    args.update(overrides)
    return open_envelope(envelope, **args)  # type: ignore[arg-type]
