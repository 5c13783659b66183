"""A key file's header cannot make opening it cost more than the documented limits
(docs/protocol.md §6): memory, passes, lanes and passes x memory are checked before any
Argon2id work, and a header asking for more is one InvalidKeyFile (issue 13, item 5)."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives.kdf import argon2

from crypto import Argon2Params, InvalidKeyFile, open_secret, seal_secret

KIND = "relay"
PASSPHRASE = b"relay passphrase"
PARAMS_AT = 4 + 1 + 1 + len(KIND) + 1  # magic, version, kind length, kind, kdf byte
GIB_KIB = 1024 * 1024


@pytest.fixture(scope="module")
def blob() -> bytes:
    params = Argon2Params.insecure_for_tests(iterations=1, lanes=1, memory_kib=8)
    return seal_secret(b"the relay's key ring", PASSPHRASE, kind=KIND, params=params)


def with_header(blob: bytes, iterations: int, lanes: int, memory_kib: int) -> bytes:
    """The same file with other Argon2id parameters in its header (as an attacker would)."""
    fields = struct.pack(">III", iterations, lanes, memory_kib)
    return blob[:PARAMS_AT] + fields + blob[PARAMS_AT + 12 :]


@pytest.fixture
def no_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any Argon2id derivation fails the test: the refusal comes before any work."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Argon2id ran for a header over the limits")

    monkeypatch.setattr(argon2.Argon2id, "__init__", refuse)


def test_the_limits_are_the_documented_ones() -> None:
    from crypto._keyfile import MAX_ITERATIONS, MAX_LANES, MAX_MEMORY_KIB, MAX_WORK_KIB

    assert (MAX_ITERATIONS, MAX_LANES, MAX_MEMORY_KIB, MAX_WORK_KIB) == (
        16,
        16,
        GIB_KIB,
        4 * GIB_KIB,
    )


@pytest.mark.parametrize(
    ("iterations", "lanes", "memory_kib"),
    [
        (3, 4, 4 * GIB_KIB),  # 4 GiB: what the tampered header of issue 13 asked for
        (3, 4, 0xFFFFFFFF),  # the most a u32 can ask
        (3, 4, GIB_KIB + 1),
        (64, 4, 64 * 1024),  # many passes
        (17, 4, 64 * 1024),
        (0xFFFFFFFF, 4, 64 * 1024),
        (3, 64, 64 * 1024),  # many lanes
        (3, 17, 64 * 1024),
        (16, 4, GIB_KIB),  # each within its limit, together 16 GiB of passes
        (5, 4, GIB_KIB),
    ],
    ids=repr,
)
@pytest.mark.usefixtures("no_argon2")
def test_a_header_asking_for_too_much_is_refused_before_any_work(
    blob: bytes, iterations: int, lanes: int, memory_kib: int
) -> None:
    tampered = with_header(blob, iterations, lanes, memory_kib)
    with pytest.raises(InvalidKeyFile, match="its header asks for too much work"):
        open_secret(tampered, PASSPHRASE, kind=KIND)


@pytest.mark.parametrize(
    ("iterations", "lanes", "memory_kib"),
    [(16, 16, 256 * 1024), (4, 1, GIB_KIB), (3, 4, 64 * 1024)],
    ids=repr,
)
def test_parameters_at_the_limits_are_allowed(iterations: int, lanes: int, memory_kib: int):
    # Allowed, not run: the derivation itself is not this test's business.
    params = Argon2Params(iterations=iterations, lanes=lanes, memory_kib=memory_kib)
    assert params.is_strong or lanes == 16


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory_kib": GIB_KIB + 1},
        {"iterations": 17},
        {"lanes": 17},
        {"iterations": 5, "memory_kib": GIB_KIB},
    ],
    ids=repr,
)
def test_writers_cannot_make_a_file_readers_would_refuse(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        Argon2Params(**kwargs)


@pytest.mark.usefixtures("no_argon2")
def test_a_too_small_header_is_still_refused_as_out_of_range(blob: bytes) -> None:
    with pytest.raises(InvalidKeyFile, match="out of range"):
        open_secret(with_header(blob, 0, 1, 8), PASSPHRASE, kind=KIND)
