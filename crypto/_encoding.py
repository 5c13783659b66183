"""Big-endian, length-prefixed byte layouts: one reader and a few packers.

Every writein format is built from these pieces (see docs/protocol.md); there
is no pickle, JSON or other Python-only serialisation anywhere.
"""

from __future__ import annotations

import struct

__all__ = ["DecodeError", "Reader", "u8", "u16", "u32", "u64"]

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class DecodeError(Exception):
    """Bytes that do not follow the layout; public parsers translate it at their border."""


def u8(value: int) -> bytes:
    return _U8.pack(value)


def u16(value: int) -> bytes:
    return _U16.pack(value)


def u32(value: int) -> bytes:
    return _U32.pack(value)


def u64(value: int) -> bytes:
    return _U64.pack(value)


class Reader:
    """Consumes a byte string front to back; every short read is a DecodeError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def pos(self) -> int:
        return self._pos

    def take(self, size: int) -> bytes:
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise DecodeError("truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def skip(self, size: int) -> None:
        """Move past ``size`` bytes without copying them."""
        if size < 0 or self._pos + size > len(self._data):
            raise DecodeError("truncated")
        self._pos += size

    def u8(self) -> int:
        return int(_U8.unpack(self.take(1))[0])

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self.take(8))[0])

    def expect(self, constant: bytes) -> None:
        if self.take(len(constant)) != constant:
            raise DecodeError("unexpected constant")

    def end(self) -> None:
        if self._pos != len(self._data):
            raise DecodeError("trailing bytes")
