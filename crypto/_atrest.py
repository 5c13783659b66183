"""Sealing at rest under one of the relay's symmetric keys.

The relay keeps a few things it must read back itself: a source's chat id (to deliver
replies), raw updates in the inbox (until processed) and dialogue state. They are sealed
with ChaCha20-Poly1305 under the relay's at-rest key, bound to what they are about
(``context``: e.g. the case id), so a sealed chat reference moved to another case fails.

Layout: ``0x01 ‖ nonce (12) ‖ ciphertext+tag``; associated data is
``"writein at-rest v1" ‖ len(purpose) ‖ purpose ‖ context``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ._errors import InvalidEnvelope
from ._keys import as_bytes

__all__ = ["AT_REST_KEY_SIZE", "open_at_rest", "seal_at_rest"]

AT_REST_KEY_SIZE = 32
_VERSION = b"\x01"
_NONCE = 12
_LABEL = b"writein at-rest v1"


def _aad(purpose: str, context: bytes) -> bytes:
    p = purpose.encode("ascii")
    if not p or len(p) > 255:
        raise ValueError("purpose must be 1-255 ASCII characters")
    return _LABEL + bytes([len(p)]) + p + context


def _key(key: object) -> ChaCha20Poly1305:
    raw = as_bytes(key, "key")
    if len(raw) != AT_REST_KEY_SIZE:
        raise ValueError("an at-rest key is 32 bytes")
    return ChaCha20Poly1305(raw)


def seal_at_rest(
    key: bytes, plaintext: bytes, *, purpose: str, context: bytes = b"", nonce: bytes | None = None
) -> bytes:
    """Seal ``plaintext`` for ``purpose`` bound to ``context``; the nonce is random by default."""
    data = as_bytes(plaintext, "plaintext")
    n = os.urandom(_NONCE) if nonce is None else as_bytes(nonce, "nonce")
    if len(n) != _NONCE:
        raise ValueError("the nonce is 12 bytes")
    return _VERSION + n + _key(key).encrypt(n, data, _aad(purpose, as_bytes(context, "context")))


def open_at_rest(key: bytes, sealed: bytes, *, purpose: str, context: bytes = b"") -> bytes:
    """Open what :func:`seal_at_rest` sealed; any mismatch is the opaque InvalidEnvelope."""
    blob = as_bytes(sealed, "sealed")
    aead = _key(key)
    aad = _aad(purpose, as_bytes(context, "context"))
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise InvalidEnvelope
    try:
        return aead.decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
    except InvalidTag:
        raise InvalidEnvelope from None
