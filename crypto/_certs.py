"""Organisation trust: the org key certifies the relay's and each handler's keys.

Layout (big-endian; docs/protocol.md)::

    "WRIC" ‖ version u8 = 1 ‖ suite u16 = 0x0001 ‖ org key id (16)
    ‖ role u8 (1 bot, 2 handler) ‖ name length u8 ‖ name (UTF-8, 1–64 bytes)
    ‖ issued u64 (Unix seconds) ‖ key version u32
    ‖ X-Wing public key (1216) ‖ Ed25519 public key (32)
    ‖ Ed25519 signature by the org key over everything before it (64)

Consoles and the relay pin the org key by its :func:`fingerprint` and trust
no key that does not come with a certificate verified against it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from ._encoding import DecodeError, Reader, u8, u16, u32, u64
from ._errors import InvalidEnvelope
from ._keys import EncryptionPublicKey, SigningKeyPair, SigningPublicKey, as_bytes
from ._suite import (
    ENCRYPTION_PUBLIC_SIZE,
    KEY_ID_SIZE,
    MAGIC_CERT,
    SIGNATURE_SIZE,
    SIGNING_PUBLIC_SIZE,
    SUITE_XWING_ED25519,
    VERSION,
)

__all__ = [
    "Certificate",
    "Role",
    "certify",
    "fingerprint",
    "fingerprint_matches",
    "verify_certificate",
]

MAX_NAME_SIZE = 64
_U32_MAX = 0xFFFF_FFFF
_U64_MAX = (1 << 64) - 1


class Role(enum.StrEnum):
    BOT = "bot"
    HANDLER = "handler"


_ROLE_CODES = {Role.BOT: 1, Role.HANDLER: 2}
_ROLES_BY_CODE = {code: role for role, code in _ROLE_CODES.items()}


@dataclass(frozen=True, slots=True)
class Certificate:
    """What the organisation vouches for: these keys belong to this bot or handler."""

    role: Role
    name: str
    encryption_key: EncryptionPublicKey
    signing_key: SigningPublicKey
    issued: int
    key_version: int


def _name_ok(name: str) -> bool:
    return name.isprintable() and 1 <= len(name.encode("utf-8")) <= MAX_NAME_SIZE


def _uint(value: object, name: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int")
    if not 0 <= value <= maximum:
        raise ValueError(f"{name} out of range")
    return value


def certify(
    org: SigningKeyPair,
    *,
    role: Role | Literal["bot", "handler"],
    name: str,
    encryption_key: EncryptionPublicKey,
    signing_key: SigningPublicKey,
    issued: int,
    key_version: int = 1,
) -> bytes:
    """Sign a certificate binding ``name`` and ``role`` to two public keys."""
    if not isinstance(org, SigningKeyPair):
        raise TypeError("org must be a SigningKeyPair")
    if not isinstance(encryption_key, EncryptionPublicKey):
        raise TypeError("encryption_key must be an EncryptionPublicKey")
    if not isinstance(signing_key, SigningPublicKey):
        raise TypeError("signing_key must be a SigningPublicKey")
    if not isinstance(name, str):
        raise TypeError(f"name must be str, not {type(name).__name__}")
    if not _name_ok(name):
        raise ValueError(f"name must be 1..{MAX_NAME_SIZE} bytes of printable UTF-8")
    role = Role(role)
    name_bytes = name.encode("utf-8")
    body = b"".join(
        (
            MAGIC_CERT,
            u8(VERSION),
            u16(SUITE_XWING_ED25519),
            org.public.key_id,
            u8(_ROLE_CODES[role]),
            u8(len(name_bytes)),
            name_bytes,
            u64(_uint(issued, "issued", _U64_MAX)),
            u32(_uint(key_version, "key_version", _U32_MAX)),
            encryption_key.raw,
            signing_key.raw,
        )
    )
    return body + org._sign_raw(body)


def verify_certificate(cert: bytes, org_public: SigningPublicKey) -> Certificate:
    """Parse and verify a certificate; anything wrong raises :class:`InvalidEnvelope`."""
    if not isinstance(org_public, SigningPublicKey):
        raise TypeError("org_public must be a SigningPublicKey")
    cert = as_bytes(cert, "cert")
    reader = Reader(cert)
    try:
        reader.expect(MAGIC_CERT)
        reader.expect(u8(VERSION) + u16(SUITE_XWING_ED25519))
        reader.expect(org_public.key_id)
        role = _ROLES_BY_CODE.get(reader.u8())
        name_bytes = reader.take(reader.u8())
        issued = reader.u64()
        key_version = reader.u32()
        encryption_raw = reader.take(ENCRYPTION_PUBLIC_SIZE)
        signing_raw = reader.take(SIGNING_PUBLIC_SIZE)
        signed_end = reader.pos
        signature = reader.take(SIGNATURE_SIZE)
        reader.end()
    except DecodeError:
        raise InvalidEnvelope from None
    if not org_public._verify_raw(signature, cert[:signed_end]) or role is None:
        raise InvalidEnvelope
    try:
        name = name_bytes.decode("utf-8")
        encryption_key = EncryptionPublicKey(encryption_raw)
        signing_key = SigningPublicKey(signing_raw)
    except ValueError:  # UnicodeDecodeError is a ValueError
        raise InvalidEnvelope from None
    if not _name_ok(name):
        raise InvalidEnvelope
    return Certificate(
        role=role,
        name=name,
        encryption_key=encryption_key,
        signing_key=signing_key,
        issued=issued,
        key_version=key_version,
    )


def fingerprint(public: SigningPublicKey) -> str:
    """The key id as 8 groups of 4 upper-case hex digits, e.g. ``"3F2A 9C01 …"``.

    128 bits: enough to pin an org key in a config file or read it aloud.
    """
    if not isinstance(public, SigningPublicKey):
        raise TypeError("fingerprint() takes a SigningPublicKey")
    digits = public.key_id.hex().upper()
    return " ".join(digits[i : i + 4] for i in range(0, 2 * KEY_ID_SIZE, 4))


def fingerprint_matches(public: SigningPublicKey, pinned: str) -> bool:
    """Compare a key with a fingerprint as a person typed it (spaces, ':', '-', case ignored)."""
    typed = "".join(char for char in pinned.upper() if char not in " \t:-")
    return typed == fingerprint(public).replace(" ", "")
