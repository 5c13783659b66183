"""Body padding: a 4-byte length, the plaintext, zeros up to a size bucket.

Buckets (see docs/decisions/0002-padding-buckets.md): the padded size is the
smallest power of two that is at least 256 bytes and holds
``4 + len(plaintext)``, up to 1 MiB; above 1 MiB it is the next whole multiple
of 1 MiB. Unpadding accepts only the canonical form.
"""

from __future__ import annotations

from ._encoding import DecodeError, u32

__all__ = ["MAX_PLAINTEXT_SIZE", "pad", "padded_size", "unpad"]

MIN_BUCKET = 256
MIB = 1 << 20
LENGTH_SIZE = 4
MAX_PLAINTEXT_SIZE = 256 * MIB


def padded_size(plaintext_size: int) -> int:
    """The padded size for a plaintext of ``plaintext_size`` bytes."""
    if not 0 <= plaintext_size <= MAX_PLAINTEXT_SIZE:
        raise ValueError(f"plaintext must be 0..{MAX_PLAINTEXT_SIZE} bytes")
    needed = LENGTH_SIZE + plaintext_size
    if needed <= MIB:
        return max(MIN_BUCKET, 1 << (needed - 1).bit_length())
    return -(-needed // MIB) * MIB


def pad(plaintext: bytes) -> bytes:
    size = padded_size(len(plaintext))
    return b"".join((u32(len(plaintext)), plaintext, bytes(size - LENGTH_SIZE - len(plaintext))))


def unpad(padded: bytes) -> bytes:
    if len(padded) < MIN_BUCKET:
        raise DecodeError("short padding")
    length = int.from_bytes(padded[:LENGTH_SIZE], "big")
    if length > MAX_PLAINTEXT_SIZE or padded_size(length) != len(padded):
        raise DecodeError("non-canonical padding")
    end = LENGTH_SIZE + length
    if padded[end:].count(0) != len(padded) - end:
        raise DecodeError("non-zero padding")
    return padded[LENGTH_SIZE:end]
