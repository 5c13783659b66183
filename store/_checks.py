"""Argument checks shared by every backend.

The store is a border: what it refuses here never reaches a database, and
both backends refuse the same things. A wrong argument is the caller's
mistake, so these raise ``ValueError``/``TypeError``, not ``StoreError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

__all__ = [
    "ID_SIZE",
    "MAX_PAGE",
    "actor",
    "blob",
    "case_id",
    "code",
    "cursor",
    "handler_name",
    "id16",
    "language",
    "limit",
    "lookup_hash",
    "non_negative",
    "optional_blob",
    "setting_key",
    "short_text",
    "wrap_map",
]

ID_SIZE: Final = 16
MAX_PAGE: Final = 1000

_CASE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{2,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][0-9A-Za-z]{1,8}){0,2}")
_CODE = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")
_SETTING_KEY = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


def case_id(value: object) -> str:
    """A case pseudonym such as ``7KQ2-M9XD-3HVA``: ASCII letters, digits and dashes."""
    text = _text(value, "case_id")
    if not _CASE_ID.fullmatch(text):
        raise ValueError("case_id must be 3–64 ASCII letters, digits or dashes")
    return text


def handler_name(value: object) -> str:
    text = _text(value, "handler name")
    if not 1 <= len(text) <= 64 or text != text.strip() or _CONTROL.search(text):
        raise ValueError(
            "a handler name is 1–64 characters without control characters or outer spaces"
        )
    return text


def actor(value: object) -> str:
    text = _text(value, "actor")
    if not 1 <= len(text) <= 64 or _CONTROL.search(text):
        raise ValueError("an actor is 1–64 characters without control characters")
    return text


def language(value: object) -> str:
    text = _text(value, "language")
    if not _LANGUAGE.fullmatch(text):
        raise ValueError("language must be a language tag such as 'en' or 'pt-BR'")
    return text


def code(value: object, what: str) -> str:
    """A short machine code such as ``http_403`` or ``case.assign``; never free text."""
    text = _text(value, what)
    if not _CODE.fullmatch(text):
        raise ValueError(f"{what} is 1–64 of [a-z0-9_.:-], never free text")
    return text


def setting_key(value: object) -> str:
    text = _text(value, "setting key")
    if not _SETTING_KEY.fullmatch(text):
        raise ValueError("a setting key is 1–128 of [a-z0-9_.:-]")
    return text


def short_text(value: object, what: str, *, max_chars: int) -> str:
    """One line of at most ``max_chars`` characters, no control or bidi characters."""
    text = _text(value, what)
    if len(text) > max_chars or _CONTROL.search(text):
        raise ValueError(
            f"{what} must be at most {max_chars} characters without control characters"
        )
    return text


def blob(value: object, what: str, *, max_size: int | None = None) -> bytes:
    """Non-empty bytes (bytearray and memoryview are copied to bytes)."""
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if not isinstance(value, bytes):
        raise TypeError(f"{what} must be bytes, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{what} must not be empty")
    if max_size is not None and len(value) > max_size:
        raise ValueError(f"{what} must be at most {max_size} bytes")
    return value


def optional_blob(value: object, what: str) -> bytes | None:
    return None if value is None else blob(value, what)


def id16(value: object, what: str) -> bytes:
    """A 16-byte identifier: message id, key id, attachment id."""
    data = blob(value, what)
    if len(data) != ID_SIZE:
        raise ValueError(f"{what} must be exactly {ID_SIZE} bytes")
    return data


def lookup_hash(value: object) -> bytes:
    data = blob(value, "lookup_hash")
    if not 16 <= len(data) <= 64:
        raise ValueError("lookup_hash must be 16–64 bytes (a keyed hash)")
    return data


def wrap_map(value: object) -> dict[bytes, bytes]:
    """Key id (16 bytes) → wrapped data key."""
    if not isinstance(value, Mapping):
        raise TypeError("wraps must be a mapping of key id to wrap")
    return {id16(k, "key_id"): blob(v, "wrap") for k, v in value.items()}


def limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("limit must be an int")
    if not 1 <= value <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    return value


def cursor(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int or None")
    if value < 0:
        raise ValueError(f"{what} must not be negative")
    return value


def non_negative(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int")
    if value < 0:
        raise ValueError(f"{what} must not be negative")
    return value
