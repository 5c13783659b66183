"""Forward-secret intake (ADR 0083): the inbox is sealed under short-lived epoch keys.

A raw update waits in the inbox, sealed, until the relay has processed it. Sealed under
the relay's long-lived at-rest key, it stayed readable to whoever later took the key ring
and its passphrase: in the inbox, and after processing in SQLite's write-ahead log and
free pages. Here each update is sealed under the key of the current *epoch*, a random
32-byte key that lives only in ``keys/inbox.keys``. Every ``inbox_key_seconds`` the relay
starts a new epoch and rewrites that file without the keys no unprocessed row needs, so a
processed update's key is gone at most two epochs later, wherever its bytes linger.

The file is small, owner-only and replaced atomically; it is itself sealed under the key
ring's at-rest key, so a copy of the data directory without the relay's passphrase opens
nothing, as before. Blobs: ``MAGIC ‖ u32 epoch ‖ seal_at_rest(...)``; a blob without the
magic was sealed under the key ring before this (``admin.refs.open_update``).
"""

from __future__ import annotations

import json
import secrets
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from admin.keyring import RelayKeyRing
from admin.refs import open_update
from crypto import InvalidEnvelope, open_at_rest, seal_at_rest
from store.keyfiles import write_key_file

__all__ = ["MAGIC", "InboxKeys", "epoch_of"]

MAGIC: Final = b"\xffWIK"
_EPOCH: Final = struct.Struct(">I")
_KEY_SIZE: Final = 32
_FILE_PURPOSE: Final = "inbox-keys"
_VERSION: Final = struct.Struct(">I")


class InboxKeys:
    """The epoch keys the relay holds now, kept in ``path``."""

    def __init__(self, path: Path, ring: RelayKeyRing, current: int, keys: dict[int, bytes]):
        self.path = path
        self.ring = ring
        self.current = current
        self._keys = keys

    @classmethod
    def load(cls, path: Path, ring: RelayKeyRing) -> InboxKeys:
        """The keys in ``path``, or a first epoch (written at once) if there is no file."""
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            made = cls(path, ring, 1, {1: secrets.token_bytes(_KEY_SIZE)})
            made.save()
            return made
        keys = ring.version(_VERSION.unpack_from(blob)[0]) if len(blob) > 4 else None
        if keys is None:
            raise InvalidEnvelope
        data = json.loads(open_at_rest(keys.at_rest, blob[4:], purpose=_FILE_PURPOSE))
        epochs = {int(e): bytes.fromhex(k) for e, k in data["keys"].items()}
        current = int(data["current"])
        if current not in epochs or any(len(k) != _KEY_SIZE for k in epochs.values()):
            raise InvalidEnvelope
        return cls(path, ring, current, epochs)

    def save(self) -> None:
        data = {"current": self.current, "keys": {str(e): k.hex() for e, k in self._keys.items()}}
        sealed = seal_at_rest(
            self.ring.current.at_rest, json.dumps(data).encode(), purpose=_FILE_PURPOSE
        )
        # Replaced whole (write, fsync, rename): an erased key is not kept in the file.
        write_key_file(self.path, _VERSION.pack(self.ring.current.version) + sealed, overwrite=True)

    @property
    def epochs(self) -> frozenset[int]:
        return frozenset(self._keys)

    def seal(self, update_id: int, raw: bytes) -> bytes:
        key = self._keys[self.current]
        sealed = seal_at_rest(key, raw, purpose="inbox", context=str(int(update_id)).encode())
        return MAGIC + _EPOCH.pack(self.current) + sealed

    def open(self, update_id: int, blob: bytes) -> bytes:
        """The raw update; InvalidEnvelope if its epoch's key is gone (or it is altered)."""
        epoch = epoch_of(blob)
        if epoch is None:
            return open_update(self.ring, update_id, blob)  # sealed before ADR 0083
        key = self._keys.get(epoch)
        if key is None:
            raise InvalidEnvelope
        head = len(MAGIC) + _EPOCH.size
        return open_at_rest(key, blob[head:], purpose="inbox", context=str(int(update_id)).encode())

    def advance(self, pending: Iterable[bytes], *, keep_all: bool = False) -> int:
        """Start a new epoch; keep only the keys of the epoch that ends now (an update
        sealed under it may not be in ``pending`` yet) and of the ``pending`` rows'
        (every key with ``keep_all``). Returns how many keys were erased."""
        keep = {self.current, *(e for e in map(epoch_of, pending) if e is not None)}
        if keep_all:
            keep |= self._keys.keys()
        erased = len(self._keys.keys() - keep)
        self.current += 1
        self._keys = {e: k for e, k in self._keys.items() if e in keep}
        self._keys[self.current] = secrets.token_bytes(_KEY_SIZE)
        self.save()
        return erased

    def use_ring(self, ring: RelayKeyRing) -> None:
        """Seal the file under a new key ring's at-rest key (a rotation switched)."""
        self.ring = ring
        self.save()


def epoch_of(blob: bytes) -> int | None:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + _EPOCH.size:
        return None
    epoch: int = _EPOCH.unpack_from(blob, len(MAGIC))[0]
    return epoch
