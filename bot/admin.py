"""Admin operations on the relay's trust: enrolling and revoking handlers.

The organisation key certifies each handler's public keys; the certificate is what the
store keeps, and what the relay and every console check before trusting a key.
"""

from __future__ import annotations

import time

from crypto import EncryptionPublicKey, Role, SigningKeyPair, SigningPublicKey, certify
from store import StoreOperations

HANDLER_BUNDLE_MAGIC = b"WRHB"
_XWING_PUBLIC_SIZE = 1216
_ED25519_PUBLIC_SIZE = 32


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


async def enrol_handler(
    store: StoreOperations,
    org: SigningKeyPair,
    name: str,
    encryption: EncryptionPublicKey,
    signing: SigningPublicKey,
    *,
    default_intake: bool = False,
    key_version: int = 1,
    now: int | None = None,
) -> bytes:
    """Certify a handler's keys and record them; returns the certificate."""
    cert = certify(
        org,
        role=Role.HANDLER,
        name=name,
        encryption_key=encryption,
        signing_key=signing,
        issued=int(time.time()) if now is None else now,
        key_version=key_version,
    )
    await store.add_handler(name, cert, default_intake=default_intake)
    await store.append_audit("admin", "add-handler", detail=name)
    return cert
