"""A case officer's own keys, and the key file they live in.

The key file (kind ``handler``, passphrase-sealed by crypto.seal_secret, written and
read only through store/keyfiles.py) holds::

    "WRHK" ‖ version u8 = 1 ‖ name length u8 ‖ name (UTF-8)
    ‖ X-Wing seed (32) ‖ Ed25519 seed (32)

The private key never enters the store: the admin certifies the public bundle
(core.bundle.handler_bundle) and the store keeps only that certificate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from core.bundle import handler_bundle
from crypto import (
    DEFAULT_ARGON2,
    Argon2Params,
    EncryptionKeyPair,
    InvalidKeyFile,
    SigningKeyPair,
)
from store.keyfiles import read_secret_file, write_secret_file

__all__ = [
    "HANDLER_KEY_KIND",
    "MAX_NAME_CHARS",
    "HandlerIdentity",
    "check_handler_name",
    "read_identity",
    "write_identity",
]

HANDLER_KEY_KIND: Final = "handler"
# The store's audit actor ("handler NAME") is at most 64 characters.
MAX_NAME_CHARS: Final = 56
_MAGIC: Final = b"WRHK"
_VERSION: Final = 1
_SEED: Final = 32


def check_handler_name(name: str) -> str:
    """A handler name: 1–56 printable characters without outer spaces."""
    if (
        not 1 <= len(name) <= MAX_NAME_CHARS
        or name != name.strip()
        or not name.isprintable()
        or len(name.encode("utf-8")) > 64
    ):
        raise ValueError(
            f"a case officer's name is 1–{MAX_NAME_CHARS} printable characters without outer spaces"
        )
    return name


@dataclass(frozen=True, repr=False)
class HandlerIdentity:
    """The unlocked keys of one case officer. ``repr`` never shows a secret."""

    name: str
    encryption: EncryptionKeyPair
    signing: SigningKeyPair

    def __repr__(self) -> str:
        return f"HandlerIdentity(name={self.name!r})"

    @classmethod
    def generate(cls, name: str) -> HandlerIdentity:
        return cls(
            check_handler_name(name), EncryptionKeyPair.generate(), SigningKeyPair.generate()
        )

    @property
    def key_id(self) -> bytes:
        """The id of the encryption key: the one this handler's wraps are stored under."""
        return self.encryption.public.key_id

    def bundle(self) -> bytes:
        """The public bundle the admin certifies (core.bundle.parse_handler_bundle reads it)."""
        return handler_bundle(self.name, self.encryption.public, self.signing.public)

    def to_bytes(self) -> bytes:
        name = self.name.encode("utf-8")
        return b"".join(
            (_MAGIC, bytes([_VERSION, len(name)]), name, self.encryption.seed, self.signing.seed)
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> HandlerIdentity:
        if raw[:4] != _MAGIC or len(raw) < 6 or raw[4] != _VERSION:
            raise ValueError("not a writein handler key")
        size = raw[5]
        rest = raw[6 + size :]
        if len(rest) != 2 * _SEED:
            raise ValueError("not a writein handler key")
        name = check_handler_name(raw[6 : 6 + size].decode("utf-8"))
        return cls(
            name,
            EncryptionKeyPair.from_seed(rest[:_SEED]),
            SigningKeyPair.from_seed(rest[_SEED:]),
        )


def write_identity(
    path: str | os.PathLike[str],
    identity: HandlerIdentity,
    passphrase: bytes,
    *,
    argon2: Argon2Params = DEFAULT_ARGON2,
) -> None:
    """Seal the identity under the passphrase into a new key file (never overwrites)."""
    write_secret_file(path, identity.to_bytes(), passphrase, kind=HANDLER_KEY_KIND, params=argon2)


def read_identity(path: str | os.PathLike[str], passphrase: bytes) -> HandlerIdentity:
    """Unlock a key file. Raises store.keyfiles.KeyFileError, crypto.WrongPassphrase or
    crypto.InvalidKeyFile (also for a file that opens but holds no handler key)."""
    raw = read_secret_file(Path(path), passphrase, kind=HANDLER_KEY_KIND)
    try:
        return HandlerIdentity.from_bytes(raw)
    except ValueError:
        raise InvalidKeyFile("not a writein handler key") from None
