"""Attachment chunks: round trips, and every kind of tampering is the same opaque error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import InvalidEnvelope
from crypto._chunks import CHUNK_SIZE, open_chunks, seal_chunks

AID = bytes(range(16))
KEY = bytes(range(32))


def sealed_of(size: int):
    return seal_chunks(bytes(i % 251 for i in range(size)), attachment_id=AID, key=KEY)


def open_(chunks, *, sha256, aid=AID, key=KEY) -> bytes:
    return open_chunks(chunks, attachment_id=aid, key=key, sha256=sha256)


@settings(max_examples=30)
@given(st.binary(max_size=3 * CHUNK_SIZE // 2))
def test_round_trip(data: bytes) -> None:
    sealed = seal_chunks(data)
    assert sealed.size == len(data)
    got = open_chunks(
        sealed.chunks, attachment_id=sealed.attachment_id, key=sealed.key, sha256=sealed.sha256
    )
    assert got == data


def test_large_file_makes_several_chunks_and_pads() -> None:
    sealed = sealed_of(3 * CHUNK_SIZE + 5)
    assert len(sealed.chunks) == 4  # padded to 1 MiB: four 256 KiB chunks
    assert open_(sealed.chunks, sha256=sealed.sha256) == bytes(i % 251 for i in range(sealed.size))


def test_known_answer_is_deterministic() -> None:
    assert sealed_of(1000).chunks == sealed_of(1000).chunks


@pytest.fixture
def three():
    sealed = sealed_of(2 * CHUNK_SIZE)  # padded to 1 MiB: four chunks
    return sealed


def test_dropped_last_chunk(three) -> None:
    with pytest.raises(InvalidEnvelope):
        open_(three.chunks[:-1], sha256=three.sha256)


def test_swapped_chunks(three) -> None:
    chunks = list(three.chunks)
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(InvalidEnvelope):
        open_(chunks, sha256=three.sha256)


def test_flipped_bit(three) -> None:
    chunks = list(three.chunks)
    chunks[2] = bytes([chunks[2][0] ^ 1]) + chunks[2][1:]
    with pytest.raises(InvalidEnvelope):
        open_(chunks, sha256=three.sha256)


def test_moved_to_another_attachment(three) -> None:
    with pytest.raises(InvalidEnvelope):
        open_(three.chunks, sha256=three.sha256, aid=bytes(16))


def test_wrong_key(three) -> None:
    with pytest.raises(InvalidEnvelope):
        open_(three.chunks, sha256=three.sha256, key=bytes(32))


def test_wrong_digest(three) -> None:
    with pytest.raises(InvalidEnvelope):
        open_(three.chunks, sha256=bytes(32))


def test_no_chunks_and_tiny_chunk() -> None:
    with pytest.raises(InvalidEnvelope):
        open_([], sha256=bytes(32))
    with pytest.raises(InvalidEnvelope):
        open_([b"short"], sha256=bytes(32))


def test_misuse() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        seal_chunks(b"x", attachment_id=b"short")
