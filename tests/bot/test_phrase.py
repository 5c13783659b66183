"""bot.phrase: EFF recovery phrases and tolerant reading (hashing: crypto.phrase_hash)."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import bot
from bot.phrase import (
    PHRASE_WORDS,
    WORDLIST_SHA256,
    PhraseError,
    new_phrase,
    normalise_phrase,
    wordlist,
)

WORDLIST_FILE = Path(bot.__file__).parent / "wordlist" / "eff_large_wordlist.txt"
PHRASE = "abacus abdomen t-shirt zoom drop-down yo-yo felt-tip"

# QWERTY -> ЙЦУКЕН: what the same keys type with a Russian or Ukrainian layout on.
_RU = dict(zip("qwertyuiopasdfghjklzxcvbnm", "йцукенгшщзфывапролдячсмить", strict=True))
_UK = {**_RU, "s": "і"}


# --- the list -----------------------------------------------------------------


def test_wordlist_file_is_the_eff_large_list():
    raw = WORDLIST_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == WORDLIST_SHA256
    lines = raw.decode("ascii").splitlines()
    assert len(lines) == 7776
    # dice numbers 11111..66666 in order, one word each
    dice = [line.split("\t")[0] for line in lines]
    assert dice == sorted(dice) and all(re.fullmatch(r"[1-6]{5}", d) for d in dice)
    assert len(set(dice)) == 7776


def test_wordlist_words():
    words = wordlist()
    assert len(words) == len(set(words)) == 7776
    assert words[0] == "abacus" and words[-1] == "zoom"
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)?", w) for w in words)
    assert len(words) ** PHRASE_WORDS >= 2**90  # about 90 bits
    (Path(bot.__file__).parent / "wordlist" / "README.md").read_text().index("CC BY 3.0 US")


# --- new phrases ----------------------------------------------------------------


def test_new_phrase_is_seven_list_words():
    phrase = new_phrase()
    words = phrase.split(" ")
    assert len(words) == PHRASE_WORDS == 7
    assert set(words) <= set(wordlist())
    assert normalise_phrase(phrase) == phrase


def test_new_phrase_seeded_is_reproducible_and_default_differs():
    assert new_phrase(random.Random(1)) == new_phrase(random.Random(1))
    assert len({new_phrase() for _ in range(200)}) == 200


class Scripted:
    def __init__(self, values):
        self.values = list(values)

    def randbits(self, k):
        assert k == 13
        return self.values.pop(0)


def test_rejection_sampling_skips_values_beyond_the_list():
    # 8191 and 7776 are out of range and must be drawn again, never wrapped.
    rng = Scripted([8191, 7776, 0, 7775, 1, 2, 3, 4, 5])
    assert new_phrase(rng).split() == [wordlist()[i] for i in (0, 7775, 1, 2, 3, 4, 5)]


# --- reading what people type -------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        PHRASE,
        PHRASE.upper(),
        "  Abacus,  ABDOMEN;\n t-shirt\tzoom  drop-down   yo-yo felt-tip. ",
        "1. abacus 2. abdomen 3. t-shirt 4. zoom 5. drop-down 6. yo-yo 7. felt-tip",
        "abacus abdomen tshirt zoom dropdown yoyo felttip",  # hyphens dropped
        "abacus abdomen t shirt zoom drop down yo yo felt tip",  # hyphens as spaces
        "abacus abdomen t\u2013shirt zoom drop\u2014down yo\u2010yo felt\u2212tip",  # dashes
        "Abacus-abdomen-t-shirt-zoom-drop-down-yo-yo-felt-tip".replace("-a", " a"),
        "ａｂａｃｕｓ abdomen t-shirt zoom drop-down yo-yo felt-tip",  # full-width
        "аbасus abdomen t-shirt zoom drop-down yo-yo felt-tip",  # Cyrillic а, с
        "фифсгы abdomen t-shirt zoom drop-down yo-yo felt-tip",  # Russian layout left on
        '"abacus" «abdomen» t-shirt! zoom? drop-down… yo-yo felt-tip 🙂',
    ],
)
def test_normalise_tolerates_phone_typing(typed):
    assert normalise_phrase(typed) == PHRASE


def test_every_word_typed_with_a_cyrillic_layout_is_recognised():
    for layout in (_RU, _UK):
        for word in wordlist():
            typed = "".join(layout.get(c, c) for c in word)
            expected = "yo-yo" if word == "yoyo" else word
            assert normalise_phrase(typed, words=1) == expected, (word, typed)


@pytest.mark.parametrize(
    ("typed", "count", "position"),
    [
        ("abacus abdomen t-shirt zoom drop-down yo-yo", 6, None),
        (PHRASE + " abacus", 8, None),
        ("", 0, None),
        ("1 2 3 4 5 6 7", 0, None),
        ("abacus abdomen t-shirt zoom drop-down yo-yo qwertyx", 7, 7),
        ("abacux abdomen t-shirt zoom drop-down yo-yo felt-tip", 7, 1),
        ("abacus abdomen shirtt zoom drop-down yo-yo felt-tip", 7, 3),
        ("abacus abdomen t-shirt zoom drop-down yo-yo-yo felt-tip", 8, None),
    ],
)
def test_normalise_names_what_is_wrong(typed, count, position):
    with pytest.raises(PhraseError) as info:
        normalise_phrase(typed)
    assert isinstance(info.value, ValueError)
    assert info.value.count == count
    assert info.value.position == position
    for word in typed.split():
        if word not in wordlist() and len(word) > 3:
            assert word not in str(info.value)  # never echo the input


def test_yoyo_and_yo_yo_are_one_word():
    # Both are in the EFF list; nobody can be expected to remember which one it was.
    assert "yoyo" in wordlist() and "yo-yo" in wordlist()
    assert normalise_phrase("yoyo", words=1) == "yo-yo"
    assert normalise_phrase("yo yo", words=1) == "yo-yo"
    rng = Scripted([wordlist().index("yoyo")] * 7)
    assert new_phrase(rng) == " ".join(["yo-yo"] * 7)


def test_normalise_refuses_huge_input():
    with pytest.raises(PhraseError):
        normalise_phrase("abacus " * 1000)


def test_normalise_rejects_non_str():
    with pytest.raises(TypeError):
        normalise_phrase(b"abacus")  # type: ignore[arg-type]


_SEPARATORS = st.sampled_from([" ", "  ", "\n", ", ", " - ", ". ", "\t", " / "])


@given(
    words=st.lists(st.sampled_from(wordlist()), min_size=7, max_size=7),
    seps=st.lists(_SEPARATORS, min_size=8, max_size=8),
    case=st.sampled_from([str.lower, str.upper, str.title, str.capitalize]),
)
def test_normalise_round_trip(words, seps, case):
    typed = seps[0] + "".join(case(w) + s for w, s in zip(words, seps[1:], strict=True))
    assert normalise_phrase(typed) == " ".join(words).replace("yoyo", "yo-yo")
