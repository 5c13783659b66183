"""Sealed references the relay keeps so it can reach a source again, bound to their case.

A chat reference (where to deliver replies) and a message reference (which Telegram message
to delete later) are sealed under the relay's at-rest key for one key version and bound to
the case id; the blob starts with that version so a rotation can find the right key.
"""

from __future__ import annotations

import json

from admin.keyring import RelayKeyRing
from crypto import InvalidEnvelope, open_at_rest, seal_at_rest


def _seal(ring: RelayKeyRing, purpose: str, case_id: str, payload: bytes) -> bytes:
    keys = ring.current
    sealed = seal_at_rest(keys.at_rest, payload, purpose=purpose, context=case_id.encode())
    return keys.version.to_bytes(4, "big") + sealed


def _open(ring: RelayKeyRing, purpose: str, case_id: str, blob: bytes) -> bytes:
    keys = ring.version(int.from_bytes(blob[:4], "big")) if len(blob) > 4 else None
    if keys is None:
        raise InvalidEnvelope
    return open_at_rest(keys.at_rest, blob[4:], purpose=purpose, context=case_id.encode())


def seal_chat_ref(ring: RelayKeyRing, case_id: str, chat_id: int) -> bytes:
    return _seal(ring, "chat", case_id, str(int(chat_id)).encode("ascii"))


def open_chat_ref(ring: RelayKeyRing, case_id: str, blob: bytes) -> int:
    return int(_open(ring, "chat", case_id, blob).decode("ascii"))


def seal_message_ref(ring: RelayKeyRing, case_id: str, chat_id: int, message_id: int) -> bytes:
    payload = json.dumps({"chat": int(chat_id), "message": int(message_id)}).encode()
    return _seal(ring, "message", case_id, payload)


def open_message_ref(ring: RelayKeyRing, case_id: str, blob: bytes) -> tuple[int, int]:
    data = json.loads(_open(ring, "message", case_id, blob))
    return int(data["chat"]), int(data["message"])


def seal_update(ring: RelayKeyRing, update_id: int, raw: bytes) -> bytes:
    """A raw update in the inbox, sealed until it is processed (bound to its update id)."""
    return _seal(ring, "inbox", str(int(update_id)), raw)


def open_update(ring: RelayKeyRing, update_id: int, blob: bytes) -> bytes:
    return _open(ring, "inbox", str(int(update_id)), blob)


def seal_dialogue(ring: RelayKeyRing, lookup_hash: bytes, state: bytes) -> bytes:
    return _seal(ring, "dialogue", lookup_hash.hex(), state)


def open_dialogue(ring: RelayKeyRing, lookup_hash: bytes, blob: bytes) -> bytes:
    return _open(ring, "dialogue", lookup_hash.hex(), blob)
