"""The audit log's hash chain, the same for every backend.

Each entry's hash is ``SHA-256(prev_hash ‖ canonical bytes of the entry)``;
the first entry's ``prev_hash`` is 32 zero bytes. The canonical bytes are a
fixed layout (no JSON, no Python repr) so the PostgreSQL backend, or a shell
script, computes the same chain::

    b"writein/v1/audit" ‖ u64 seq ‖ str at(YYYY-MM-DD) ‖ str actor ‖ str action
      ‖ (0x00 | 0x01 ‖ str case_id) ‖ str detail

where ``str`` is a u32 big-endian length followed by UTF-8 bytes. The store
also keeps the head (last seq and hash) in its own row, so removing the
newest entries is noticed as well.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from datetime import date
from typing import Final

from ._records import AuditEntry, AuditVerification

__all__ = ["GENESIS_HASH", "ChainChecker", "canonical_entry", "entry_hash"]

GENESIS_HASH: Final = bytes(32)
_LABEL: Final = b"writein/v1/audit"


def _str(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def canonical_entry(
    seq: int, at: date, actor: str, action: str, case_id: str | None, detail: str
) -> bytes:
    parts = [_LABEL, struct.pack(">Q", seq), _str(at.isoformat()), _str(actor), _str(action)]
    parts.append(b"\x00" if case_id is None else b"\x01" + _str(case_id))
    parts.append(_str(detail))
    return b"".join(parts)


def entry_hash(
    prev_hash: bytes,
    seq: int,
    at: date,
    actor: str,
    action: str,
    case_id: str | None,
    detail: str,
) -> bytes:
    canonical = canonical_entry(seq, at, actor, action, case_id, detail)
    return hashlib.sha256(prev_hash + canonical).digest()


class ChainChecker:
    """Walks entries in seq order and stops at the first one that does not fit."""

    def __init__(self) -> None:
        self.checked = 0
        self._expected_seq = 1
        self._prev_hash = GENESIS_HASH
        self.broken: AuditVerification | None = None

    def feed(self, entries: Iterable[AuditEntry]) -> bool:
        """Check the next entries; False once something is broken."""
        for entry in entries:
            if self.broken is not None:
                return False
            self._check(entry)
        return self.broken is None

    def _fail(self, seq: int, problem: str) -> None:
        self.broken = AuditVerification(
            ok=False, checked=self.checked, first_broken_seq=seq, problem=problem
        )

    def _check(self, entry: AuditEntry) -> None:
        if entry.seq != self._expected_seq:
            if entry.seq > self._expected_seq:
                self._fail(self._expected_seq, "entry missing")
            else:
                self._fail(entry.seq, "entry out of order")
            return
        if entry.prev_hash != self._prev_hash:
            self._fail(entry.seq, "previous hash does not match")
            return
        expected = entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.case_id,
            entry.detail,
        )
        if entry.hash != expected:
            self._fail(entry.seq, "entry altered")
            return
        self.checked += 1
        self._expected_seq += 1
        self._prev_hash = entry.hash

    def finish(self, head_seq: int, head_hash: bytes) -> AuditVerification:
        """Compare the walked chain with the stored head (last seq and hash)."""
        if self.broken is not None:
            return self.broken
        last_seq = self._expected_seq - 1
        if head_seq > last_seq:
            self._fail(last_seq + 1, "newest entries missing")
        elif head_seq < last_seq:
            self._fail(head_seq + 1, "entries beyond the recorded head")
        elif head_hash != self._prev_hash:
            self._fail(last_seq, "head does not match the chain")
        if self.broken is not None:
            return self.broken
        return AuditVerification(ok=True, checked=self.checked)
