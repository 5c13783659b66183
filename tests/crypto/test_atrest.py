"""Sealing at rest: round trip, and every defect is the same opaque error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto._atrest import open_at_rest, seal_at_rest
from crypto._errors import InvalidEnvelope

KEY = bytes(range(32))


@given(st.binary(max_size=4096), st.binary(max_size=64))
def test_round_trip(plaintext: bytes, context: bytes) -> None:
    sealed = seal_at_rest(KEY, plaintext, purpose="chat", context=context)
    assert open_at_rest(KEY, sealed, purpose="chat", context=context) == plaintext


def test_known_answer_with_fixed_nonce() -> None:
    a = seal_at_rest(KEY, b"42", purpose="chat", context=b"C", nonce=bytes(12))
    assert a == seal_at_rest(KEY, b"42", purpose="chat", context=b"C", nonce=bytes(12))
    assert a[:13] == b"\x01" + bytes(12)
    assert b"42" not in a[13:]


def test_random_nonces_differ() -> None:
    assert seal_at_rest(KEY, b"x", purpose="p") != seal_at_rest(KEY, b"x", purpose="p")


@pytest.mark.parametrize(
    ("key", "purpose", "context"),
    [
        (bytes(32), "chat", b"CASE-1"),  # wrong key
        (KEY, "inbox", b"CASE-1"),  # other purpose
        (KEY, "chat", b"CASE-2"),  # moved to another case
    ],
)
def test_mismatch_is_opaque(key: bytes, purpose: str, context: bytes) -> None:
    sealed = seal_at_rest(KEY, b"12345", purpose="chat", context=b"CASE-1")
    with pytest.raises(InvalidEnvelope):
        open_at_rest(key, sealed, purpose=purpose, context=context)


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])
def test_flipped_bit_is_opaque(position: int) -> None:
    sealed = bytearray(seal_at_rest(KEY, b"12345", purpose="chat"))
    sealed[position] ^= 1
    with pytest.raises(InvalidEnvelope):
        open_at_rest(KEY, bytes(sealed), purpose="chat")


def test_truncated_is_opaque() -> None:
    sealed = seal_at_rest(KEY, b"", purpose="chat")
    for cut in range(len(sealed)):
        with pytest.raises(InvalidEnvelope):
            open_at_rest(KEY, sealed[:cut], purpose="chat")


def test_misuse_is_value_error() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal_at_rest(b"short", b"x", purpose="p")
    with pytest.raises(ValueError, match="purpose"):
        seal_at_rest(KEY, b"x", purpose="")
    with pytest.raises(TypeError):
        seal_at_rest(KEY, "text", purpose="p")  # type: ignore[arg-type]
