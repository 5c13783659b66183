"""Passphrase-sealed secrets: the key-file blob (file I/O: tests/store/test_keyfiles.py)."""

from __future__ import annotations

import struct

import pytest

from crypto import (
    DEFAULT_ARGON2,
    Argon2Params,
    CryptoError,
    InvalidEnvelope,
    InvalidKeyFile,
    WrongPassphrase,
    open_secret,
    seal_secret,
)

FAST = Argon2Params.insecure_for_tests(memory_kib=32)
SECRET = bytes(range(64))
PASSPHRASE = b"correct horse battery staple"
KIND = "handler"
KIND_AT = 6  # magic (4) ‖ version (1) ‖ kind length (1)
PARAMS_AT = KIND_AT + len(KIND) + 1  # after the kdf byte
SALT_AT = PARAMS_AT + 12 + 1


@pytest.fixture(scope="module")
def blob() -> bytes:
    return seal_secret(SECRET, PASSPHRASE, kind=KIND, params=FAST)


def replace(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def test_round_trip(blob: bytes) -> None:
    assert open_secret(blob, PASSPHRASE, kind=KIND) == SECRET


def test_layout_stores_the_parameters(blob: bytes) -> None:
    assert blob[:5] == b"WRIK\x01"
    assert blob[KIND_AT - 1 : PARAMS_AT - 1] == b"\x07handler"
    assert blob[PARAMS_AT - 1] == 1
    assert struct.unpack(">III", blob[PARAMS_AT : PARAMS_AT + 12]) == (1, 1, 32)
    assert blob[SALT_AT - 1] == 16


def test_each_seal_uses_a_fresh_salt() -> None:
    one = seal_secret(SECRET, PASSPHRASE, kind=KIND, params=FAST)
    two = seal_secret(SECRET, PASSPHRASE, kind=KIND, params=FAST)
    assert one != two
    assert open_secret(one, PASSPHRASE, kind=KIND) == open_secret(two, PASSPHRASE, kind=KIND)


def test_real_default_parameters() -> None:
    assert (DEFAULT_ARGON2.iterations, DEFAULT_ARGON2.lanes, DEFAULT_ARGON2.memory_kib) == (
        3,
        4,
        65536,
    )
    blob = seal_secret(SECRET, PASSPHRASE, kind="org")
    assert struct.unpack(">III", blob[10 : 10 + 12]) == (3, 4, 65536)
    assert open_secret(blob, PASSPHRASE, kind="org") == SECRET


def test_wrong_passphrase(blob: bytes) -> None:
    with pytest.raises(WrongPassphrase, match="wrong passphrase") as info:
        open_secret(blob, b"incorrect horse", kind=KIND)
    assert not isinstance(info.value, InvalidEnvelope)
    assert isinstance(info.value, CryptoError)


def test_wrong_kind(blob: bytes) -> None:
    with pytest.raises(InvalidKeyFile, match=r"holds a 'handler' key, expected 'org'"):
        open_secret(blob, PASSPHRASE, kind="org")


def test_kind_rewritten_in_the_header(blob: bytes) -> None:
    """Renaming the kind (same length) is caught: the header is the AEAD's associated data."""
    forged = replace(blob, KIND_AT, b"relay-x")
    with pytest.raises(WrongPassphrase):
        open_secret(forged, PASSPHRASE, kind="relay-x")


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, 2), (4, 2), (8, 64)],
    ids=["iterations", "lanes", "memory"],
)
def test_tampered_parameters(blob: bytes, offset: int, value: int) -> None:
    forged = replace(blob, PARAMS_AT + offset, struct.pack(">I", value))
    with pytest.raises(WrongPassphrase):
        open_secret(forged, PASSPHRASE, kind=KIND)


def test_tampered_salt(blob: bytes) -> None:
    forged = replace(blob, SALT_AT, bytes([blob[SALT_AT] ^ 1]))
    with pytest.raises(WrongPassphrase):
        open_secret(forged, PASSPHRASE, kind=KIND)


def test_tampered_ciphertext(blob: bytes) -> None:
    with pytest.raises(WrongPassphrase):
        open_secret(blob[:-1] + bytes([blob[-1] ^ 1]), PASSPHRASE, kind=KIND)


