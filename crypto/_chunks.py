"""Attachments: one random key per file, the padded file sealed in fixed-size chunks.

The attachment's key, size and SHA-256 travel inside the message's signed envelope body,
so the envelope's wraps, signature and re-wrapping cover the attachment too; the chunks
themselves need no wraps. Each chunk is ChaCha20-Poly1305 under that key with a nonce from
its index and associated data binding the attachment id, the index and whether it is the
last chunk, so chunks cannot be reordered, dropped, truncated or moved between files.

Chunk layout: ``ciphertext ‖ tag`` of ``CHUNK_SIZE`` plaintext bytes (the last one shorter);
nonce = ``u32(0) ‖ u64(index)``; aad = ``"writein chunk v1" ‖ attachment id (16) ‖
u64(index) ‖ u8(last)``. The plaintext is the file padded as envelope bodies are.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from ._encoding import DecodeError
from ._errors import InvalidEnvelope
from ._keys import as_bytes
from ._padding import pad, unpad

__all__ = ["ATTACHMENT_KEY_SIZE", "CHUNK_SIZE", "SealedAttachment", "open_chunks", "seal_chunks"]

ATTACHMENT_KEY_SIZE = 32
ATTACHMENT_ID_SIZE = 16
CHUNK_SIZE = 256 * 1024
_TAG = 16
_LABEL = b"writein chunk v1"


class SealedAttachment:
    """What sealing a file gives: the key and digest for the body, the chunks for the store."""

    __slots__ = ("attachment_id", "chunks", "key", "sha256", "size")

    def __init__(
        self, attachment_id: bytes, key: bytes, sha256: bytes, size: int, chunks: list[bytes]
    ) -> None:
        self.attachment_id = attachment_id
        self.key = key
        self.sha256 = sha256
        self.size = size
        self.chunks = chunks

    def __repr__(self) -> str:
        return f"SealedAttachment(id={self.attachment_id.hex()}, chunks={len(self.chunks)})"


def _nonce(index: int) -> bytes:
    return bytes(4) + index.to_bytes(8, "big")


def _aad(attachment_id: bytes, index: int, last: bool) -> bytes:
    return _LABEL + attachment_id + index.to_bytes(8, "big") + (b"\x01" if last else b"\x00")


def seal_chunks(
    data: bytes, *, attachment_id: bytes | None = None, key: bytes | None = None
) -> SealedAttachment:
    """Seal a file under a fresh key (or a given one, for known-answer tests)."""
    plaintext = as_bytes(data, "data")
    aid = os.urandom(ATTACHMENT_ID_SIZE) if attachment_id is None else as_bytes(attachment_id, "id")
    k = os.urandom(ATTACHMENT_KEY_SIZE) if key is None else as_bytes(key, "key")
    if len(aid) != ATTACHMENT_ID_SIZE or len(k) != ATTACHMENT_KEY_SIZE:
        raise ValueError("an attachment id is 16 bytes and its key 32 bytes")
    aead = ChaCha20Poly1305(k)
    padded = pad(plaintext)
    count = -(-len(padded) // CHUNK_SIZE)
    chunks = [
        aead.encrypt(
            _nonce(i),
            padded[i * CHUNK_SIZE : (i + 1) * CHUNK_SIZE],
            _aad(aid, i, i == count - 1),
        )
        for i in range(count)
    ]
    return SealedAttachment(aid, k, hashlib.sha256(plaintext).digest(), len(plaintext), chunks)


def open_chunks(
    chunks: Iterable[bytes], *, attachment_id: bytes, key: bytes, sha256: bytes
) -> bytes:
    """Open every chunk in order; anything missing, extra, moved or altered is InvalidEnvelope."""
    aid = as_bytes(attachment_id, "attachment_id")
    aead = ChaCha20Poly1305(as_bytes(key, "key"))
    items = list(chunks)
    if not items:
        raise InvalidEnvelope
    parts: list[bytes] = []
    try:
        for i, chunk in enumerate(items):
            if len(chunk) < _TAG:
                raise InvalidEnvelope
            parts.append(aead.decrypt(_nonce(i), chunk, _aad(aid, i, i == len(items) - 1)))
        plaintext = unpad(b"".join(parts))
    except (InvalidTag, DecodeError):
        raise InvalidEnvelope from None
    if hashlib.sha256(plaintext).digest() != sha256:
        raise InvalidEnvelope
    return plaintext
