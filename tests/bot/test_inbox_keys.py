"""bot.inbox_keys: the inbox's epoch keys, their file, and what an old key can no longer open."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.keyring import RelayKeyRing, RelayKeys
from admin.refs import seal_update
from bot.inbox_keys import MAGIC, InboxKeys, epoch_of
from crypto import InvalidEnvelope


def ring() -> RelayKeyRing:
    return RelayKeyRing((RelayKeys.generate(1),))


def test_a_first_epoch_is_made_and_kept_in_an_owner_only_file(tmp_path: Path) -> None:
    path, keys = tmp_path / "inbox.keys", ring()
    made = InboxKeys.load(path, keys)
    assert path.stat().st_mode & 0o777 == 0o600
    blob = made.seal(7, b'{"update_id": 7}')
    assert blob.startswith(MAGIC) and epoch_of(blob) == 1
    assert b"update_id" not in path.read_bytes() + blob
    assert InboxKeys.load(path, keys).open(7, blob) == b'{"update_id": 7}'


def test_a_key_is_erased_one_epoch_after_the_one_it_served(tmp_path: Path) -> None:
    keys = InboxKeys.load(tmp_path / "inbox.keys", ring())
    first = keys.seal(1, b"first")
    assert keys.advance([]) == 0  # epoch 1 ends: its key is kept for one more epoch
    assert keys.open(1, first) == b"first"
    assert keys.advance([]) == 1
    with pytest.raises(InvalidEnvelope):
        keys.open(1, first)
    with pytest.raises(InvalidEnvelope):  # and not from the file either
        InboxKeys.load(keys.path, keys.ring).open(1, first)


def test_a_waiting_update_keeps_its_key(tmp_path: Path) -> None:
    keys = InboxKeys.load(tmp_path / "inbox.keys", ring())
    waiting = keys.seal(1, b"not processed yet")
    for _ in range(5):
        keys.advance([waiting])
    assert keys.open(1, waiting) == b"not processed yet"
    keys.advance([], keep_all=True)
    assert keys.open(1, waiting) == b"not processed yet"
    keys.advance([])
    keys.advance([])
    with pytest.raises(InvalidEnvelope):
        keys.open(1, waiting)


def test_the_file_opens_only_with_the_key_ring(tmp_path: Path) -> None:
    path = tmp_path / "inbox.keys"
    InboxKeys.load(path, ring())
    with pytest.raises(InvalidEnvelope):
        InboxKeys.load(path, ring())  # another relay's ring
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidEnvelope):
        InboxKeys.load(path, ring())


def test_a_rotation_reseals_the_file_under_the_new_ring(tmp_path: Path) -> None:
    old = ring()
    keys = InboxKeys.load(tmp_path / "inbox.keys", old)
    blob = keys.seal(3, b"across a rotation")
    new = RelayKeyRing((old.current.successor(),))
    keys.use_ring(new)
    assert InboxKeys.load(keys.path, new).open(3, blob) == b"across a rotation"


def test_an_update_sealed_before_epoch_keys_still_opens(tmp_path: Path) -> None:
    keys_ring = ring()
    legacy = seal_update(keys_ring, 9, b"from before ADR 0083")
    keys = InboxKeys.load(tmp_path / "inbox.keys", keys_ring)
    assert epoch_of(legacy) is None
    assert keys.open(9, legacy) == b"from before ADR 0083"


def test_an_update_moved_to_another_id_does_not_open(tmp_path: Path) -> None:
    keys = InboxKeys.load(tmp_path / "inbox.keys", ring())
    with pytest.raises(InvalidEnvelope):
        keys.open(2, keys.seal(1, b"bound to update 1"))