@pytest.mark.parametrize(
    ("offset", "value"),
    [(0, 65), (4, 65), (8, 5 * 1024 * 1024), (8, 4)],
    ids=["iterations-huge", "lanes-huge", "memory-huge", "memory-below-argon2-minimum"],
)
def test_parameters_out_of_range_are_refused_before_deriving(
    blob: bytes, offset: int, value: int
) -> None:
    forged = replace(blob, PARAMS_AT + offset, struct.pack(">I", value))
    with pytest.raises(InvalidKeyFile, match="out of range"):
        open_secret(forged, PASSPHRASE, kind=KIND)


@pytest.mark.parametrize("cut", [0, 3, 5, 12, SALT_AT + 3, -17, -1])
def test_truncated(blob: bytes, cut: int) -> None:
    with pytest.raises(InvalidKeyFile, match="truncated"):
        open_secret(blob[:cut], PASSPHRASE, kind=KIND)


def test_trailing_bytes(blob: bytes) -> None:
    with pytest.raises(InvalidKeyFile):
        open_secret(blob + b"\x00", PASSPHRASE, kind=KIND)


def test_not_a_key_file() -> None:
    with pytest.raises(InvalidKeyFile, match="not a writein key file"):
        open_secret(b"-----BEGIN PRIVATE KEY-----", PASSPHRASE, kind=KIND)


def test_unsupported_version(blob: bytes) -> None:
    with pytest.raises(InvalidKeyFile, match="version 2"):
        open_secret(replace(blob, 4, b"\x02"), PASSPHRASE, kind=KIND)


def test_unsupported_kdf(blob: bytes) -> None:
    with pytest.raises(InvalidKeyFile, match="key derivation"):
        open_secret(replace(blob, PARAMS_AT - 1, b"\x02"), PASSPHRASE, kind=KIND)


def test_unsupported_salt_size(blob: bytes) -> None:
    forged = blob[: SALT_AT - 1] + b"\x0f" + blob[SALT_AT : SALT_AT + 15] + blob[SALT_AT + 16 :]
    with pytest.raises(InvalidKeyFile, match="salt"):
        open_secret(forged, PASSPHRASE, kind=KIND)


@pytest.mark.parametrize(
    "params",
    [
        Argon2Params(iterations=1, lanes=1, memory_kib=8),
        Argon2Params(iterations=2, lanes=4, memory_kib=65536),
        Argon2Params(iterations=3, lanes=4, memory_kib=65535),
    ],
    ids=["tiny", "t=2", "m<64MiB"],
)
def test_weak_parameters_are_refused_on_write(params: Argon2Params) -> None:
    assert not params.is_strong
    with pytest.raises(ValueError, match="RFC 9106"):
        seal_secret(SECRET, PASSPHRASE, kind=KIND, params=params)


def test_stronger_parameters_count_as_strong() -> None:
    assert Argon2Params(iterations=4, lanes=1, memory_kib=1 << 20).is_strong
    assert DEFAULT_ARGON2.is_strong
    assert not FAST.is_strong


@pytest.mark.parametrize(
    "kwargs",
    [
        {"iterations": 0},
        {"iterations": 65},
        {"lanes": 0},
        {"lanes": 65},
        {"lanes": 4, "memory_kib": 31},
        {"memory_kib": 4 * 1024 * 1024 + 1},
    ],
    ids=repr,
)
def test_parameters_out_of_range_are_a_value_error(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        Argon2Params(**kwargs)


def test_parameters_must_be_ints() -> None:
    with pytest.raises(TypeError):
        Argon2Params(iterations=True)
    with pytest.raises(TypeError):
        Argon2Params(memory_kib=65536.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"secret": b""}, ValueError),
        ({"secret": bytes(64 * 1024 + 1)}, ValueError),
        ({"passphrase": b""}, ValueError),
        ({"passphrase": "text"}, TypeError),
        ({"kind": ""}, ValueError),
        ({"kind": "Handler"}, ValueError),
        ({"kind": "a" * 33}, ValueError),
        ({"kind": b"handler"}, TypeError),
        ({"params": (3, 4, 65536)}, TypeError),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_seal_misuse(kwargs: dict[str, object], error: type[Exception]) -> None:
    args: dict[str, object] = {"secret": SECRET, "passphrase": PASSPHRASE, "kind": KIND}
    args["params"] = FAST
    args.update(kwargs)
    with pytest.raises(error):
        seal_secret(**args)  # type: ignore[arg-type]


def test_salt_must_be_sixteen_bytes() -> None:
    from crypto._keyfile import _seal_secret_from_parts

    with pytest.raises(ValueError, match="salt"):
        _seal_secret_from_parts(SECRET, PASSPHRASE, kind=KIND, params=FAST, salt=bytes(8))
