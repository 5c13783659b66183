"""`writein handler keygen`: a new officer's key file and the public bundle to certify.

The officer runs it on their own machine. The private keys go only into the key file,
sealed under their passphrase (Argon2id); what leaves the machine is the public bundle
(core.bundle.handler_bundle) and its fingerprint, which the officer reads to the admin
over another channel before the admin enrols it.
"""

from __future__ import annotations

import base64
import itertools
import math
import os
from dataclasses import dataclass
from typing import Final

from core.bundle import bundle_fingerprint
from crypto import DEFAULT_ARGON2, Argon2Params

from ._errors import KeyProblem, UsageError, translating
from .identity import HandlerIdentity, check_handler_name, write_identity

__all__ = ["MIN_BITS", "MIN_CHARS", "KeygenResult", "keygen", "passphrase_problem"]

MIN_CHARS: Final = 12
MIN_BITS: Final = 50
_COMMON: Final = frozenset(
    {
        "password",
        "passphrase",
        "passwort",
        "qwerty",
        "qwertyuiop",
        "asdfgh",
        "letmein",
        "welcome",
        "writein",
        "admin",
        "secret",
        "iloveyou",
        "monkey",
        "dragon",
        "пароль",
    }
)


def _pool(text: str) -> int:
    pool = 0
    pool += 26 if any(c.islower() and c.isascii() for c in text) else 0
    pool += 26 if any(c.isupper() and c.isascii() for c in text) else 0
    pool += 10 if any(c.isdigit() for c in text) else 0
    pool += 33 if any(c.isascii() and not c.isalnum() for c in text) else 0
    pool += 100 if any(not c.isascii() for c in text) else 0
    return max(pool, 1)


def _predictable_steps(text: str) -> float:
    """Share of neighbouring characters that repeat or count up/down (aaaa, 1234, cba)."""
    if len(text) < 2:
        return 1.0
    steps = sum(abs(ord(b) - ord(a)) <= 1 for a, b in itertools.pairwise(text))
    return steps / (len(text) - 1)


def passphrase_problem(passphrase: str, *, name: str = "") -> str | None:
    """Why a passphrase is too weak to protect a handler key, or None.

    A rough estimate, not a guarantee: length, variety, and — once common words and the
    officer's name are taken out — about ``MIN_BITS`` bits if the remaining characters
    were random (each distinct character counted at most three times). Four or five
    random words pass easily.
    """
    if len(passphrase) < MIN_CHARS:
        return f"a passphrase needs at least {MIN_CHARS} characters (a few random words)"
    if len(set(passphrase)) < 5 or _predictable_steps(passphrase) > 0.6:
        return "the passphrase is too repetitive or predictable"
    rest = passphrase.lower()
    for word in sorted(_COMMON | ({name.lower()} if len(name) >= 3 else set()), key=len)[::-1]:
        rest = rest.replace(word, "")
    if len(rest) < MIN_CHARS // 2:
        return "the passphrase is mostly a common word or your name"
    effective = min(len(rest), 3 * len(set(rest)))
    if effective * math.log2(_pool(passphrase)) < MIN_BITS:
        return "the passphrase is too guessable: make it longer (a few random words)"
    return None


@dataclass(frozen=True)
class KeygenResult:
    name: str
    bundle: bytes
    fingerprint: str

    @property
    def bundle_b64(self) -> str:
        return base64.b64encode(self.bundle).decode("ascii")


def keygen(
    name: str,
    out: str | os.PathLike[str],
    passphrase: bytes,
    *,
    argon2: Argon2Params = DEFAULT_ARGON2,
) -> KeygenResult:
    """Create the key file ``out`` (never overwriting one) and return the public bundle."""
    try:
        name = check_handler_name(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        text = passphrase.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyProblem("the passphrase is not valid UTF-8") from None
    problem = passphrase_problem(text, name=name)
    if problem is not None:
        raise KeyProblem(problem)
    identity = HandlerIdentity.generate(name)
    with translating(key_file=out):
        write_identity(out, identity, passphrase, argon2=argon2)
    bundle = identity.bundle()
    return KeygenResult(name, bundle, bundle_fingerprint(bundle))
