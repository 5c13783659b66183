"""The envelope header: who sealed what, for which case and direction, when.

Layout (all integers big-endian)::

    magic "WRIE" (4) ‖ version u8 = 1 ‖ suite u16 = 0x0001 ‖ message id (16)
    ‖ case id length u8 ‖ case id (ASCII 0x21–0x7E, 1–64 bytes)
    ‖ direction u8 ‖ created u64 (Unix seconds) ‖ signer key id (16)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ._encoding import DecodeError, Reader, u8, u16, u64
from ._suite import KEY_ID_SIZE, MAGIC_CORE, MESSAGE_ID_SIZE, SUITE_XWING_ED25519, VERSION

__all__ = ["MAX_CASE_ID_SIZE", "Direction", "Header", "check_case_id", "new_header", "read_header"]

MAX_CASE_ID_SIZE = 64
_U64_MAX = (1 << 64) - 1


class Direction(enum.IntEnum):
    """Which way a message travels; part of the signed header."""

    IN = 1  # source → handlers (sealed by the relay at intake)
    OUT = 2  # handler → source (sealed by a handler, delivered by the relay)
    NOTE = 3  # internal note among the handlers of a case


def _case_id_ok(case_id: str) -> bool:
    return 1 <= len(case_id) <= MAX_CASE_ID_SIZE and all(
        0x21 <= ord(char) <= 0x7E for char in case_id
    )


def check_case_id(case_id: object) -> str:
    if not isinstance(case_id, str):
        raise TypeError(f"case_id must be str, not {type(case_id).__name__}")
    if not _case_id_ok(case_id):
        raise ValueError(f"case_id must be 1..{MAX_CASE_ID_SIZE} printable ASCII characters")
    return case_id


@dataclass(frozen=True, slots=True)
class Header:
    """The signed metadata of an envelope.

    From :func:`open_envelope` it is verified; from :func:`unverified_header`
    it is only parsed, and nothing in it may be trusted.
    """

    version: int
    suite: int
    message_id: bytes
    case_id: str
    direction: Direction
    created: int
    signer_key_id: bytes

    def to_bytes(self) -> bytes:
        return b"".join(
            (
                MAGIC_CORE,
                u8(self.version),
                u16(self.suite),
                self.message_id,
                u8(len(self.case_id)),
                self.case_id.encode("ascii"),
                u8(self.direction),
                u64(self.created),
                self.signer_key_id,
            )
        )


def new_header(
    *, message_id: bytes, case_id: str, direction: Direction, created: int, signer_key_id: bytes
) -> Header:
    """A v1 header from caller-supplied values, checked (ValueError/TypeError on misuse)."""
    if len(message_id) != MESSAGE_ID_SIZE:
        raise ValueError(f"message_id must be {MESSAGE_ID_SIZE} bytes")
    if isinstance(created, bool) or not isinstance(created, int):
        raise TypeError("created must be an int (Unix seconds)")
    if not 0 <= created <= _U64_MAX:
        raise ValueError("created must fit an unsigned 64-bit integer")
    return Header(
        version=VERSION,
        suite=SUITE_XWING_ED25519,
        message_id=message_id,
        case_id=check_case_id(case_id),
        direction=Direction(direction),
        created=created,
        signer_key_id=signer_key_id,
    )


def read_header(reader: Reader) -> Header:
    """Parse a v1 header; anything else (other version or suite) is a DecodeError."""
    reader.expect(MAGIC_CORE)
    version = reader.u8()
    suite = reader.u16()
    if version != VERSION or suite != SUITE_XWING_ED25519:
        raise DecodeError("unsupported version or suite")
    message_id = reader.take(MESSAGE_ID_SIZE)
    case_id_bytes = reader.take(reader.u8())
    case_id = case_id_bytes.decode("latin-1")
    if not _case_id_ok(case_id):
        raise DecodeError("bad case id")
    try:
        direction = Direction(reader.u8())
    except ValueError:
        raise DecodeError("bad direction") from None
    created = reader.u64()
    signer_key_id = reader.take(KEY_ID_SIZE)
    return Header(
        version=version,
        suite=suite,
        message_id=message_id,
        case_id=case_id,
        direction=direction,
        created=created,
        signer_key_id=signer_key_id,
    )
