"""The relay's own keys, and the one file they live in.

Each version of the relay's key set has four keys:

- ``signing`` (Ed25519): the relay signs every envelope it seals at intake;
- ``delivery`` (X-Wing): handlers seal replies to it, the relay opens them to deliver;
- ``pepper`` (32 bytes): keys the HMAC that turns a Telegram user id into a lookup hash;
- ``at_rest`` (32 bytes): seals chat references, the inbox and dialogue state.

Lookup hashes chain through the peppers, so a rotation can move every stored hash to
the new pepper without knowing any user id (docs/decisions/0061-lookup-pepper-chain.md)::

    h1 = HMAC(pepper1, "writein lookup v1\\0" ‖ user id)              (32 bytes, untagged)
    hv = u32 v ‖ HMAC(pepper_v, "writein lookup chain\\0" ‖ u32 v ‖ mac(h(v-1)))

where ``mac(h)`` is the 32-byte HMAC part of ``h``. A key set therefore carries the
peppers of every earlier version; they are worthless without its own.

The key ring file (``keys/relay.key``, passphrase-sealed) holds the current version
first, then any other version still needed during a rotation, then the peppers of
versions no longer in it. Layout of the sealed payload (docs/protocol.md, "Keys and
rotation")::

    "WRK2" ‖ u8 count ‖ count × (u32 version ‖ signing seed ‖ delivery seed ‖ pepper
      ‖ at_rest) ‖ u16 retired ‖ retired × (u32 version ‖ pepper)

each secret 32 bytes. Files written before rotation existed start with ``"WRKR"`` and
have no retired part; they are still read.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from core.passphrase import RELAY, unlocking
from crypto import DEFAULT_ARGON2, Argon2Params, EncryptionKeyPair, SigningKeyPair
from store.keyfiles import read_secret_file, write_secret_file

__all__ = [
    "RELAY_KEY_KIND",
    "RETAIN_SECONDS",
    "KeyRingFile",
    "RelayKeyRing",
    "RelayKeys",
    "lookup_version",
]

RELAY_KEY_KIND: Final = "relay"
#: How long a running relay keeps a key set in memory after the file dropped it.
RETAIN_SECONDS: Final = 300.0
_MAGIC_V1: Final = b"WRKR"
_MAGIC: Final = b"WRK2"
_SECRET: Final = 32
_ENTRY: Final = 4 + 4 * _SECRET
_RETIRED: Final = 4 + _SECRET
_LOOKUP_LABEL: Final = b"writein lookup v1\x00"
_CHAIN_LABEL: Final = b"writein lookup chain\x00"
_MAC: Final = 32
_TAGGED: Final = 4 + _MAC


def lookup_version(lookup_hash: bytes) -> int:
    """The pepper version a stored lookup hash was made with (ValueError if none fits)."""
    if len(lookup_hash) == _MAC:
        return 1
    if len(lookup_hash) == _TAGGED:
        version = int.from_bytes(lookup_hash[:4], "big")
        if version >= 2:
            return version
    raise ValueError("not a writein lookup hash")


def _mac(lookup_hash: bytes) -> bytes:
    return lookup_hash[-_MAC:]


@dataclass(frozen=True, repr=False)
class RelayKeys:
    version: int
    signing: SigningKeyPair
    delivery: EncryptionKeyPair
    pepper: bytes
    at_rest: bytes
    #: The peppers of versions 1 … version-1, oldest first: the lookup hash chain.
    earlier_peppers: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.version <= 0xFFFF_FFFF:
            raise ValueError("relay key versions are 1 to 2**32 - 1")
        if len(self.earlier_peppers) != self.version - 1:
            raise ValueError(
                f"key set v{self.version} needs the peppers of versions 1 to {self.version - 1}"
            )
        if any(len(p) != _SECRET for p in (self.pepper, self.at_rest, *self.earlier_peppers)):
            raise ValueError("relay secrets are 32 bytes")

    def __repr__(self) -> str:
        return f"RelayKeys(version={self.version})"

    @classmethod
    def generate(cls, version: int, *, earlier_peppers: tuple[bytes, ...] = ()) -> RelayKeys:
        return cls(
            version=version,
            signing=SigningKeyPair.generate(),
            delivery=EncryptionKeyPair.generate(),
            pepper=os.urandom(_SECRET),
            at_rest=os.urandom(_SECRET),
            earlier_peppers=earlier_peppers,
        )

    def successor(self) -> RelayKeys:
        """A fresh key set for the next version (its lookup chain continues this one's)."""
        return RelayKeys.generate(
            self.version + 1, earlier_peppers=(*self.earlier_peppers, self.pepper)
        )

    @property
    def peppers(self) -> tuple[bytes, ...]:
        """Every pepper of the chain, version 1 first, this version's last."""
        return (*self.earlier_peppers, self.pepper)

    def lookup_hash(self, user_id: int) -> bytes:
        """How a source is found without storing who they are (see the module docstring)."""
        return self.lookup_hash_at(self.version, user_id)

    def lookup_hash_at(self, version: int, user_id: int) -> bytes:
        """The lookup hash a user id had under pepper ``version`` (1 … this version)."""
        if not 1 <= version <= self.version:
            raise ValueError(f"key set v{self.version} has no pepper v{version}")
        peppers = self.peppers
        digest = hmac.new(
            peppers[0], _LOOKUP_LABEL + str(int(user_id)).encode("ascii"), hashlib.sha256
        ).digest()
        for step in range(2, version + 1):
            digest = _chain(peppers[step - 1], step, digest)[4:]
        return digest if version == 1 else version.to_bytes(4, "big") + digest

    def rehash(self, lookup_hash: bytes) -> bytes:
        """Move a stored lookup hash of an earlier version to this version's pepper.

        Needs no user id: each step is an HMAC of the previous hash. ValueError for a
        hash that is not a writein lookup hash or is already from a later version.
        """
        version = lookup_version(lookup_hash)
        if version > self.version:
            raise ValueError(f"a lookup hash of v{version} cannot move back to v{self.version}")
        digest = _mac(lookup_hash)
        if version == self.version:
            return lookup_hash
        peppers = self.peppers
        for step in range(version + 1, self.version + 1):
            digest = _chain(peppers[step - 1], step, digest)[4:]
        return self.version.to_bytes(4, "big") + digest

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


def _chain(pepper: bytes, version: int, previous_mac: bytes) -> bytes:
    tag = version.to_bytes(4, "big")
    return tag + hmac.new(pepper, _CHAIN_LABEL + tag + previous_mac, hashlib.sha256).digest()


@dataclass(frozen=True)
class RelayKeyRing:
    """The current key set first, then others still in use during a rotation."""

    keys: tuple[RelayKeys, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring holds at least one key set")
        versions = [k.version for k in self.keys]
        if len(set(versions)) != len(versions):
            raise ValueError("key set versions must be unique")
        newest = max(self.keys, key=lambda k: k.version)
        for keys in self.keys:
            if newest.peppers[: keys.version] != keys.peppers:
                raise ValueError("the key sets of a ring must share one lookup chain")

    @property
    def current(self) -> RelayKeys:
        return self.keys[0]

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(k.version for k in self.keys)

    def version(self, version: int) -> RelayKeys | None:
        return next((k for k in self.keys if k.version == version), None)

    def lookup_hashes(self, user_id: int) -> list[bytes]:
        """Where to look a source up, in order: the current version's hash, then the
        previous version's (rows a rotation has not moved yet, dialogues begun before it)."""
        current = self.current
        versions = [current.version] + ([current.version - 1] if current.version > 1 else [])
        return [current.lookup_hash_at(v, user_id) for v in versions]

    def to_bytes(self) -> bytes:
        oldest = min(k.version for k in self.keys)
        newest = max(self.keys, key=lambda k: k.version)
        retired = [
            version.to_bytes(4, "big") + pepper
            for version, pepper in enumerate(newest.peppers[: oldest - 1], start=1)
        ]
        return b"".join(
            (
                _MAGIC,
                bytes([len(self.keys)]),
                *(k._to_bytes() for k in self.keys),
                len(retired).to_bytes(2, "big"),
                *retired,
            )
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> RelayKeyRing:
        magic = raw[:4]
        if magic not in (_MAGIC, _MAGIC_V1) or len(raw) < 5:
            raise ValueError("not a writein relay key ring")
        count = raw[4]
        end = 5 + count * _ENTRY
        entries = [raw[5 + i * _ENTRY : 5 + (i + 1) * _ENTRY] for i in range(count)]
        peppers: dict[int, bytes] = {}
        if magic == _MAGIC_V1:
            if len(raw) != end:
                raise ValueError("not a writein relay key ring")
        else:
            if len(raw) < end + 2:
                raise ValueError("not a writein relay key ring")
            retired = int.from_bytes(raw[end : end + 2], "big")
            if len(raw) != end + 2 + retired * _RETIRED:
                raise ValueError("not a writein relay key ring")
            for i in range(retired):
                item = raw[end + 2 + i * _RETIRED : end + 2 + (i + 1) * _RETIRED]
                peppers[int.from_bytes(item[:4], "big")] = item[4:]
        for entry in entries:
            peppers[int.from_bytes(entry[:4], "big")] = entry[4 + 2 * _SECRET : 4 + 3 * _SECRET]
        return cls(tuple(_entry(entry, peppers) for entry in entries))

    def save(
        self,
        path: Path,
        passphrase: bytes,
        *,
        overwrite: bool = False,
        argon2: Argon2Params = DEFAULT_ARGON2,
    ) -> None:
        write_secret_file(
            path,
            self.to_bytes(),
            passphrase,
            kind=RELAY_KEY_KIND,
            params=argon2,
            overwrite=overwrite,
        )

    @classmethod
    def load(cls, path: Path, passphrase: bytes) -> RelayKeyRing:
        with unlocking(RELAY, path):
            return cls.from_bytes(read_secret_file(path, passphrase, kind=RELAY_KEY_KIND))


def _entry(raw: bytes, peppers: dict[int, bytes]) -> RelayKeys:
    version = int.from_bytes(raw[:4], "big")
    parts = [raw[4 + i * _SECRET : 4 + (i + 1) * _SECRET] for i in range(4)]
    try:
        earlier = tuple(peppers[v] for v in range(1, version))
    except KeyError:
        raise ValueError(f"the key ring lacks an earlier pepper of key set v{version}") from None
    return RelayKeys(
        version=version,
        signing=SigningKeyPair.from_seed(parts[0]),
        delivery=EncryptionKeyPair.from_seed(parts[1]),
        pepper=parts[2],
        at_rest=parts[3],
        earlier_peppers=earlier,
    )


def file_stamp(path: Path) -> tuple[int, int, int]:
    """What changes when a file is replaced atomically or rewritten: inode, mtime, size."""
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class KeyRingFile:
    """The key ring file a running relay watches: an admin's rotation replaces it atomically.

    When a new file drops a key set (the last step of a rotation), the ring handed out
    keeps that set for :data:`RETAIN_SECONDS` more, in memory only and only ever *after*
    the file's own sets: a value the relay read just before the rotation re-sealed it (an
    inbox page, a claimed reply, a batch of deletions) still opens. Once that time is up,
    :meth:`changed` hands out the file's ring alone.
    """

    def __init__(
        self,
        path: Path,
        passphrase: bytes,
        *,
        retain_seconds: float = RETAIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._passphrase = passphrase
        self._seen: tuple[int, int, int] | None = None
        self._ring: RelayKeyRing | None = None
        self._retain_seconds = retain_seconds
        self._clock = clock
        self._retained: dict[int, tuple[RelayKeys, float]] = {}

    def _stamp(self) -> tuple[int, int, int]:
        return file_stamp(self.path)

    def load(self) -> RelayKeyRing:
        stamp = self._stamp()
        ring = RelayKeyRing.load(self.path, self._passphrase)
        now = self._clock()
        if self._ring is not None:
            for keys in self._ring.keys:
                if ring.version(keys.version) is None:
                    self._retained.setdefault(keys.version, (keys, now + self._retain_seconds))
        self._seen, self._ring = stamp, ring
        return self._handed_out(now)

    def changed(self) -> RelayKeyRing | None:
        """The ring to use if the file was replaced, or a retained key set ran out; else None."""
        if self._stamp() != self._seen:
            return self.load()
        now = self._clock()
        if any(until <= now for _, until in self._retained.values()):
            return self._handed_out(now)
        return None

    def _handed_out(self, now: float) -> RelayKeyRing:
        assert self._ring is not None
        ring = self._ring
        self._retained = {
            version: (keys, until)
            for version, (keys, until) in self._retained.items()
            if until > now and ring.version(version) is None
        }
        extra = [keys for _, (keys, _) in sorted(self._retained.items(), reverse=True)]
        return RelayKeyRing((*ring.keys, *extra)) if extra else ring
