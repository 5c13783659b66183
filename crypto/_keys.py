"""Key pairs and public keys: X-Wing for encryption, Ed25519 for signatures.

Private keys are 32-byte seeds. An X-Wing seed expands with SHAKE256 to 96
bytes: 0–63 seed the ML-KEM-768 key, 64–95 are the X25519 private key; the
public key is the ML-KEM-768 public key (1184 bytes) followed by the X25519
public key (32 bytes), as in the HPKE-PQ draft's KEM 0x647A.

A key id is ``SHA-256(label ‖ public key)[:16]`` with a label per key type.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519

from ._errors import InvalidEnvelope
from ._suite import (
    ENCRYPTION_PUBLIC_SIZE,
    KEY_ID_SIZE,
    LABEL_KEY_ID_ENCRYPTION,
    LABEL_KEY_ID_SIGNING,
    MAGIC_SIGNED,
    MLKEM768_PUBLIC_SIZE,
    SEED_SIZE,
    SIGNATURE_SIZE,
    SIGNING_PUBLIC_SIZE,
)

__all__ = [
    "EncryptionKeyPair",
    "EncryptionPublicKey",
    "SigningKeyPair",
    "SigningPublicKey",
    "as_bytes",
]


def as_bytes(value: object, name: str) -> bytes:
    """Accept any bytes-like value as immutable bytes; anything else is caller misuse."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{name} must be bytes, not {type(value).__name__}")


def _key_id(label: bytes, raw: bytes) -> bytes:
    return hashlib.sha256(label + raw).digest()[:KEY_ID_SIZE]


def _seed(value: object) -> bytes:
    seed = as_bytes(value, "seed")
    if len(seed) != SEED_SIZE:
        raise ValueError(f"a seed is {SEED_SIZE} bytes, got {len(seed)}")
    return seed


@dataclass(frozen=True, slots=True, repr=False)
class EncryptionPublicKey:
    """An X-Wing (MLKEM768-X25519) public key: 1216 raw bytes."""

    raw: bytes
    key_id: bytes = field(init=False, compare=False)
    _hpke: hpke.MLKEM768X25519PublicKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        raw = as_bytes(self.raw, "raw")
        if len(raw) != ENCRYPTION_PUBLIC_SIZE:
            raise ValueError(f"an X-Wing public key is {ENCRYPTION_PUBLIC_SIZE} bytes")
        try:
            mlkem_key = mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM768_PUBLIC_SIZE])
            x25519_key = x25519.X25519PublicKey.from_public_bytes(raw[MLKEM768_PUBLIC_SIZE:])
        except ValueError:
            raise ValueError("not a valid X-Wing public key") from None
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "key_id", _key_id(LABEL_KEY_ID_ENCRYPTION, raw))
        object.__setattr__(self, "_hpke", hpke.MLKEM768X25519PublicKey(mlkem_key, x25519_key))

    @classmethod
    def from_raw(cls, raw: bytes) -> Self:
        return cls(raw)

    def __repr__(self) -> str:
        return f"EncryptionPublicKey(key_id={self.key_id.hex()})"


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class EncryptionKeyPair:
    """An X-Wing key pair held as its 32-byte seed. ``repr`` shows the key id only."""

    seed: bytes
    public: EncryptionPublicKey = field(init=False)
    _hpke: hpke.MLKEM768X25519PrivateKey = field(init=False)

    def __post_init__(self) -> None:
        seed = _seed(self.seed)
        expanded = hashlib.shake_256(seed).digest(96)
        mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
        x25519_key = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
        raw = mlkem_key.public_key().public_bytes_raw() + x25519_key.public_key().public_bytes_raw()
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "public", EncryptionPublicKey(raw))
        object.__setattr__(self, "_hpke", hpke.MLKEM768X25519PrivateKey(mlkem_key, x25519_key))

    @classmethod
    def generate(cls) -> Self:
        return cls(secrets.token_bytes(SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> Self:
        return cls(seed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EncryptionKeyPair):
            return NotImplemented
        return hmac.compare_digest(self.seed, other.seed)

    def __hash__(self) -> int:
        return hash(self.public)

    def __repr__(self) -> str:
        return f"EncryptionKeyPair(key_id={self.public.key_id.hex()})"


@dataclass(frozen=True, slots=True, repr=False)
class SigningPublicKey:
    """An Ed25519 public key: 32 raw bytes."""

    raw: bytes
    key_id: bytes = field(init=False, compare=False)
    _key: ed25519.Ed25519PublicKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        raw = as_bytes(self.raw, "raw")
        if len(raw) != SIGNING_PUBLIC_SIZE:
            raise ValueError(f"an Ed25519 public key is {SIGNING_PUBLIC_SIZE} bytes")
        object.__setattr__(self, "raw", raw)
        object.__setattr__(self, "key_id", _key_id(LABEL_KEY_ID_SIGNING, raw))
        object.__setattr__(self, "_key", ed25519.Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def from_raw(cls, raw: bytes) -> Self:
        return cls(raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check a signature made by :meth:`SigningKeyPair.sign`; raise InvalidEnvelope if bad."""
        message = as_bytes(message, "message")
        if not self._verify_raw(as_bytes(signature, "signature"), MAGIC_SIGNED + message):
            raise InvalidEnvelope

    def _verify_raw(self, signature: bytes, data: bytes | memoryview) -> bool:
        """Verify over ``data`` exactly; ``data`` must start with its own 4-byte magic."""
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def __repr__(self) -> str:
        return f"SigningPublicKey(key_id={self.key_id.hex()})"


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class SigningKeyPair:
    """An Ed25519 key pair held as its 32-byte seed. ``repr`` shows the key id only."""

    seed: bytes
    public: SigningPublicKey = field(init=False)
    _key: ed25519.Ed25519PrivateKey = field(init=False)

    def __post_init__(self) -> None:
        seed = _seed(self.seed)
        key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "public", SigningPublicKey(key.public_key().public_bytes_raw()))
        object.__setattr__(self, "_key", key)

    @classmethod
    def generate(cls) -> Self:
        return cls(secrets.token_bytes(SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> Self:
        return cls(seed)

    def sign(self, message: bytes) -> bytes:
        """Sign an application message (signed as ``"WRIS" ‖ message``, see docs/protocol.md).

        The prefix keeps these signatures apart from envelope and certificate
        signatures: no message passed here can ever verify as an envelope.
        """
        return self._sign_raw(MAGIC_SIGNED + as_bytes(message, "message"))

    def _sign_raw(self, data: bytes) -> bytes:
        """Sign ``data`` exactly; callers pass bytes starting with their own 4-byte magic."""
        return self._key.sign(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SigningKeyPair):
            return NotImplemented
        return hmac.compare_digest(self.seed, other.seed)

    def __hash__(self) -> int:
        return hash(self.public)

    def __repr__(self) -> str:
        return f"SigningKeyPair(key_id={self.public.key_id.hex()})"
