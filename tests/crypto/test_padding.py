"""Padding: size buckets and the canonical length encoding."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import MAX_PLAINTEXT_SIZE, padded_size
from crypto._encoding import DecodeError
from crypto._padding import pad, unpad

MIB = 1 << 20


@pytest.mark.parametrize(
    ("size", "bucket"),
    [
        (0, 256),
        (252, 256),
        (253, 512),
        (508, 512),
        (509, 1024),
        (4096, 8192),
        (MIB - 4, MIB),
        (MIB - 3, 2 * MIB),
        (2 * MIB - 4, 2 * MIB),
        (2 * MIB - 3, 3 * MIB),
        (20_000_000, 20 * MIB),
        (MAX_PLAINTEXT_SIZE, MAX_PLAINTEXT_SIZE + MIB),
    ],
)
def test_bucket(size: int, bucket: int) -> None:
    assert padded_size(size) == bucket


@given(st.integers(min_value=0, max_value=MAX_PLAINTEXT_SIZE))
def test_buckets_are_powers_of_two_then_whole_mebibytes(size: int) -> None:
    bucket = padded_size(size)
    assert bucket >= size + 4
    if bucket <= MIB:
        assert bucket >= 256
        assert bucket & (bucket - 1) == 0
        assert bucket == 256 or bucket // 2 < size + 4
    else:
        assert bucket % MIB == 0
        assert bucket - MIB < size + 4


@given(st.binary(max_size=3000))
def test_unpad_inverts_pad(plaintext: bytes) -> None:
    padded = pad(plaintext)
    assert len(padded) == padded_size(len(plaintext))
    assert padded[:4] == struct.pack(">I", len(plaintext))
    assert unpad(padded) == plaintext


@pytest.mark.parametrize("size", [-1, MAX_PLAINTEXT_SIZE + 1])
def test_size_out_of_range_is_a_value_error(size: int) -> None:
    with pytest.raises(ValueError, match="plaintext"):
        padded_size(size)


@pytest.mark.parametrize(
    "padded",
    [
        b"",
        bytes(255),
        struct.pack(">I", 253) + bytes(252),  # length does not fit the bucket
        struct.pack(">I", 0) + bytes(508),  # 512 bytes for an empty plaintext
        struct.pack(">I", 1) + b"x" + bytes(250) + b"\x01",  # non-zero padding
        struct.pack(">I", MAX_PLAINTEXT_SIZE + 1) + bytes(252),
    ],
    ids=["empty", "short", "overlong-length", "wrong-bucket", "non-zero", "huge-length"],
)
def test_unpad_refuses_non_canonical_input(padded: bytes) -> None:
    with pytest.raises(DecodeError):
        unpad(padded)
