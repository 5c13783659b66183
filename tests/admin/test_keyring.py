"""The relay key ring: the lookup pepper chain, the file layout, old files still read."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from admin.keyring import KeyRingFile, RelayKeyRing, RelayKeys, lookup_version
from crypto import Argon2Params

WEAK = Argon2Params.insecure_for_tests()


def chain_of(count: int) -> list[RelayKeys]:
    keys = [RelayKeys.generate(1)]
    while len(keys) < count:
        keys.append(keys[-1].successor())
    return keys


def test_version_1_hash_is_the_plain_hmac():
    keys = RelayKeys.generate(1)
    expected = hmac.new(keys.pepper, b"writein lookup v1\x00" + b"4242", hashlib.sha256).digest()
    assert keys.lookup_hash(4242) == expected
    assert lookup_version(expected) == 1


def test_later_hashes_chain_and_are_tagged():
    v1, v2, v3 = chain_of(3)
    h1, h2, h3 = (k.lookup_hash(77) for k in (v1, v2, v3))
    assert len(h2) == len(h3) == 36
    assert (lookup_version(h2), lookup_version(h3)) == (2, 3)
    mac = hmac.new(
        v2.pepper, b"writein lookup chain\x00" + (2).to_bytes(4, "big") + h1, hashlib.sha256
    ).digest()
    assert h2 == (2).to_bytes(4, "big") + mac
    assert len({h1, h2, h3, v3.lookup_hash(78)}) == 4


def test_rehash_needs_no_user_id():
    v1, v2, v3 = chain_of(3)
    h1 = v1.lookup_hash(5)
    assert v2.rehash(h1) == v2.lookup_hash(5)
    assert v3.rehash(h1) == v3.lookup_hash(5)  # several steps at once
    assert v3.rehash(v2.lookup_hash(5)) == v3.lookup_hash(5)
    assert v3.rehash(v3.lookup_hash(5)) == v3.lookup_hash(5)
    with pytest.raises(ValueError):
        v2.rehash(v3.lookup_hash(5))
    with pytest.raises(ValueError):
        v2.rehash(b"x" * 20)


def test_an_old_key_set_cannot_compute_a_new_hash():
    v1, v2 = chain_of(2)
    assert v1.lookup_hash(9) != v2.lookup_hash(9)
    assert v2.lookup_hash_at(1, 9) == v1.lookup_hash(9)
    with pytest.raises(ValueError):
        v1.lookup_hash_at(2, 9)


def test_lookup_hashes_are_current_then_previous():
    v1, v2 = chain_of(2)
    assert RelayKeyRing((v1,)).lookup_hashes(3) == [v1.lookup_hash(3)]
    assert RelayKeyRing((v2,)).lookup_hashes(3) == [v2.lookup_hash(3), v1.lookup_hash(3)]
    assert RelayKeyRing((v2, v1)).lookup_hashes(3) == [v2.lookup_hash(3), v1.lookup_hash(3)]
    assert RelayKeyRing((v1, v2)).lookup_hashes(3) == [v1.lookup_hash(3)]


def test_round_trip_keeps_the_retired_peppers():
    v1, v2, v3 = chain_of(3)
    for ring in (RelayKeyRing((v3,)), RelayKeyRing((v3, v2)), RelayKeyRing((v2, v3))):
        again = RelayKeyRing.from_bytes(ring.to_bytes())
        assert again.versions == ring.versions
        assert again.current.lookup_hash(11) == ring.current.lookup_hash(11)
        assert again.current.delivery.public.raw == ring.current.delivery.public.raw
    only_v3 = RelayKeyRing((v3,)).to_bytes()
    assert v1.signing.seed not in only_v3 and v2.at_rest not in only_v3  # destroyed
    assert v1.pepper in only_v3 and v2.pepper in only_v3  # the chain


def test_a_file_from_before_rotation_still_opens():
    v1 = RelayKeys.generate(1)
    old = b"WRKR" + bytes([1]) + v1._to_bytes()
    ring = RelayKeyRing.from_bytes(old)
    assert ring.current.lookup_hash(1) == v1.lookup_hash(1)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1],
        lambda raw: raw + b"\x00",
        lambda raw: b"WRKX" + raw[4:],
        lambda raw: raw[:5],
    ],
)
def test_malformed_rings_are_refused(mangle):
    raw = RelayKeyRing((chain_of(2)[1],)).to_bytes()
    with pytest.raises(ValueError):
        RelayKeyRing.from_bytes(mangle(raw))


def test_a_ring_missing_an_earlier_pepper_is_refused():
    _v1, _v2, v3 = chain_of(3)
    raw = bytearray(RelayKeyRing((v3,)).to_bytes())
    # Drop the retired v1 pepper: v3's chain cannot be rebuilt.
    entry_end = 5 + 132
    raw[entry_end : entry_end + 2] = (1).to_bytes(2, "big")
    del raw[entry_end + 2 : entry_end + 2 + 36]
    with pytest.raises(ValueError, match="pepper"):
        RelayKeyRing.from_bytes(bytes(raw))


def test_key_sets_of_one_ring_share_a_chain():
    a, b = RelayKeys.generate(1), RelayKeys.generate(1).successor()
    with pytest.raises(ValueError, match="chain"):
        RelayKeyRing((b, a))
    with pytest.raises(ValueError):
        RelayKeys.generate(2)  # a version 2 key set without the version 1 pepper


def test_the_watched_file_keeps_a_dropped_key_set_a_while(tmp_path):
    v1, v2 = chain_of(2)
    path = tmp_path / "relay.key"
    now = [100.0]
    RelayKeyRing((v1,)).save(path, b"pass", argon2=WEAK)
    watched = KeyRingFile(path, b"pass", retain_seconds=60, clock=lambda: now[0])
    assert watched.load().versions == (1,)
    assert watched.changed() is None
    RelayKeyRing((v2, v1)).save(path, b"pass", overwrite=True, argon2=WEAK)
    assert watched.changed().versions == (2, 1)
    RelayKeyRing((v2,)).save(path, b"pass", overwrite=True, argon2=WEAK)
    ring = watched.changed()
    assert ring.versions == (2, 1)  # v1 only for what the relay read before
    assert ring.current.version == 2
    now[0] += 59
    assert watched.changed() is None
    now[0] += 2
    assert watched.changed().versions == (2,)
    assert watched.changed() is None
