"""Recovery phrases: seven EFF words that bring a source back to a case.

A source who loses their phone or Telegram account can return to their case
from another account by sending the seven words shown once at onboarding.
The words come from the EFF Large Wordlist (7,776 words, see
``bot/wordlist/README.md``), drawn with the CSPRNG: 7 x log2(7776) = 90.5
bits, beyond any offline search.

What the store keeps, per case, is crypto.phrase_hash of the canonical phrase:
Argon2id under a per-deployment salt, in PHC string format, which is both the
index a returning source is found by and the check (docs/decisions/0032). It
takes a noticeable fraction of a second and 64 MiB: the relay runs it on its
Argon2 worker thread (bot/offload.py), never on the event loop.

`normalise_phrase` is tolerant of what a frightened person types on a phone:
any case, extra spaces, line breaks, commas, numbering ("1. abacus 2. ..."),
words joined by hyphens, the list's hyphenated words (``drop-down``,
``felt-tip``, ``t-shirt``, ``yo-yo``) typed without the hyphen or split in two
(the list also has ``yoyo``: it counts as ``yo-yo``), full-width
letters, Cyrillic letters that look like Latin ones, and words typed with a
Russian or Ukrainian keyboard layout left on (``фифсгы`` -> ``abacus``). A
word that is still not in the list raises `PhraseError` naming its position;
no error message ever quotes the input, since exceptions may reach logs.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
from importlib import resources
from typing import Final

from core.caseid import RandomSource, random_bits

__all__ = [
    "PHRASE_WORDS",
    "WORDLIST_SHA256",
    "PhraseError",
    "fingerprint_words",
    "new_phrase",
    "normalise_phrase",
    "wordlist",
]

PHRASE_WORDS: Final = 7
WORDLIST_SIZE: Final = 7776
WORDLIST_SHA256: Final = "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e"
_MAX_INPUT_CHARS: Final = 1000


class PhraseError(ValueError):
    """A typed phrase that cannot be a recovery phrase.

    ``position`` is the 1-based position of the first word not in the list, or
    None when the number of words is wrong; ``count`` is how many words were
    found. The bot turns this into ``recover.bad_word`` / ``recover.word_count``.
    """

    def __init__(self, message: str, *, count: int, position: int | None = None) -> None:
        super().__init__(message)
        self.count = count
        self.position = position


# --- the word list --------------------------------------------------------


@functools.cache
def wordlist() -> tuple[str, ...]:
    """The 7,776 EFF words in dice order, checked against the pinned SHA-256."""
    raw = resources.files("bot").joinpath("wordlist/eff_large_wordlist.txt").read_bytes()
    if hashlib.sha256(raw).hexdigest() != WORDLIST_SHA256:
        raise RuntimeError("bot/wordlist/eff_large_wordlist.txt does not match its SHA-256")
    words = tuple(line.split("\t")[1] for line in raw.decode("ascii").splitlines())
    if len(words) != WORDLIST_SIZE or len(set(words)) != WORDLIST_SIZE:
        raise RuntimeError("the EFF word list must hold 7776 unique words")
    return words


@functools.cache
def _lookup() -> dict[str, str]:
    """Accepted spelling -> list word: the words, plus hyphenated ones without the hyphen."""
    table = {word: word for word in wordlist()}
    for word in wordlist():
        # "tshirt" means "t-shirt"; the list has both "yoyo" and "yo-yo", which
        # nobody can be expected to tell apart, so they are one word (canonical
        # "yo-yo"; entropy lost: a negligible 1/7776 of one word's choice).
        if "-" in word:
            table[word.replace("-", "")] = word
    return table


# --- making phrases -------------------------------------------------------


def new_phrase(rng: RandomSource = secrets, *, words: int = PHRASE_WORDS) -> str:
    """Return a fresh phrase: *words* list words, lower case, separated by single spaces."""
    if words < 1:
        raise ValueError("a phrase needs at least one word")
    table = _lookup()
    return " ".join(table[wordlist()[_randbelow(rng, WORDLIST_SIZE)]] for _ in range(words))


def _randbelow(rng: RandomSource, n: int) -> int:
    """Uniform integer in [0, n) from *rng*'s bits by rejection sampling."""
    bits = n.bit_length()
    while True:
        value = random_bits(rng, bits)
        if value < n:
            return value


