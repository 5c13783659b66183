"""Recovery phrases at rest: Argon2id over the canonical phrase, as a standard PHC string.

    $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt, base64>$<32-byte hash, base64>

The relay stores this per case and finds a case again by recomputing it from what a
returning source types (salt fixed per deployment, so the hash is an index; the phrase's
90 bits leave nothing to precompute). Reading the words tolerantly (bot/phrase.py) happens
before; this module sees only the canonical ASCII words.
"""

from __future__ import annotations

import base64
from typing import Final

from ._keyfile import DEFAULT_ARGON2, Argon2Params, derive, require_strong

__all__ = ["phrase_hash"]

_MIN_SALT: Final = 16
_MAX_SALT: Final = 64


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def phrase_hash(canonical: str, *, salt: bytes, params: Argon2Params = DEFAULT_ARGON2) -> bytes:
    """The PHC string of Argon2id(``canonical``, ``salt``) with ``params``, as ASCII bytes.

    ``canonical`` must be ASCII (bot.phrase.normalise_phrase makes it so); parameters
    below RFC 9106's second profile are refused unless made for tests.
    """
    require_strong(params)
    if not _MIN_SALT <= len(salt) <= _MAX_SALT:
        raise ValueError(f"salt must be {_MIN_SALT}..{_MAX_SALT} bytes")
    try:
        secret = canonical.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("a canonical phrase is ASCII") from None
    if not secret:
        raise ValueError("the phrase must not be empty")
    digest = derive(secret, salt, params)
    m, t, p = params.memory_kib, params.iterations, params.lanes
    return f"$argon2id$v=19$m={m},t={t},p={p}${_b64(salt)}${_b64(digest)}".encode("ascii")
