"""A case officer's public bundle: what `writein handler keygen` prints and the admin certifies.

    "WRHB" ‖ name length u8 ‖ name (UTF-8) ‖ X-Wing public key (1216) ‖ Ed25519 public key (32)

The officer makes it on their own machine (handlers.keygen); the admin reads it
(admin.cli ``add-handler``). Both sides show the same fingerprint, read aloud to compare.
"""

from __future__ import annotations

import hashlib
from typing import Final

from crypto import EncryptionPublicKey, SigningPublicKey

__all__ = ["HANDLER_BUNDLE_MAGIC", "bundle_fingerprint", "handler_bundle", "parse_handler_bundle"]

HANDLER_BUNDLE_MAGIC: Final = b"WRHB"
_XWING_PUBLIC_SIZE: Final = 1216
_ED25519_PUBLIC_SIZE: Final = 32


def handler_bundle(name: str, encryption: EncryptionPublicKey, signing: SigningPublicKey) -> bytes:
    """A handler's public bundle, as `writein handler keygen` prints it for the admin."""
    n = name.encode("utf-8")
    return HANDLER_BUNDLE_MAGIC + bytes([len(n)]) + n + encryption.raw + signing.raw


def parse_handler_bundle(raw: bytes) -> tuple[str, EncryptionPublicKey, SigningPublicKey]:
    if raw[:4] != HANDLER_BUNDLE_MAGIC or len(raw) < 5:
        raise ValueError("not a writein handler public bundle")
    size = raw[4]
    name = raw[5 : 5 + size].decode("utf-8")
    rest = raw[5 + size :]
    if len(rest) != _XWING_PUBLIC_SIZE + _ED25519_PUBLIC_SIZE:
        raise ValueError("not a writein handler public bundle")
    enc, sig = rest[:_XWING_PUBLIC_SIZE], rest[_XWING_PUBLIC_SIZE:]
    return name, EncryptionPublicKey.from_raw(enc), SigningPublicKey.from_raw(sig)


def bundle_fingerprint(bundle: bytes) -> str:
    """What the officer reads aloud to the admin: SHA-256 of the bundle, 8 groups of 4 hex.

    It covers the name and both public keys, so a swapped encryption key shows.
    """
    digits = hashlib.sha256(bundle).hexdigest()[:32].upper()
    return " ".join(digits[i : i + 4] for i in range(0, 32, 4))