# --- a fingerprint as words (/verify, docs/decisions/0086) --------------------

FINGERPRINT_WORDS: Final = 10  # 7776**10 > 2**128: every bit of the fingerprint is in them


def fingerprint_words(fingerprint: str) -> tuple[str, ...]:
    """The organisation key's fingerprint (128 bits, 32 hex digits however spaced) as ten
    list words: the number written in base 7,776, most significant word first.

    Deterministic and reversible, so the words published on the official page and the
    words the bot shows can be compared one by one; a different key gives other words.
    """
    digits = "".join(c for c in fingerprint.upper() if c not in " \t:-")
    if len(digits) != 32 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError("a fingerprint is 32 hexadecimal digits")
    value = int(digits, 16)
    out: list[str] = []
    for _ in range(FINGERPRINT_WORDS):
        value, index = divmod(value, WORDLIST_SIZE)
        out.append(wordlist()[index])
    return tuple(reversed(out))


# --- reading what people type ---------------------------------------------

# Letters that look like Latin ones, as a Cyrillic keyboard types them.
_HOMOGLYPHS: Final = str.maketrans(
    {"а": "a", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "о": "o", "р": "p"}
    | {"ѕ": "s", "х": "x", "у": "y"}
)
# The same key on a Russian/Ukrainian (ЙЦУКЕН) keyboard as on a QWERTY one.
_LAYOUT: Final = str.maketrans(
    dict(zip("йцукенгшщзфывапролдячсмитьі", "qwertyuiopasdfghjklzxcvbnms", strict=True))
)
_DASHES: Final = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_NOT_WORD: Final = re.compile(r"[^\w-]|[\d_]")


def _candidates(token: str) -> set[str]:
    table = _lookup()
    found = {table[t] for t in (token, token.translate(_HOMOGLYPHS)) if t in table}
    if not found and not token.isascii():
        layout = token.translate(_LAYOUT)
        if layout in table:
            found.add(table[layout])
    return found


def _resolve(token: str) -> str | None:
    found = _candidates(token)
    return found.pop() if len(found) == 1 else None


def normalise_phrase(text: str, *, words: int = PHRASE_WORDS) -> str:
    """Return the canonical phrase ("word word ...") for what a person typed.

    Raises `PhraseError` (a `ValueError`) if the text does not hold exactly
    *words* list words; ``position`` names the first word not in the list.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalise_phrase expects str, not {type(text).__name__}")
    if len(text) > _MAX_INPUT_CHARS:
        raise PhraseError("too much text for a recovery phrase", count=0)
    folded = _DASHES.sub("-", unicodedata.normalize("NFKC", text).casefold())
    tokens: list[str] = []
    for token in _NOT_WORD.sub(" ", folded).split():
        token = token.strip("-")
        if "-" in token and _resolve(token) is None:
            tokens.extend(part for part in token.split("-") if part)  # "abacus-zoom"
        elif token:
            tokens.append(token)

    resolved: list[str | None] = []
    i = 0
    while i < len(tokens):
        word = _resolve(tokens[i])
        if word is None and i + 1 < len(tokens):
            # "t shirt", "drop down": a hyphenated word typed as two.
            joined = _resolve(tokens[i] + "-" + tokens[i + 1])
            if joined is not None:
                resolved.append(joined)
                i += 2
                continue
        resolved.append(word)
        i += 1

    if len(resolved) != words:
        raise PhraseError(
            f"a recovery phrase has {words} words, not {len(resolved)}", count=len(resolved)
        )
    for position, word in enumerate(resolved, start=1):
        if word is None:
            raise PhraseError(
                f"word {position} is not in the word list", count=words, position=position
            )
    return " ".join(w for w in resolved if w is not None)


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.phrase fingerprint "<fingerprint>"``: the words /verify shows."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "fingerprint":
        print('usage: python -m bot.phrase fingerprint "<organisation fingerprint>"')
        return 2
    try:
        print(" ".join(fingerprint_words(args[1])))
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
