"""Case IDs: the only name a source has towards handlers.

A case ID is 60 random bits written as 12 Crockford base32 characters in
three groups: ``7K3M-QX9B-2HD4``. It is drawn from the operating system's
CSPRNG and never derived from anything about the source (no hash of a user
id, no counter), so it reveals nothing and cannot be recomputed.

Crockford's alphabet (``0-9 A-Z`` without ``I L O U``) is read aloud and typed
without confusion. `parse_case_id` accepts what people actually type: lower
case, ``O`` for zero, ``I``/``L`` for one, spaces or any dash between groups,
full-width characters, and Cyrillic letters that look like Latin ones (a
Russian or Ukrainian keyboard left on by mistake). It returns the canonical
form or raises `ValueError`, whose message never quotes the input.

Collisions: with 2**60 IDs, a million cases collide with probability about
4e-7; the store rejects a duplicate and the caller draws again.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Final, Protocol, TypeAlias, runtime_checkable

__all__ = [
    "CASE_ID_BITS",
    "CASE_ID_PATTERN",
    "CROCKFORD_ALPHABET",
    "RandomSource",
    "new_case_id",
    "parse_case_id",
    "random_bits",
]

CROCKFORD_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CASE_ID_BITS: Final = 60
_CHARS: Final = CASE_ID_BITS // 5
_GROUP: Final = 4
_SYMBOL: Final = "[0-9A-HJKMNP-TV-Z]"
CASE_ID_PATTERN: Final = re.compile(f"{_SYMBOL}{{4}}-{_SYMBOL}{{4}}-{_SYMBOL}{{4}}")
"""The canonical form; use with ``fullmatch``."""

# Input that means a Crockford symbol: Crockford's own aliases, then Cyrillic
# capitals that look like Latin ones (after upper-casing).
_ALIASES: Final = str.maketrans(
    {
        "O": "0",
        "I": "1",
        "L": "1",
        "А": "A",
        "В": "B",
        "С": "C",
        "Е": "E",
        "Н": "H",
        "І": "1",
        "К": "K",
        "М": "M",
        "О": "0",
        "Р": "P",
        "Т": "T",
        "Х": "X",
        "У": "Y",
        "З": "3",
    }
)
# Separators people type between groups: spaces, hyphen, every Unicode dash,
# dots, underscores.
_SEPARATORS: Final = re.compile(r"[\s\-_.\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+")
_VALID: Final = frozenset(CROCKFORD_ALPHABET)


class _RandBits(Protocol):
    def randbits(self, k: int, /) -> int: ...


@runtime_checkable
class _GetRandBits(Protocol):
    def getrandbits(self, k: int, /) -> int: ...


RandomSource: TypeAlias = _RandBits | _GetRandBits
"""The `secrets` module (the default), or any `random.Random` (seeded, in tests)."""


def random_bits(rng: RandomSource, k: int) -> int:
    """*k* random bits from *rng*, whichever of the two spellings it offers."""
    value = rng.getrandbits(k) if isinstance(rng, _GetRandBits) else rng.randbits(k)
    if not 0 <= value < 1 << k:
        raise ValueError("the random source returned a value out of range")
    return value


def new_case_id(rng: RandomSource = secrets) -> str:
    """Return a fresh random case ID in canonical form, e.g. ``7K3M-QX9B-2HD4``."""
    value = random_bits(rng, CASE_ID_BITS)
    chars = [CROCKFORD_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(_CHARS))]
    return _format("".join(chars))


def parse_case_id(text: str) -> str:
    """Normalise a typed case ID to canonical ``XXXX-XXXX-XXXX``; `ValueError` if invalid."""
    if not isinstance(text, str):
        raise TypeError(f"parse_case_id expects str, not {type(text).__name__}")
    if len(text) > 64:
        raise ValueError("not a case ID: too long")
    folded = unicodedata.normalize("NFKC", text).upper()
    compact = _SEPARATORS.sub("", folded).translate(_ALIASES)
    if len(compact) != _CHARS:
        raise ValueError(f"not a case ID: expected {_CHARS} characters, got {len(compact)}")
    # The message never quotes the input: exceptions may reach logs (P1).
    if not _VALID.issuperset(compact):
        raise ValueError("not a case ID: invalid character")
    return _format(compact)


def _format(compact: str) -> str:
    return "-".join(compact[i : i + _GROUP] for i in range(0, _CHARS, _GROUP))
