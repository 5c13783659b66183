"""The relay's own keys, and the one file they live in.

Each version of the relay's key set has four keys:

- ``signing`` (Ed25519): the relay signs every envelope it seals at intake;
- ``delivery`` (X-Wing): handlers seal replies to it, the relay opens them to deliver;
- ``pepper`` (32 bytes): keys the HMAC that turns a Telegram user id into a lookup hash;
- ``at_rest`` (32 bytes): seals chat references, the inbox and dialogue state.

The key ring file (``keys/relay.key``, passphrase-sealed) holds the current version first
and any older versions still needed during a rotation. Layout of the sealed payload:
``"WRKR" ‖ u8 count ‖ count × (u32 version ‖ signing seed ‖ delivery seed ‖ pepper ‖
at_rest)``, each secret 32 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from crypto import EncryptionKeyPair, SigningKeyPair
from store.keyfiles import read_secret_file, write_secret_file

__all__ = ["RELAY_KEY_KIND", "KeyRingFile", "RelayKeyRing", "RelayKeys"]

RELAY_KEY_KIND = "relay"
_MAGIC = b"WRKR"
_SECRET = 32
_ENTRY = 4 + 4 * _SECRET
_LOOKUP_LABEL = b"writein lookup v1\x00"


@dataclass(frozen=True, repr=False)
class RelayKeys:
    version: int
    signing: SigningKeyPair
    delivery: EncryptionKeyPair
    pepper: bytes
    at_rest: bytes

    def __repr__(self) -> str:
        return f"RelayKeys(version={self.version})"

    @classmethod
    def generate(cls, version: int) -> RelayKeys:
        return cls(
            version=version,
            signing=SigningKeyPair.generate(),
            delivery=EncryptionKeyPair.generate(),
            pepper=os.urandom(_SECRET),
            at_rest=os.urandom(_SECRET),
        )

    def lookup_hash(self, user_id: int) -> bytes:
        """HMAC-SHA256(pepper, user id): how a source is found without storing who they are."""
        return hmac.new(
            self.pepper, _LOOKUP_LABEL + str(int(user_id)).encode("ascii"), hashlib.sha256
        ).digest()

    def _to_bytes(self) -> bytes:
        return b"".join(
            (
                self.version.to_bytes(4, "big"),
                self.signing.seed,
                self.delivery.seed,
                self.pepper,
                self.at_rest,
            )
        )

    @classmethod
    def _from_bytes(cls, raw: bytes) -> RelayKeys:
        parts = [raw[4 + i * _SECRET : 4 + (i + 1) * _SECRET] for i in range(4)]
        return cls(
            version=int.from_bytes(raw[:4], "big"),
            signing=SigningKeyPair.from_seed(parts[0]),
            delivery=EncryptionKeyPair.from_seed(parts[1]),
            pepper=parts[2],
            at_rest=parts[3],
        )


@dataclass(frozen=True)
class RelayKeyRing:
    """The current key set first, then older ones still in use during a rotation."""

    keys: tuple[RelayKeys, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring holds at least one key set")
        versions = [k.version for k in self.keys]
        if len(set(versions)) != len(versions):
            raise ValueError("key set versions must be unique")

    @property
    def current(self) -> RelayKeys:
        return self.keys[0]

    def version(self, version: int) -> RelayKeys | None:
        return next((k for k in self.keys if k.version == version), None)

    def to_bytes(self) -> bytes:
        return _MAGIC + bytes([len(self.keys)]) + b"".join(k._to_bytes() for k in self.keys)

    @classmethod
    def from_bytes(cls, raw: bytes) -> RelayKeyRing:
        if raw[:4] != _MAGIC or len(raw) < 5 or len(raw) != 5 + raw[4] * _ENTRY:
            raise ValueError("not a writein relay key ring")
        count = raw[4]
        return cls(
            tuple(
                RelayKeys._from_bytes(raw[5 + i * _ENTRY : 5 + (i + 1) * _ENTRY])
                for i in range(count)
            )
        )

    def save(self, path: Path, passphrase: bytes, *, overwrite: bool = False) -> None:
        write_secret_file(
            path, self.to_bytes(), passphrase, kind=RELAY_KEY_KIND, overwrite=overwrite
        )

    @classmethod
    def load(cls, path: Path, passphrase: bytes) -> RelayKeyRing:
        return cls.from_bytes(read_secret_file(path, passphrase, kind=RELAY_KEY_KIND))


class KeyRingFile:
    """The key ring file a running relay watches: an admin's rotation replaces it atomically."""

    def __init__(self, path: Path, passphrase: bytes) -> None:
        self.path = path
        self._passphrase = passphrase
        self._seen: tuple[int, int, int] | None = None

    def _stamp(self) -> tuple[int, int, int]:
        st = self.path.stat()
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def load(self) -> RelayKeyRing:
        stamp = self._stamp()
        ring = RelayKeyRing.load(self.path, self._passphrase)
        self._seen = stamp
        return ring

    def changed(self) -> RelayKeyRing | None:
        """The new ring if the file was replaced since the last load, else None."""
        if self._stamp() == self._seen:
            return None
        return self.load()
